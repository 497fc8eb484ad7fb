"""Mergeable accumulators: a batch's per-sample losses reduced to what any window of batches needs.

An ``Accumulator`` holds, for one loss over a set of samples, everything from which the figures of
``POST /v1/evaluate`` on those samples follow, and accumulators merge into the accumulator of the
union of their samples:

    count        samples that count (n)           merged by addition
    weight_sum   W = Σ wᵢ (effective weights)     merged by addition
    total        Σ sᵢ aᵢ (the reductions' sum)    merged by addition
    sum          Σ wᵢ lᵢ (the statistics' sum)    merged by addition
    m2           Σ wᵢ (lᵢ − l̄)²                   M₂ = Σⱼ M₂ʲ + Σⱼ Wʲ (l̄ʲ − l̄)², the parallel form
                                                   of Chan et al.'s update (l̄ʲ = sumʲ / Wʲ)
    min, max     over samples of positive weight   merged by min / max
    omitted, ignored, clipped, nonfinite           merged by addition
    sketch       DDSketch of the lᵢ (``sketch.py``) merged bucket by bucket

with aᵢ, fᵢ, sᵢ, wᵢ = sᵢ fᵢ and lᵢ = aᵢ / fᵢ as in ``base.py``. ``finalize`` gives the value for a
reduction (mean = total / W, sum = total, sum_over_batch_size = total / n, then a loss's transform
such as RMSE's square root, applied after merging) and the statistics: mean = sum / W,
std = √(M₂ / W) (population), min, max, sum, and quantiles. ``nonfinite`` counts rows with a
non-finite input under ``nan_policy="propagate"``: as in ``evaluate``, any such row makes the value
and the statistics unknown (NaN) while ``count`` includes it.

Second moments never come from Σw·l² − W·l̄², which loses the variance of large, close losses to
cancellation; merged moments equal those of ``evaluate`` on the concatenated batches to about
1e-12 relative. A quantile q is the weighted inverted-CDF quantile of the bucketed values (the
first bucket at which the cumulative weight reaches q·W, NumPy's ``inverted_cdf`` rule), clamped
to [min, max]: within α·|x_q| of the true inverted-CDF quantile x_q.

A window of a run merges thousands of accumulators into hundreds of points; ``Table`` does that
column by column — every accumulator's scalars in arrays, every bucket of every sketch in one
array of (owner, ordinal, weight) — so that merging by groups and finalising are a few NumPy
passes, not a Python loop per accumulator.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .sketch import INF_ORDINAL, MAPPING, ORDINAL_SPAN, RELATIVE_ACCURACY, Sketch, representatives
from .stats import QUANTILE_KEYS, QUANTILES

__all__ = [
    "MAPPING",
    "RELATIVE_ACCURACY",
    "Accumulator",
    "Sketch",
    "Sums",
    "Summary",
    "Table",
    "merge_all",
    "value_of",
]

Transform = Callable[[float], tuple[float, float]]


@dataclass(frozen=True)
class Summary:
    """What a window of batches answers for one loss: ``evaluate``'s figures, from an accumulator."""

    value: float
    count: int
    weight_sum: float
    omitted: int
    ignored: int
    clipped: int
    mean: float
    std: float
    min: float
    max: float
    sum: float
    quantiles: dict[str, float]


@dataclass(frozen=True)
class Accumulator:
    """The mergeable sufficient statistics of one loss over a set of samples (see the module doc)."""

    count: int
    weight_sum: float
    total: float
    sum: float
    m2: float
    min: float
    max: float
    omitted: int
    ignored: int
    clipped: int
    nonfinite: int
    sketch: Sketch

    @classmethod
    def empty(cls) -> Accumulator:
        return cls(
            count=0,
            weight_sum=0.0,
            total=0.0,
            sum=0.0,
            m2=0.0,
            min=math.inf,
            max=-math.inf,
            omitted=0,
            ignored=0,
            clipped=0,
            nonfinite=0,
            sketch=Sketch.empty(),
        )

    @classmethod
    def of(
        cls,
        values: np.ndarray,
        weights: np.ndarray | None,
        *,
        total: float,
        weight_sum: float,
        omitted: int = 0,
        ignored: int = 0,
        clipped: int = 0,
        nonfinite: int = 0,
    ) -> Accumulator:
        """The accumulator of the per-sample losses ``values`` of the samples that count.

        ``weights`` are their effective weights (None: all 1), ``total`` = Σ sᵢaᵢ and
        ``weight_sum`` = Σ wᵢ as ``evaluate`` computed them. Samples of weight 0 count (in
        ``count``) but are absent from min, max and the sketch, as in ``stats.summarize``.
        """
        count = int(values.size)
        if weights is not None:
            present = weights > 0
            if not present.all():
                values, weights = values[present], weights[present]
        known = replace(
            cls.empty(),
            count=count,
            weight_sum=weight_sum,
            total=total,
            omitted=omitted,
            ignored=ignored,
            clipped=clipped,
            nonfinite=nonfinite,
        )
        if values.size == 0:
            return known
        with np.errstate(over="ignore", invalid="ignore"):
            total_l = float(values.sum() if weights is None else weights @ values)
            mean = total_l / weight_sum
            deviation = values - mean
            m2 = float(deviation @ deviation if weights is None else weights @ (deviation * deviation))
        # A loss that is NaN for finite inputs is unknown, as evaluate reports it (a NaN makes the
        # sum NaN, so the element-wise look is needed only then).
        if not math.isfinite(total_l) and np.isnan(values).any():
            return replace(known, sum=math.nan, m2=math.nan, min=math.nan, max=math.nan)
        low, high = float(values.min()), float(values.max())
        return replace(
            known, sum=total_l, m2=m2, min=low, max=high, sketch=Sketch.of(values, weights, (low, high))
        )

    def merge(self, other: Accumulator) -> Accumulator:
        return merge_all([self, other])

    def finalize(
        self,
        reduction: str = "mean",
        transform: Transform | None = None,
        quantiles: Sequence[float] = QUANTILES,
    ) -> Summary:
        """The figures ``evaluate`` gives on these samples (``transform``: the loss definition's)."""
        return Table.of([self]).summaries(reduction, transform, quantiles)[0]

    # -- serialization ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A compact, versioned binary form: a fixed header, then the buckets as ordinals (int32)
        and weights — uint32 when they are all whole numbers (unweighted batches), else float64."""
        ordinals, weights = self.sketch.ordinals()
        whole = (
            bool(weights.size) and bool(np.all(weights == np.floor(weights))) and float(weights.max()) < 2**32
        )
        header = _HEADER.pack(
            _VERSION,
            self.count,
            self.omitted,
            self.ignored,
            self.clipped,
            self.nonfinite,
            self.weight_sum,
            self.total,
            self.sum,
            self.m2,
            self.min,
            self.max,
            ordinals.size,
            1 if whole else 0,
        )
        return header + ordinals.astype("<i4").tobytes() + weights.astype("<u4" if whole else "<f8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Accumulator:
        return Table.from_blobs([data]).row(0)


_VERSION = 1
# version, count, omitted, ignored, clipped, nonfinite, weight_sum, total, sum, m2, min, max,
# number of buckets, whether their weights are whole numbers.
_HEADER = struct.Struct("<B5q6dIB")
INTS = ("count", "omitted", "ignored", "clipped", "nonfinite")
FLOATS = ("weight_sum", "total", "sum", "m2", "min", "max")
# Above this many cells, merging buckets sorts (group, ordinal) pairs instead of counting them into
# a dense (groups × distinct ordinals) matrix.
DENSE_CELLS = 8_000_000


def value_of(
    total: float, weight_sum: float, count: int, reduction: str = "mean", transform: Transform | None = None
) -> float:
    """A loss's value from an accumulator's sums: mean = total / W, sum = total, sum_over_batch_size =
    total / n, then the loss's transform (RMSE's square root)."""
    if reduction == "mean":
        value = total / weight_sum if weight_sum > 0 else math.nan
    elif reduction == "sum":
        value = total
    elif reduction == "sum_over_batch_size":
        value = total / count if count else math.nan
    else:
        raise ValueError(f"no value for reduction {reduction!r}")
    if transform is not None and not math.isnan(value):
        value = transform(value)[0]
    return value


@dataclass(frozen=True)
class Sums:
    """The scalars of an accumulator that its value needs (``nonfinite`` > 0: the value is unknown)."""

    count: int
    weight_sum: float
    total: float
    nonfinite: int

    @classmethod
    def of_blob(cls, blob: bytes) -> Sums:
        """Read from an ``Accumulator.to_bytes`` blob without decoding its sketch."""
        header = _HEADER.unpack_from(blob)
        return cls(count=header[1], weight_sum=header[6], total=header[7], nonfinite=header[5])

    def value(self, reduction: str = "mean", transform: Transform | None = None) -> float:
        if self.nonfinite:
            return math.nan
        return value_of(self.total, self.weight_sum, self.count, reduction, transform)


def _keys(quantiles: Sequence[float]) -> tuple[str, ...]:
    return QUANTILE_KEYS if tuple(quantiles) == QUANTILES else tuple(str(q) for q in quantiles)


@dataclass(frozen=True)
class Table:
    """Many accumulators, column by column.

    ``ints`` (n, 5) and ``floats`` (n, 6) hold the scalars (``INTS``, ``FLOATS``); the buckets of
    every sketch are in ``owner`` (the row), ``ordinal`` and ``weight``, sorted by (owner, ordinal).
    """

    ints: np.ndarray
    floats: np.ndarray
    owner: np.ndarray
    ordinal: np.ndarray
    weight: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.ints.shape[0])

    @classmethod
    def of(cls, accumulators: Sequence[Accumulator]) -> Table:
        buckets = [a.sketch.ordinals() for a in accumulators]
        sizes = [o.size for o, _ in buckets]
        return cls(
            np.array([[getattr(a, f) for f in INTS] for a in accumulators], np.int64).reshape(-1, len(INTS)),
            np.array([[getattr(a, f) for f in FLOATS] for a in accumulators], np.float64).reshape(
                -1, len(FLOATS)
            ),
            np.repeat(np.arange(len(accumulators)), sizes),
            np.concatenate([o for o, _ in buckets]) if buckets else np.empty(0, np.int64),
            np.concatenate([w for _, w in buckets]) if buckets else np.empty(0, np.float64),
        )

    @classmethod
    def from_blobs(cls, blobs: Sequence[bytes]) -> Table:
        """Decode many ``Accumulator.to_bytes`` blobs at once."""
        headers = [_HEADER.unpack_from(blob) for blob in blobs]
        for header in headers:
            if header[0] != _VERSION:
                raise ValueError(f"unknown accumulator format {header[0]}")
        sizes = np.array([h[12] for h in headers], np.int64)
        whole = np.array([h[13] for h in headers], bool)
        start = _HEADER.size
        views = [memoryview(b) for b in blobs]  # slices of a memoryview are not copies
        counts = sizes.tolist()
        ordinals = np.frombuffer(
            b"".join(v[start : start + 4 * n] for v, n in zip(views, counts, strict=True)), "<i4"
        )
        weights = np.empty(int(sizes.sum()), np.float64)
        in_whole = np.repeat(whole, sizes)
        for flag, dtype, width in ((True, "<u4", 4), (False, "<f8", 8)):
            parts = [
                v[start + 4 * n : start + (4 + width) * n]
                for v, n, w in zip(views, counts, whole.tolist(), strict=True)
                if w == flag and n
            ]
            if parts:
                weights[in_whole == flag] = np.frombuffer(b"".join(parts), dtype)
        return cls(
            np.array([h[1:6] for h in headers], np.int64).reshape(-1, len(INTS)),
            np.array([h[6:12] for h in headers], np.float64).reshape(-1, len(FLOATS)),
            np.repeat(np.arange(len(blobs)), sizes),
            ordinals.astype(np.int64),
            weights,
        )

    def row(self, i: int) -> Accumulator:
        lo, hi = np.searchsorted(self.owner, [i, i + 1])
        sketch = Sketch.from_ordinals(self.ordinal[lo:hi], self.weight[lo:hi])
        ints = dict(zip(INTS, map(int, self.ints[i]), strict=True))
        floats = dict(zip(FLOATS, map(float, self.floats[i]), strict=True))
        return Accumulator(**ints, **floats, sketch=sketch)  # type: ignore[arg-type]

    def blobs(self) -> list[bytes]:
        return [self.row(i).to_bytes() for i in range(self.rows)]

    def sums(self, i: int) -> Sums:
        count, _, _, _, nonfinite = map(int, self.ints[i])
        return Sums(count, float(self.floats[i, 0]), float(self.floats[i, 1]), nonfinite)

    def merge(self, groups: np.ndarray | Sequence[int], size: int) -> Table:
        """The table whose row g merges the rows i with ``groups[i] == g`` (g < ``size``)."""
        groups = np.asarray(groups, np.int64)
        ints = np.stack(
            [np.bincount(groups, weights=self.ints[:, j], minlength=size) for j in range(len(INTS))], axis=1
        ).astype(np.int64)
        weight_sum, total, total_l, m2, low, high = self.floats.T
        merged_w = np.bincount(groups, weights=weight_sum, minlength=size)
        merged_sum = np.bincount(groups, weights=total_l, minlength=size)
        with np.errstate(divide="ignore", invalid="ignore"):
            own_mean = np.where(weight_sum > 0, total_l / weight_sum, 0.0)
            group_mean = np.where(merged_w > 0, merged_sum / merged_w, 0.0)
            deviation = own_mean - group_mean[groups]
            between = np.where(weight_sum > 0, weight_sum * deviation * deviation, 0.0)
        merged_m2 = np.bincount(groups, weights=m2 + between, minlength=size)
        merged_low = np.full(size, math.inf)
        merged_high = np.full(size, -math.inf)
        np.minimum.at(merged_low, groups, low)
        np.maximum.at(merged_high, groups, high)
        floats = np.stack(
            [
                merged_w,
                np.bincount(groups, weights=total, minlength=size),
                merged_sum,
                merged_m2,
                merged_low,
                merged_high,
            ],
            axis=1,
        )
        owner, ordinal, weight = _sum_buckets(groups[self.owner], self.ordinal, self.weight, size)
        return Table(ints, floats, owner, ordinal, weight)

    def quantiles(self, quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
        """(rows, len(quantiles)): each row's weighted inverted-CDF quantiles, clamped to [min, max]."""
        rows = np.arange(self.rows)
        out = np.full((self.rows, len(quantiles)), math.nan)
        if not self.owner.size:
            return out
        cumulative = np.cumsum(self.weight)
        starts = np.searchsorted(self.owner, rows, side="left")
        ends = np.searchsorted(self.owner, rows, side="right")
        base = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
        totals = np.where(ends > starts, cumulative[np.maximum(ends - 1, 0)] - base, 0.0)
        targets = base[:, None] + np.asarray(quantiles)[None, :] * totals[:, None]
        positions = np.searchsorted(cumulative, targets.ravel(), side="left").reshape(targets.shape)
        positions = np.clip(positions, starts[:, None], np.maximum(ends - 1, starts)[:, None])
        positions = np.minimum(positions, self.owner.size - 1)
        values = representatives(self.ordinal[positions])
        values = np.clip(values, self.floats[:, 4:5], self.floats[:, 5:6])
        return np.where((totals > 0)[:, None], values, out)

    def summaries(
        self,
        reduction: str = "mean",
        transform: Transform | None = None,
        quantiles: Sequence[float] = QUANTILES,
    ) -> list[Summary]:
        """Each row's figures, as ``evaluate`` gives them (see ``Accumulator.finalize``)."""
        value_of(0.0, 1.0, 1, reduction)  # refuses an unknown reduction before any work
        keys = _keys(quantiles)
        qs = self.quantiles(quantiles)
        nan = math.nan
        out = []
        for i in range(self.rows):
            count, omitted, ignored, clipped, nonfinite = map(int, self.ints[i])
            weight_sum, total, total_l, m2, low, high = map(float, self.floats[i])
            if nonfinite:
                out.append(Summary(nan, count + nonfinite, nan, 0, ignored, clipped, nan, nan, nan, nan, nan,
                                   dict.fromkeys(keys, nan)))  # fmt: skip
                continue
            value = value_of(total, weight_sum, count, reduction, transform)
            if weight_sum > 0 and low <= high:
                mean = total_l / weight_sum
                std = math.sqrt(max(m2 / weight_sum, 0.0)) if math.isfinite(m2) else nan
            else:
                mean = std = low = high = total_l = nan
            out.append(
                Summary(
                    value,
                    count,
                    weight_sum,
                    omitted,
                    ignored,
                    clipped,
                    mean,
                    std,
                    low,
                    high,
                    total_l,
                    dict(zip(keys, qs[i].tolist(), strict=True)),
                )  # fmt: skip
            )
        return out


def _sum_buckets(
    groups: np.ndarray, ordinal: np.ndarray, weight: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights summed per (group, ordinal), sorted by group then ordinal.

    The distinct ordinals are found with one counting pass over the bounded ordinal range; the sums
    then go into a dense (groups × distinct ordinals) matrix when it is small enough, else through
    a sort of the (group, ordinal) pairs.
    """
    if not ordinal.size:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    shifted = ordinal + INF_ORDINAL
    present = np.zeros(ORDINAL_SPAN, bool)
    present[shifted] = True
    columns = np.flatnonzero(present)
    if size * columns.size <= DENSE_CELLS:
        column_of = np.cumsum(present) - 1
        cells = np.bincount(
            groups * columns.size + column_of[shifted], weights=weight, minlength=size * columns.size
        ).reshape(size, columns.size)
        owner, column = np.nonzero(cells)
        return owner, columns[column] - INF_ORDINAL, cells[owner, column]
    unique, inverse = np.unique(groups * ORDINAL_SPAN + shifted, return_inverse=True)
    sums = np.bincount(inverse, weights=weight, minlength=unique.size)
    return unique // ORDINAL_SPAN, unique % ORDINAL_SPAN - INF_ORDINAL, sums


def merge_all(accumulators: Iterable[Accumulator]) -> Accumulator:
    """The accumulator of the union of the accumulators' samples (empty for none)."""
    items = list(accumulators)
    if not items:
        return Accumulator.empty()
    if len(items) == 1:
        return items[0]
    return Table.of(items).merge(np.zeros(len(items), np.int64), 1).row(0)
