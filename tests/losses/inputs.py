"""Valid random inputs for any registered loss, derived from its input modes (spaces and shapes).

The common suite runs every loss through these; a new loss whose modes use the existing spaces
needs nothing here (a stacked-parts loss: nothing but its minimum in STACKED_MINIMUM). ``perfect``
gives, per family, predictions that a loss should score at its minimum for the given targets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from service.losses.base import InputMode, LossDefinition, Params, Space
from service.losses.numerics import log_softmax, softmax

N_SAMPLES = 6
WIDTH = 3  # outputs, labels or classes: class_weights in the examples have this length
# Families whose rows are stacked parts (pairs, triplets, lists, frames): inputs take the shapes the
# input mode declares ("predictions (N, 3, D) ..."), with these sizes for the letters.
STACKED = ("ranking", "metric_learning", "probabilistic", "sequence")
SIZES = {"N": N_SAMPLES, "D": WIDTH, "L": 4, "T": 5, "C": WIDTH, "S": 2}
# Margin losses: the margin v = y·f where each is minimal (margin family branch of ``perfect``).
MARGIN_MINIMUM = {
    "hinge": 1.0,
    "squared_hinge": 1.0,
    "soft_margin": 30.0,
    "exponential": 30.0,
    "savage": 30.0,
    "tangent": float(np.tan(0.5)),
    "square_margin": 1.0,
    "zero_one": 30.0,
}


def draw(space: Space, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random values in a space, kept away from its edges (so finite differences stay inside)."""
    if space == "real":
        return rng.normal(size=shape) * 1.5
    if space == "positive":
        return rng.uniform(0.2, 3.0, size=shape)
    if space == "nonnegative":
        return rng.uniform(0.1, 3.0, size=shape)
    if space == "greater_than_minus_one":
        return rng.uniform(-0.5, 3.0, size=shape)
    if space == "unit_interval":
        return rng.uniform(0.05, 0.95, size=shape)
    if space == "simplex":
        return softmax(rng.normal(size=shape))
    if space == "log_simplex":
        return log_softmax(rng.normal(size=shape))
    if space == "class_index":
        return rng.integers(0, WIDTH, size=shape[:1]).astype(np.float64)
    if space == "one_hot":
        return np.eye(shape[1])[rng.integers(0, shape[1], size=shape[0])]
    if space == "sign" or space == "plus_minus_one":
        return rng.choice([-1.0, 1.0], size=shape)
    if space == "binary_label":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    if space == "relevance":
        # Graded relevance with ties; every list has two grades but the last, which has none (all 0):
        # the pairwise losses and normalised ranking_softmax do not count it.
        grades = rng.integers(0, 4, size=shape).astype(np.float64)
        grades[:, 0] = np.where(grades[:, 1] == grades[:, 0], (grades[:, 0] + 1) % 4, grades[:, 0])
        grades[-1] = 0.0
        return grades
    if space == "mean_variance":
        return np.stack([rng.normal(size=shape[0]) * 1.5, rng.uniform(0.2, 3.0, size=shape[0])], axis=1)
    raise AssertionError(f"no generator for space {space!r}")


def declared(mode: InputMode, array: str) -> tuple[int, ...] | None:
    """The shape a mode declares for ``array`` ("predictions (N, 2, D) ..."), letters as SIZES."""
    for text in mode.shapes:
        found = re.match(rf"{array} \(([^)]*)\)", text)
        if found:
            sizes = [size.strip() for size in found.group(1).split(",") if size.strip()]
            return tuple(int(size) if size.isdigit() else SIZES[size] for size in sizes)
    return None


def label_sequences(blank: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """CTC labels (N, S): classes other than the blank, padded with -1; row 0 repeats its label, row 1
    has one label, row 2 none."""
    classes = np.array([c for c in range(SIZES["C"]) if c != blank], dtype=np.float64)
    labels = rng.choice(classes, size=shape)
    labels[0] = labels[0, 0]
    labels[1, 1:] = -1.0
    labels[2] = -1.0
    return labels


def alignment_logits(labels: np.ndarray, blank: int, frames: int) -> np.ndarray:
    """Logits (N, T, C) that put almost all probability on one alignment of each label sequence:
    its labels with a blank between repeats, then blanks."""
    logits = np.zeros((labels.shape[0], frames, SIZES["C"]))
    for row, sequence in enumerate(labels):
        path: list[int] = []
        for label in (int(x) for x in sequence if x >= 0):
            if path and path[-1] == label:
                path.append(blank)
            path.append(label)
        path += [blank] * (frames - len(path))
        logits[row, np.arange(frames), path] = 30.0
    return logits


def stacked_sample(
    definition: LossDefinition, params: Params, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs of the declared shapes; None targets for a loss that takes none."""
    mode = definition.mode_for(params)
    shape = declared(mode, "predictions")
    assert shape is not None, f"{definition.name} declares no predictions shape"
    predictions = draw(mode.predictions, shape, rng)
    if not mode.targets:
        return predictions, None
    target_shape = declared(mode, "targets")
    assert target_shape is not None, f"{definition.name} declares no targets shape"
    if mode.targets[0] == "label_sequence":
        return predictions, label_sequences(params.blank, target_shape, rng)
    return predictions, draw(mode.targets[0], target_shape, rng)


def _embeddings(parts: int) -> np.ndarray:
    return np.random.default_rng(7).normal(size=(N_SAMPLES, parts, WIDTH))


# Predictions at the minimum of each stacked-parts loss (default parameters) for given targets.
STACKED_MINIMUM: dict[str, Callable[[Params, Any], np.ndarray]] = {
    "margin_ranking": lambda params, y: 30.0 * np.stack([y, -y], axis=1),
    "pairwise_logistic": lambda params, t: 30.0 * t,
    "pairwise_hinge": lambda params, t: 30.0 * t,
    # -sum t log softmax(s) is least where softmax(s) is proportional to t.
    "ranking_softmax": lambda params, t: np.log(np.where(t > 0, t, np.exp(-30.0))),
    "contrastive": lambda params, y: np.where(y == 1.0, 0.0, params.margin + 1.0),
    "cosine_embedding": lambda params, y: _embeddings(1) * np.stack([np.ones_like(y), y], axis=1)[:, :, None],
    "triplet_margin": lambda params, t: _embeddings(1) + np.array([0.0, 0.0, 10.0])[None, :, None],
    "gaussian_nll": lambda params, y: np.stack([y, np.full_like(y, params.eps)], axis=1),
    "ctc": lambda params, labels: alignment_logits(labels, params.blank, SIZES["T"]),
}


def variants(definition: LossDefinition, params: Params) -> list[str]:
    """Input layouts a loss accepts in the mode its parameters select."""
    mode = definition.mode_for(params)
    if definition.name == "brier":  # binary (N,) or class probabilities (N, C): not selected by params
        return ["1d", "index", "probabilities"]
    if definition.family in STACKED:
        return ["parts"]
    if definition.family == "multiclass":
        out = []
        if "class_index" in mode.targets:
            out.append("index")
        distribution = {"simplex", "log_simplex", "one_hot"} & set(mode.targets)
        if distribution and getattr(params, "ignore_index", None) is None:
            out.append("probabilities")
        return out
    found = []
    if any(s.startswith("(N,)") for s in mode.shapes):
        found.append("1d")
    if any(s.startswith("(N, ") for s in mode.shapes):
        found.append("2d")
    return found


def sample(
    definition: LossDefinition, params: Params, variant: str, rng: np.random.Generator
) -> tuple[np.ndarray, Any]:
    """Predictions and targets (None for a loss that takes no targets)."""
    mode = definition.mode_for(params)
    if variant == "parts":
        return stacked_sample(definition, params, rng)
    if definition.name == "brier":  # binary (N,), or (N, C) class probabilities
        if variant == "1d":
            return draw("unit_interval", (N_SAMPLES,), rng), draw("unit_interval", (N_SAMPLES,), rng)
        predictions = draw("simplex", (N_SAMPLES, WIDTH), rng)
        if variant == "index":
            targets = draw("class_index", (N_SAMPLES,), rng)
            targets[:WIDTH] = np.arange(WIDTH)  # every class present: perfect() relies on it
            return predictions, targets
        return predictions, draw("simplex", (N_SAMPLES, WIDTH), rng)
    if definition.family == "multiclass":
        predictions = draw(mode.predictions, (N_SAMPLES, WIDTH), rng)
        if variant == "index":
            targets = draw("class_index", (N_SAMPLES,), rng)
            targets[:WIDTH] = np.arange(WIDTH)  # every class present, for breakdowns and ignore_index
        else:
            space = next(s for s in mode.targets if s != "class_index")
            targets = draw(space, (N_SAMPLES, WIDTH), rng)
        return predictions, targets
    shape = (N_SAMPLES,) if variant == "1d" else (N_SAMPLES, WIDTH)
    target_space = mode.targets[0]
    return draw(mode.predictions, shape, rng), draw(target_space, shape, rng)


def hard_targets(definition: LossDefinition, params: Params, variant: str, rng: np.random.Generator) -> Any:
    """Targets for which a 'perfect' prediction exists: 0/1 labels, ±1 signs, class indices."""
    _, targets = sample(definition, params, variant, rng)
    mode = definition.mode_for(params)
    if variant == "parts":
        return targets
    if definition.name == "brier":
        if variant == "1d":
            return (targets > 0.5).astype(np.float64)
        return targets if variant == "index" else np.eye(WIDTH)[rng.integers(0, WIDTH, size=N_SAMPLES)]
    if definition.family == "multiclass":
        if variant == "index":
            return targets
        return np.eye(WIDTH)[rng.integers(0, WIDTH, size=N_SAMPLES)]
    if mode.targets[0] == "unit_interval" or definition.family == "similarity":
        return (
            (targets > 0.5).astype(np.float64)
            if mode.targets[0] == "unit_interval"
            else (rng.integers(0, 2, size=targets.shape).astype(np.float64))
        )
    return targets


def perfect(definition: LossDefinition, params: Params, targets: Any) -> np.ndarray | None:
    """Predictions at which the loss should be minimal for these targets (None: no such notion)."""
    mode = definition.mode_for(params)
    if definition.family in STACKED:
        return STACKED_MINIMUM[definition.name](params, targets)
    space = mode.predictions
    if definition.name == "brier":
        # (N, C) layout: one-hot rows (index targets always hold class WIDTH - 1, see sample).
        if targets.ndim == 2 or targets.max() > 1:
            return targets if targets.ndim == 2 else np.eye(WIDTH)[targets.astype(int)]
        return targets.copy()
    if definition.family == "multiclass":
        onehot = targets if targets.ndim == 2 else np.eye(WIDTH)[targets.astype(int)]
        if space == "simplex":
            return onehot
        logits = 30.0 * onehot
        return log_softmax(logits) if space == "log_simplex" else logits
    if definition.family == "margin":
        # The margin v = y·f at each loss's minimum (tangent's is tan(1/2); 30 stands for v -> inf).
        best = MARGIN_MINIMUM.get(definition.name)
        return None if best is None else best * np.where(targets > 0, 1.0, -1.0)
    if space == "real" and mode.targets[0] == "unit_interval":
        return np.where(targets > 0.5, 30.0, -30.0)  # logits of hard labels
    return targets.copy()


def param_sets(definition: LossDefinition) -> Iterator[dict[str, Any]]:
    """Defaults, each mode's selecting parameters, and the loss's examples, without repeats."""
    seen: list[dict[str, Any]] = []
    for params in [{}, *(dict(m.select) for m in definition.modes), *map(dict, definition.examples)]:
        if params not in seen:
            seen.append(params)
            yield params
