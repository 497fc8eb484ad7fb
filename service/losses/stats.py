"""Summary statistics of per-sample losses, with effective weights acting as frequency weights.

Quantiles use NumPy's ``inverted_cdf`` method (with the weights when there are any), so that
without weights they equal ``np.quantile(l, q, method="inverted_cdf")``. Samples of weight 0 are
absent from the distribution: they never set the minimum, the maximum, a quantile or the top list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

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


# Up to this many values one full sort is cheaper than a chain of partitions.
SORT_UP_TO = 2048


@lru_cache(maxsize=256)
def quantile_ranks(n: int) -> list[int]:
    """Positions in ascending order of the inverted-CDF quantiles of n values, as NumPy computes them."""
    index = n * np.asarray(QUANTILES) - 1
    previous = np.floor(index)
    ranks = np.where(index - previous == 0, previous, previous + 1).astype(np.intp)
    return [int(r) for r in np.clip(ranks, 0, n - 1)]


def _row(indices: np.ndarray | None, position: int) -> int:
    """The request row of a position among the counted values (None: they are the same)."""
    return int(position if indices is None else indices[position])


def _top(
    key: np.ndarray, values: np.ndarray, indices: np.ndarray | None, k: int, threshold: float
) -> list[tuple[int, float]]:
    """The k rows of largest ``key`` given the k-th largest (``threshold``), ties by lower index.

    Only the keys above the threshold are sorted; ties with it are taken in index order, so that a
    million equal losses cost one comparison pass, not a sort.
    """
    candidates = np.flatnonzero(key >= threshold)  # one pass; in index order
    candidate_keys = key[candidates]
    strictly = candidate_keys > threshold
    above = candidates[strictly]
    above = above[np.lexsort((above if indices is None else indices[above], -key[above]))]
    tied = candidates[~strictly][: k - above.size]
    return [(_row(indices, i), float(values[i])) for i in np.concatenate([above, tied])]


def top_rows(values: np.ndarray, indices: np.ndarray | None, k: int) -> list[tuple[int, float]]:
    """The k largest values with their row indices, largest first, ties by lower index.

    NaN counts as the largest value: a row whose loss is unknown is the first one to look at.
    """
    k = min(k, values.size)
    if k <= 0:
        return []
    key = np.where(np.isnan(values), np.inf, values)
    return _top(key, values, indices, k, float(np.partition(key, key.size - k)[key.size - k]))


QUANTILE_KEYS = tuple(str(q) for q in QUANTILES)


def _quantile_dict(values: np.ndarray) -> dict[str, float]:
    return dict(zip(QUANTILE_KEYS, values.tolist(), strict=True))


def select(values: np.ndarray, ranks: list[int] | np.ndarray) -> np.ndarray:
    """A copy of ``values`` in which every position in ``ranks`` holds its order statistic.

    One ``np.partition`` at the lowest rank, then each next rank within the part above the previous
    one: each step works on a smaller slice, where a single multi-kth ``np.partition`` call would
    scan the whole array for every rank.
    """
    ranks = sorted({int(r) for r in ranks})
    part = np.partition(values, ranks[0])
    for previous, rank in zip(ranks, ranks[1:], strict=False):
        part[previous + 1 :].partition(rank - previous - 1)
    return part


# Below this magnitude, squares of losses and their sums (up to 10⁷ terms) cannot overflow float64.
SAFE_MAGNITUDE = 1e150


def _moments(
    values: np.ndarray, weights: np.ndarray | None, weight_sum: float, bound: float
) -> tuple[float, float, float]:
    """(Σ w v, mean, population std), weighted when ``weights`` are given.

    ``bound`` is the largest |v|. The variance comes from Σ w v² when that is exact enough, else
    from the deviations; near the float64 limit, from deviations scaled by their largest.
    """
    if bound < SAFE_MAGNITUDE:
        total = float(values.sum() if weights is None else weights @ values)
        mean = total / weight_sum
        squares = values @ values if weights is None else weights @ (values * values)
        variance = float(squares) / weight_sum - mean * mean
        # Σv²/n − m² loses about log10(m²/var) digits: use the deviations before that matters.
        if variance < 1e-3 * mean * mean:
            deviation = values - mean
            squares = deviation @ deviation if weights is None else weights @ (deviation * deviation)
            variance = float(squares) / weight_sum
        return total, mean, math.sqrt(max(variance, 0.0))
    with np.errstate(over="ignore", invalid="ignore"):  # a sum beyond float64 is inf, as the value
        total = float(values.sum() if weights is None else weights @ values)
        mean = total / weight_sum
        deviation = (values - mean) / bound
        squares = deviation @ deviation if weights is None else weights @ (deviation * deviation)
    return total, mean, bound * math.sqrt(float(squares) / weight_sum)


def summarize(
    values: np.ndarray,
    weights: np.ndarray | None,
    indices: np.ndarray | None,
    top_k: int,
    unknown: bool = False,
) -> Stats:
    """Statistics of ``values`` (per-sample losses) with frequency ``weights`` (None: all ones).

    ``indices`` are the row numbers of the values (None: their positions).
    ``unknown`` marks that some counted samples had non-finite inputs (nan_policy="propagate"):
    every aggregate is then NaN, and those rows lead the top list.

    Without weights, a chain of partitions at every needed rank (the quantiles, the k-th largest)
    gives the order statistics in linear time; small arrays are sorted once. With weights, the
    inverted CDF needs the sorted order, as NumPy's weighted quantile does.
    """
    if weights is not None:
        present = weights > 0
        if not present.all():
            indices = np.flatnonzero(present) if indices is None else indices[present]
            values, weights = values[present], weights[present]

    nan = math.nan
    n = values.size
    if n == 0 or unknown:
        top = top_rows(values, indices, top_k)
        return Stats(nan, nan, nan, nan, nan, dict.fromkeys(QUANTILE_KEYS, nan), top)
    k = min(top_k, n)
    if weights is None:
        ranks = quantile_ranks(n)
        if n <= SORT_UP_TO:
            ordered = np.sort(values)
            low, high = float(ordered[0]), float(ordered[-1])
            total, mean, std = _moments(values, None, n, max(-low, high))
            worst = np.argsort(-values, kind="stable")[:k]
            rows = (worst if indices is None else indices[worst]).tolist()
            return Stats(
                mean,
                std,
                low,
                high,
                total,
                _quantile_dict(ordered[ranks]),
                list(zip(rows, values[worst].tolist(), strict=True)),
            )
        part = select(values, [*ranks, n - max(k, 1)])
        quantiles = part[ranks]
        low = float(part[: ranks[0] + 1].min())
        high, threshold = float(part[n - max(k, 1) :].max()), float(part[n - max(k, 1)])
        total, mean, std = _moments(values, None, n, max(-low, high))
    else:
        order = np.argsort(values)
        ordered = values[order]
        cdf = np.cumsum(weights[order])
        weight_sum = float(cdf[-1])
        cdf /= weight_sum
        positions = np.minimum(np.searchsorted(cdf, np.asarray(QUANTILES), side="left"), n - 1)
        quantiles = ordered[positions]
        low, high, threshold = float(ordered[0]), float(ordered[-1]), float(ordered[n - max(k, 1)])
        total, mean, std = _moments(values, weights, weight_sum, max(-low, high))
    return Stats(
        mean=mean,
        std=std,
        min=low,
        max=high,
        sum=total,
        quantiles=_quantile_dict(quantiles),
        top=_top(values, values, indices, k, threshold) if k > 0 else [],
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
