"""Shared input checks with exact, actionable messages. Each raises InvalidInput at a location.

Checks see only finite values: the engine removes or rejects non-finite rows before a loss runs.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidInput, TooLarge

SIMPLEX_ATOL = 1e-6
# The most cells (pairs of list items, CTC lattice states) one loss may work on per request: a few
# arrays of this many float64 values, ~32 MiB each, within the element limits' order of memory.
MAX_CELLS = 2**22


def first_index(mask: np.ndarray) -> tuple[int, ...]:
    """Index of the first True element of ``mask`` in C order."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def fmt(value: float) -> str:
    return repr(float(value))


def check_ndim(array: np.ndarray, name: str, allowed: tuple[int, ...]) -> None:
    if array.ndim not in allowed:
        shapes = " or ".join({1: "(N,)", 2: "(N, D)"}.get(n, f"{n}-D") for n in allowed)
        raise InvalidInput(f"{name} must have shape {shapes}; got shape {tuple(array.shape)}.", (name,))


def check_layout(array: np.ndarray, name: str, layout: str, meaning: str, *, empty: bool = False) -> None:
    """``array`` has the rank of ``layout`` (such as "(N, 3, D)") and every size it gives as a number.

    Letters are free sizes, each at least 1 (any size with ``empty``, for label sequences that may
    all be empty). The message shows the layout and what a row holds.
    """
    sizes = [part.strip() for part in layout.strip("()").split(",") if part.strip()]
    fits = array.ndim == len(sizes) and all(
        array.shape[axis] == int(size) if size.isdigit() else (empty or array.shape[axis] > 0)
        for axis, size in enumerate(sizes)
    )
    if not fits:
        raise InvalidInput(
            f"{name} must have shape {layout}: {meaning}; got shape {tuple(array.shape)}.", (name,)
        )


def check_labels(array: np.ndarray, name: str, allowed: tuple[float, ...], what: str) -> None:
    """Every element is one of the ``allowed`` labels."""
    bad = ~np.isin(array, allowed)
    if bad.any():
        index = first_index(bad)
        where = "".join(f"[{i}]" for i in index)
        labels = ", ".join(f"{label:g}" for label in allowed)
        raise InvalidInput(
            f"{name}{where} = {fmt(array[index])} is not one of {{{labels}}}: {what}.", (name, *index)
        )


def check_cells(cells: int, what: str, name: str) -> None:
    """Refuse work beyond MAX_CELLS cells (413): ``what`` says how the count arises."""
    if cells > MAX_CELLS:
        raise TooLarge(
            f"{what} makes {cells} cells, more than the {MAX_CELLS} one request may use; send fewer "
            "samples per request.",
            (name,),
        )


def check_same_shape(predictions: np.ndarray, targets: np.ndarray) -> None:
    if predictions.shape != targets.shape:
        raise InvalidInput(
            "predictions and targets must have the same shape; got "
            f"{tuple(predictions.shape)} and {tuple(targets.shape)}.",
            ("targets",),
        )


def check_range(
    array: np.ndarray,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    what: str = "",
) -> None:
    """Every element within [low, high] (or (low, high] with ``low_open``)."""
    if array.size == 0:
        return
    # Two reductions answer the common case without a temporary array; the culprit is found after.
    too_low = low is not None and (array.min() <= low if low_open else array.min() < low)
    if not too_low and (high is None or array.max() <= high):
        return
    bad = np.zeros(array.shape, dtype=bool)
    if low is not None:
        bad |= array <= low if low_open else array < low
    if high is not None:
        bad |= array > high
    if bad.any():
        index = first_index(bad)
        lo = "" if low is None else ("(" if low_open else "[") + fmt(low)
        hi = "" if high is None else fmt(high) + "]"
        interval = f"{lo or '(-inf'}, {hi or 'inf)'}"
        where = "".join(f"[{i}]" for i in index)
        raise InvalidInput(
            f"{name}{where} = {fmt(array[index])} is outside {interval}"
            + (f": {what}" if what else "")
            + ".",
            (name, *index),
        )


def check_simplex(array: np.ndarray, name: str, what: str) -> None:
    """Rows of probabilities: each element in [0, 1], each row summing to 1 within 1e-6."""
    check_range(array, name, low=0.0, high=1.0, what=what)
    sums = array.sum(axis=-1)
    bad = np.abs(sums - 1.0) > SIMPLEX_ATOL
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidInput(
            f"{name}[{row}] sums to {fmt(sums[row])}, not 1 (tolerance {SIMPLEX_ATOL}): {what}. "
            "Rows are validated, never renormalised.",
            (name, row),
        )


def check_class_indices(targets: np.ndarray, n_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """Class-index targets: integers in [0, C) (or equal to ``ignore_index``). Returns them as int."""
    not_integer = targets != np.floor(targets)
    if not_integer.any():
        i = int(np.argmax(not_integer))
        raise InvalidInput(
            f"targets[{i}] = {fmt(targets[i])} is not a class index: class-index targets must be integers.",
            ("targets", i),
        )
    out_of_range = (targets < 0) | (targets >= n_classes)
    if ignore_index is not None:
        out_of_range &= targets != ignore_index
    if out_of_range.any():
        i = int(np.argmax(out_of_range))
        raise InvalidInput(
            f"targets[{i}] = {int(targets[i])} is not a valid class index: predictions have "
            f"{n_classes} classes, so labels must be in [0, {n_classes - 1}]"
            + (f" or equal ignore_index={ignore_index}" if ignore_index is not None else "")
            + ".",
            ("targets", i),
        )
    return targets.astype(np.int64)


def check_vector_param(
    value: tuple[float, ...] | None, length: int, param: str, what: str
) -> np.ndarray | None:
    """A per-class or per-output parameter whose length must match the data."""
    if value is None:
        return None
    if len(value) != length:
        raise InvalidInput(
            f"{param} has {len(value)} entries but the predictions have {length} {what}.",
            ("params", param),
        )
    return np.asarray(value, dtype=np.float64)
