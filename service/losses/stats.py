"""Summary statistics of per-sample losses, with effective weights acting as frequency weights.

Quantiles use NumPy's ``inverted_cdf`` method (with the weights when there are any), so that
without weights they equal ``np.quantile(l, q, method="inverted_cdf")``. Samples of weight 0 are
absent from the distribution: they never set the minimum, the maximum, a quantile or the top list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99)


@dataclass
class Stats:
    mean: float
    std: float
    min: float
    max: float
    sum: float
    quantiles: dict[str, float]
    top: list[tuple[int, float]] = field(default_factory=list)


def top_rows(values: np.ndarray, indices: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k largest values with their row indices, largest first, ties by lower index.

    NaN counts as the largest value: a row whose loss is unknown is the first one to look at.
    """
    if k <= 0 or values.size == 0:
        return []
    key = np.where(np.isnan(values), np.inf, values)
    if k < key.size:
        # Every value tied with the k-th largest must stay a candidate for the index tie-break.
        kth = np.partition(key, key.size - k)[key.size - k]
        candidates = np.flatnonzero(key >= kth)
    else:
        candidates = np.arange(key.size)
    order = np.lexsort((indices[candidates], -key[candidates]))[:k]
    chosen = candidates[order]
    return [(int(indices[i]), float(values[i])) for i in chosen]


def summarize(
    values: np.ndarray,
    weights: np.ndarray | None,
    indices: np.ndarray,
    top_k: int,
    unknown: bool = False,
) -> Stats:
    """Statistics of ``values`` (per-sample losses) with frequency ``weights`` (None: all ones).

    ``unknown`` marks that some counted samples had non-finite inputs (nan_policy="propagate"):
    every aggregate is then NaN, and those rows lead the top list.
    """
    if weights is not None:
        present = weights > 0
        if not present.all():
            values, weights, indices = values[present], weights[present], indices[present]
    nan = math.nan
    if values.size == 0 or unknown:
        top = top_rows(values, indices, top_k)
        return Stats(nan, nan, nan, nan, nan, {str(q): nan for q in QUANTILES}, top)
    if weights is None:
        total = float(values.sum())
        mean = total / values.size
        std = float(np.sqrt(np.mean(np.square(values - mean))))
        quantiles = np.quantile(values, QUANTILES, method="inverted_cdf")
    else:
        weight_sum = float(weights.sum())
        total = float(weights @ values)
        mean = total / weight_sum
        std = float(np.sqrt(weights @ np.square(values - mean) / weight_sum))
        quantiles = np.quantile(values, QUANTILES, method="inverted_cdf", weights=weights)
    return Stats(
        mean=mean,
        std=std,
        min=float(values.min()),
        max=float(values.max()),
        sum=total,
        quantiles={str(q): float(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
        top=top_rows(values, indices, top_k),
    )


@dataclass
class ArraySummary:
    """Plain (unweighted) description of an input array's finite elements."""

    mean: float
    std: float
    min: float
    max: float
    count: int
    non_finite: int


def describe(array: np.ndarray) -> ArraySummary:
    finite = np.isfinite(array)
    n_finite = int(np.count_nonzero(finite))
    values = array if n_finite == array.size else array[finite]
    if values.size == 0:
        return ArraySummary(math.nan, math.nan, math.nan, math.nan, 0, int(array.size))
    return ArraySummary(
        mean=float(values.mean()),
        std=float(values.std()),
        min=float(values.min()),
        max=float(values.max()),
        count=int(array.size),
        non_finite=int(array.size - n_finite),
    )
