"""DDSketch: a quantile sketch with relative accuracy α whose merge is exact (Masson, Rim & Lee,
VLDB 2019), computed for whole NumPy arrays at once.

A value x > 0 falls in bucket k = ⌈log_γ x⌉, γ = (1 + α)/(1 − α), and the bucket is represented by
2γᵏ/(1 + γ), which is within α·x of every value in it. Negative values use a mirrored set of buckets
(keyed by |x|), zero (and |x| ≤ 2.3e-308, the smallest magnitude the mapping separates from 0, as in
the ``ddsketch`` package) a bucket of its own, and ±inf buckets of their own. Buckets hold weights,
so merging two sketches adds two sparse vectors: exact for counts, and for float weights equal up
to the order of additions. Keys are those of ``ddsketch.mapping.LogarithmicMapping`` (checked
against it in the tests).

Every bucket also has an *ordinal*, an integer that orders buckets by the values they hold:
−inf < negative buckets (by descending key) < zero < positive buckets (by ascending key) < +inf.
Merging and quantiles work on ordinals (see ``accumulate.Table``).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

RELATIVE_ACCURACY = 0.01

# |key| < 36,000 for every positive float64 at α = 0.01; ordinals keep the sides apart.
SIDE_OFFSET = 100_000
INF_ORDINAL = 200_000
ORDINAL_SPAN = 2 * INF_ORDINAL + 1  # ordinals lie in [-INF_ORDINAL, INF_ORDINAL]


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
        scaled = np.log2(magnitudes)
        scaled *= self.multiplier
        return np.ceil(scaled, out=scaled).astype(np.int64)

    def values(self, keys: np.ndarray) -> np.ndarray:
        """The value representing each bucket: 2γᵏ / (1 + γ)."""
        return np.power(2.0, keys / self.multiplier) * (2.0 / (1 + self.gamma))


MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
NO_KEYS = np.empty(0, np.int64)
NO_WEIGHTS = np.empty(0, np.float64)


def bucket(
    keys: np.ndarray, weights: np.ndarray | None, bounds: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse (sorted keys, summed weights) of values already mapped to keys (whose smallest and
    largest key are ``bounds``, when known)."""
    if keys.size == 0:
        return NO_KEYS, NO_WEIGHTS
    low, high = bounds if bounds is not None else (int(keys.min()), int(keys.max()))
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
        return cls(NO_KEYS, NO_WEIGHTS, NO_KEYS, NO_WEIGHTS)

    @classmethod
    def of(
        cls, values: np.ndarray, weights: np.ndarray | None = None, bounds: tuple[float, float] | None = None
    ) -> Sketch:
        """The sketch of ``values`` (no NaN) with positive ``weights`` (None: weight 1 each);
        ``bounds`` are their minimum and maximum, when known."""
        if values.size == 0:
            return cls.empty()
        tiny = MAPPING.min_possible
        low, high = bounds if bounds is not None else (float(values.min()), float(values.max()))
        if low > tiny and high < math.inf:  # the usual case: every loss positive and finite
            # The mapping is monotone: the extreme values give the extreme keys.
            extremes = MAPPING.keys(np.array([low, high]))
            keys, sums = bucket(MAPPING.keys(values), weights, (int(extremes[0]), int(extremes[1])))
            return cls(keys, sums, NO_KEYS, NO_WEIGHTS)

        def weight_of(mask: np.ndarray) -> float:
            return float(np.count_nonzero(mask) if weights is None else weights[mask].sum())

        def side(mask: np.ndarray, magnitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if not mask.any():
                return NO_KEYS, NO_WEIGHTS
            return bucket(MAPPING.keys(magnitudes[mask]), None if weights is None else weights[mask])

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

    def ordinals(self) -> tuple[np.ndarray, np.ndarray]:
        """(ordinals, weights) of every non-empty bucket, the fixed ones included, in value order."""
        fixed = [(-INF_ORDINAL, self.neginf), (0, self.zero), (INF_ORDINAL, self.posinf)]
        present = [(o, w) for o, w in fixed if w]
        ordinals = np.concatenate(
            [
                -SIDE_OFFSET - self.negative_keys[::-1],
                SIDE_OFFSET + self.positive_keys,
                np.array([o for o, _ in present], np.int64),
            ]
        )
        weights = np.concatenate(
            [
                self.negative_weights[::-1],
                self.positive_weights,
                np.array([w for _, w in present], np.float64),
            ]
        )
        order = np.argsort(ordinals, kind="stable")
        return ordinals[order], weights[order]

    @classmethod
    def from_ordinals(cls, ordinals: np.ndarray, weights: np.ndarray) -> Sketch:
        """The sketch of buckets given by ordinals (ascending) and weights (> 0)."""
        negative = (ordinals > -INF_ORDINAL) & (ordinals < 0)
        positive = (ordinals > 0) & (ordinals < INF_ORDINAL)

        def fixed(ordinal: int) -> float:
            return float(weights[ordinals == ordinal].sum())

        return cls(
            ordinals[positive] - SIDE_OFFSET,
            weights[positive],
            (-SIDE_OFFSET - ordinals[negative])[::-1],
            weights[negative][::-1],
            zero=fixed(0),
            posinf=fixed(INF_ORDINAL),
            neginf=fixed(-INF_ORDINAL),
        )


def representatives(ordinals: np.ndarray) -> np.ndarray:
    """The value each bucket stands for, by ordinal."""
    out = np.zeros(ordinals.shape, np.float64)
    positive = (ordinals > 0) & (ordinals < INF_ORDINAL)
    negative = (ordinals < 0) & (ordinals > -INF_ORDINAL)
    out[positive] = MAPPING.values(ordinals[positive] - SIDE_OFFSET)
    out[negative] = -MAPPING.values(-SIDE_OFFSET - ordinals[negative])
    out[ordinals == INF_ORDINAL] = math.inf
    out[ordinals == -INF_ORDINAL] = -math.inf
    return out
