"""Mergeable accumulators: a batch's per-sample losses reduced to what any window of batches needs.

An ``Accumulator`` holds, for one loss over a set of samples, everything from which the figures of
``POST /v1/evaluate`` on those samples follow, and two accumulators merge into the accumulator of the
union of their samples:

    count        samples that count (n)          merged by addition
    weight_sum   W = Σ wᵢ (effective weights)    merged by addition
    total        Σ sᵢ aᵢ (the reductions' sum)   merged by addition
    sum          Σ wᵢ lᵢ (the statistics' sum)   merged by addition
    m2           Σ wᵢ (lᵢ − l̄)²                  Chan et al.'s pairwise update:
                                                  M₂ = M₂ᵃ + M₂ᵇ + (l̄ᵇ − l̄ᵃ)² Wᵃ Wᵇ / W
    min, max     over samples of positive weight  merged by min / max
    omitted, ignored, clipped, nonfinite          merged by addition
    sketch       quantile sketch (below)          merged bucket by bucket

with aᵢ, fᵢ, sᵢ, wᵢ = sᵢ fᵢ and lᵢ = aᵢ / fᵢ as in ``base.py``. ``finalize`` gives the value for a
reduction (mean = total / W, sum = total, sum_over_batch_size = total / n, then a loss's transform
such as RMSE's square root) and the statistics: mean = sum / W, std = √(M₂ / W) (population),
min, max, sum, and quantiles. ``nonfinite`` counts rows with a non-finite input under
``nan_policy="propagate"``: as in ``evaluate``, any such row makes the value and the statistics
unknown (NaN) while ``count`` includes it.

Moments merge exactly up to rounding (sums, and Chan's update instead of Σw·l², which would lose
the variance of large, close losses to cancellation), so that a window's figures equal those of
``evaluate`` on the concatenated batches to about 1e-12 relative.

The quantile sketch is DDSketch (Masson, Rim & Lee, VLDB 2019) with its logarithmic mapping: a
value x > 0 falls in bucket k = ⌈log_γ x⌉, γ = (1 + α)/(1 − α), and the bucket is represented by
2γᵏ/(1 + γ), which is within α·x of every value in it. Negative values use a mirrored set of
buckets, zero (and |x| ≤ 2.3e-308, the smallest value the mapping separates from 0, as in the
``ddsketch`` package) a bucket of its own, ±inf counters of their own. Buckets hold weights, so a
merge is the sum of two sparse vectors: exact for counts, and for float weights the same up to the
order of additions. A quantile q is the weighted inverted-CDF quantile of the bucketed values: the
first bucket at which the cumulative weight reaches q·W (NumPy's ``inverted_cdf`` rule), clamped to
[min, max]; it is within α·|x_q| of the true inverted-CDF quantile x_q. Bucket keys are those of
``ddsketch.mapping.LogarithmicMapping`` (checked against it in the tests), computed for a whole
array at once.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .stats import QUANTILE_KEYS, QUANTILES

RELATIVE_ACCURACY = 0.01


@dataclass(frozen=True)
class LogarithmicMapping:
    """DDSketch's memory-optimal mapping of positive values to integer bucket keys."""

    relative_accuracy: float

    @property
    def gamma(self) -> float:
        return 1 + 2 * self.relative_accuracy / (1 - self.relative_accuracy)

    @property
    def multiplier(self) -> float:
        """1 / log₂ γ, so that key = ⌈log₂(x) · multiplier⌉ (the ``ddsketch`` package's formula)."""
        return math.log(2) / math.log1p(2 * self.relative_accuracy / (1 - self.relative_accuracy))

    @property
    def min_possible(self) -> float:
        """The smallest magnitude with a bucket of its own; anything at or below it counts as 0."""
        return sys.float_info.min * self.gamma

    def keys(self, magnitudes: np.ndarray) -> np.ndarray:
        """Bucket keys of positive finite values above ``min_possible``."""
        return np.ceil(np.log2(magnitudes) * self.multiplier).astype(np.int64)

    def values(self, keys: np.ndarray) -> np.ndarray:
        """The value representing each bucket: 2γᵏ / (1 + γ)."""
        return np.power(2.0, keys / self.multiplier) * (2.0 / (1 + self.gamma))


MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
_NO_KEYS = np.empty(0, np.int64)
_NO_WEIGHTS = np.empty(0, np.float64)


def _bucket(keys: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Sparse (sorted keys, summed weights) of values already mapped to keys."""
    if keys.size == 0:
        return _NO_KEYS, _NO_WEIGHTS
    low, high = int(keys.min()), int(keys.max())
    if high - low <= 4 * keys.size + 4096:  # dense enough for one counting pass
        sums = np.bincount(keys - low, weights=weights, minlength=high - low + 1)
        present = np.flatnonzero(sums)
        return present + low, sums[present].astype(np.float64, copy=False)
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=weights, minlength=unique.size).astype(np.float64)


@dataclass(frozen=True)
class Sketch:
    """A DDSketch of weighted values: sparse buckets for x > 0 and for x < 0 (keyed by |x|), and
    the weights of 0, +inf and −inf. Keys are sorted ascending; every stored weight is > 0."""

    positive_keys: np.ndarray
    positive_weights: np.ndarray
    negative_keys: np.ndarray
    negative_weights: np.ndarray
    zero: float = 0.0
    posinf: float = 0.0
    neginf: float = 0.0

    @classmethod
    def empty(cls) -> Sketch:
        return cls(_NO_KEYS, _NO_WEIGHTS, _NO_KEYS, _NO_WEIGHTS)

    @classmethod
    def of(cls, values: np.ndarray, weights: np.ndarray | None = None) -> Sketch:
        """The sketch of ``values`` (no NaN) with positive ``weights`` (None: weight 1 each)."""
        if values.size == 0:
            return cls.empty()
        tiny = MAPPING.min_possible
        low, high = float(values.min()), float(values.max())
        if low > tiny and high < math.inf:  # the usual case: every loss positive and finite
            keys, sums = _bucket(MAPPING.keys(values), weights)
            return cls(keys, sums, _NO_KEYS, _NO_WEIGHTS)

        def weight_of(mask: np.ndarray) -> float:
            return float(np.count_nonzero(mask) if weights is None else weights[mask].sum())

        def side(mask: np.ndarray, magnitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if not mask.any():
                return _NO_KEYS, _NO_WEIGHTS
            return _bucket(MAPPING.keys(magnitudes[mask]), None if weights is None else weights[mask])

        positive = (values > tiny) & (values < math.inf)
        negative = (values < -tiny) & (values > -math.inf)
        zero = (values >= -tiny) & (values <= tiny)
        return cls(
            *side(positive, values),
            *side(negative, -values),
            zero=weight_of(zero),
            posinf=weight_of(values == math.inf),
            neginf=weight_of(values == -math.inf),
        )

    @property
    def weight(self) -> float:
        return float(
            self.positive_weights.sum() + self.negative_weights.sum() + self.zero + self.posinf + self.neginf
        )

    @property
    def buckets(self) -> int:
        return int(self.positive_keys.size + self.negative_keys.size)

    @staticmethod
    def merge_all(sketches: Sequence[Sketch]) -> Sketch:
        """The sketch of the union of the sketches' values: bucket weights added key by key."""
        if len(sketches) == 1:
            return sketches[0]

        def side(keys: list[np.ndarray], weights: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            present = [i for i, k in enumerate(keys) if k.size]
            if not present:
                return _NO_KEYS, _NO_WEIGHTS
            if len(present) == 1:
                return keys[present[0]], weights[present[0]]
            return _bucket(
                np.concatenate([keys[i] for i in present]), np.concatenate([weights[i] for i in present])
            )

        return Sketch(
            *side([s.positive_keys for s in sketches], [s.positive_weights for s in sketches]),
            *side([s.negative_keys for s in sketches], [s.negative_weights for s in sketches]),
            zero=_fsum(s.zero for s in sketches),
            posinf=_fsum(s.posinf for s in sketches),
            neginf=_fsum(s.neginf for s in sketches),
        )

    def quantiles(self, quantiles: Sequence[float], low: float, high: float) -> np.ndarray:
        """Weighted inverted-CDF quantiles of the sketched values, clamped to [low, high].

        The buckets in ascending order of value: −inf, negative buckets by descending key, zero,
        positive buckets by ascending key, +inf. Quantile q is the first bucket whose cumulative
        weight divided by the total reaches q (as NumPy's weighted ``inverted_cdf``).
        """
        weights = np.concatenate(
            [
                [self.neginf],
                self.negative_weights[::-1],
                [self.zero],
                self.positive_weights,
                [self.posinf],
            ]
        )
        representatives = np.concatenate(
            [
                [-math.inf],
                -MAPPING.values(self.negative_keys[::-1]),
                [0.0],
                MAPPING.values(self.positive_keys),
                [math.inf],
            ]
        )
        cdf = np.cumsum(weights)
        total = cdf[-1]
        if not total > 0:
            return np.full(len(quantiles), math.nan)
        cdf /= total
        positions = np.minimum(np.searchsorted(cdf, np.asarray(quantiles), side="left"), cdf.size - 1)
        # A bucket of weight 0 (the fixed 0 and ±inf slots) is never the answer: the cumulative
        # weight does not grow there, so searchsorted lands on the first bucket that reaches q.
        return np.clip(representatives[positions], low, high)


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
        return replace(
            known,
            sum=total_l,
            m2=m2,
            min=float(values.min()),
            max=float(values.max()),
            sketch=Sketch.of(values, weights),
        )

    def merge(self, other: Accumulator) -> Accumulator:
        return merge_all([self, other])

    def finalize(
        self,
        reduction: str = "mean",
        transform: object = None,
        quantiles: Sequence[float] = QUANTILES,
    ) -> Summary:
        """The window's figures, as ``evaluate`` gives them on the concatenated samples.

        ``transform`` is the loss definition's (``value, derivative = transform(reduced)``), applied
        after merging.
        """
        nan = math.nan
        if self.nonfinite:
            return Summary(
                value=nan,
                weight_sum=nan,
                mean=nan,
                std=nan,
                min=nan,
                max=nan,
                sum=nan,
                count=self.count + self.nonfinite,
                omitted=0,
                ignored=self.ignored,
                clipped=self.clipped,
                quantiles=dict.fromkeys(_keys(quantiles), nan),
            )
        weight_sum = self.weight_sum
        with np.errstate(divide="ignore", invalid="ignore"):
            if reduction == "mean":
                value = self.total / weight_sum if weight_sum > 0 else nan
            elif reduction == "sum":
                value = self.total
            elif reduction == "sum_over_batch_size":
                value = self.total / self.count if self.count else nan
            else:
                raise ValueError(f"no value for reduction {reduction!r}")
        if transform is not None and not math.isnan(value):
            value = transform(value)[0]  # type: ignore[operator]
        if self.sketch.weight > 0 and weight_sum > 0:
            mean = self.sum / weight_sum
            std = math.sqrt(max(self.m2 / weight_sum, 0.0)) if math.isfinite(self.m2) else nan
            low, high, total_l = self.min, self.max, self.sum
            values = self.sketch.quantiles(quantiles, low, high).tolist()
        else:
            mean = std = low = high = total_l = nan
            values = [nan] * len(quantiles)
        return Summary(
            value=value,
            count=self.count,
            weight_sum=weight_sum,
            omitted=self.omitted,
            ignored=self.ignored,
            clipped=self.clipped,
            mean=mean,
            std=std,
            min=low,
            max=high,
            sum=total_l,
            quantiles=dict(zip(_keys(quantiles), values, strict=True)),
        )

    # -- serialization ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A compact, versioned binary form: a fixed header, then the sketch's two bucket lists.

        Bucket weights are stored as uint32 when they are all whole numbers (unweighted batches),
        else as float64; keys as int32 (|key| < 40,000 for every float64).
        """
        sketch = self.sketch
        parts = [
            _HEADER.pack(
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
                sketch.zero,
                sketch.posinf,
                sketch.neginf,
            )
        ]
        for keys, weights in (
            (sketch.positive_keys, sketch.positive_weights),
            (sketch.negative_keys, sketch.negative_weights),
        ):
            whole = (
                bool(weights.size) and bool(np.all(weights == np.floor(weights))) and weights.max() < 2**32
            )
            parts.append(_SIDE.pack(keys.size, 1 if whole else 0))
            parts.append(keys.astype("<i4").tobytes())
            parts.append(weights.astype("<u4" if whole else "<f8").tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> Accumulator:
        header = _HEADER.unpack_from(data, 0)
        if header[0] != _VERSION:
            raise ValueError(f"unknown accumulator format {header[0]}")
        (_, count, omitted, ignored, clipped, nonfinite, weight_sum, total, total_l, m2, low, high, zero,
         posinf, neginf) = header  # fmt: skip
        offset = _HEADER.size
        sides = []
        for _ in range(2):
            size, whole = _SIDE.unpack_from(data, offset)
            offset += _SIDE.size
            keys = np.frombuffer(data, "<i4", size, offset).astype(np.int64)
            offset += 4 * size
            dtype = "<u4" if whole else "<f8"
            weights = np.frombuffer(data, dtype, size, offset).astype(np.float64)
            offset += np.dtype(dtype).itemsize * size
            sides.append((keys, weights))
        sketch = Sketch(*sides[0], *sides[1], zero=zero, posinf=posinf, neginf=neginf)
        return cls(
            count, weight_sum, total, total_l, m2, low, high, omitted, ignored, clipped, nonfinite, sketch
        )


_VERSION = 1
_HEADER = struct.Struct("<B5q9d")
_SIDE = struct.Struct("<IB")


def _fsum(values: Iterable[float]) -> float:
    """The correctly rounded sum (so one merge of many does not depend on their order), or the float sum where
    that is not finite (``math.fsum`` refuses inf − inf and intermediate overflow)."""
    items = list(values)
    try:
        return math.fsum(items)
    except (OverflowError, ValueError):
        return float(np.sum(items))


def _keys(quantiles: Sequence[float]) -> tuple[str, ...]:
    return QUANTILE_KEYS if tuple(quantiles) == QUANTILES else tuple(str(q) for q in quantiles)


def merge_all(accumulators: Iterable[Accumulator]) -> Accumulator:
    """The accumulator of the union of the accumulators' samples (empty for none).

    Sums are added; the second moments by Chan et al.'s update, pairwise in the given order, with
    the means taken from the exact sums: M₂ = M₂ᵃ + M₂ᵇ + (l̄ᵇ − l̄ᵃ)² Wᵃ Wᵇ / (Wᵃ + Wᵇ).
    """
    items = list(accumulators)
    if not items:
        return Accumulator.empty()
    if len(items) == 1:
        return items[0]
    weight = total_l = m2 = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for item in items:
            if item.weight_sum > 0:
                if weight > 0:
                    delta = item.sum / item.weight_sum - total_l / weight
                    m2 += item.m2 + delta * delta * (weight * item.weight_sum) / (weight + item.weight_sum)
                else:
                    m2 = item.m2
                weight += item.weight_sum
                total_l += item.sum
    return Accumulator(
        count=sum(a.count for a in items),
        weight_sum=_fsum(a.weight_sum for a in items),
        total=_fsum(a.total for a in items),
        sum=_fsum(a.sum for a in items),
        m2=m2,
        min=min(a.min for a in items),
        max=max(a.max for a in items),
        omitted=sum(a.omitted for a in items),
        ignored=sum(a.ignored for a in items),
        clipped=sum(a.clipped for a in items),
        nonfinite=sum(a.nonfinite for a in items),
        sketch=Sketch.merge_all([a.sketch for a in items]),
    )
