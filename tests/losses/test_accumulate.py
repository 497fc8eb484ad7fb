"""Mergeable accumulators: exact merges of moments, DDSketch buckets, quantiles within α.

References: the ``ddsketch`` package (DataDog's reference implementation of DDSketch) for bucket
keys and bucket contents; ``np.quantile(..., method="inverted_cdf", weights=...)`` for quantiles;
``evaluate`` on the concatenated batches for every other figure.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping as ReferenceMapping
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from service.losses import registry
from service.losses.accumulate import RELATIVE_ACCURACY, Accumulator, merge_all
from service.losses.evaluate import LossSpec, Options, evaluate
from service.losses.sketch import MAPPING, Sketch
from service.losses.stats import QUANTILES

from .inputs import sample
from .test_common import CASES

ALPHA = RELATIVE_ACCURACY
REDUCTIONS = ("mean", "sum", "sum_over_batch_size")


def accumulator(values: np.ndarray, weights: np.ndarray | None = None) -> Accumulator:
    """The accumulator of plain values, as evaluate builds it for a loss with fᵢ = 1."""
    total = float(values.sum() if weights is None else weights @ values)
    weight_sum = float(values.size if weights is None else weights.sum())
    return Accumulator.of(values, weights, total=total, weight_sum=weight_sum)


def buckets(sketch: Sketch) -> dict[tuple[str, int], float]:
    out = {
        ("+", int(k)): float(w) for k, w in zip(sketch.positive_keys, sketch.positive_weights, strict=True)
    }
    out |= {
        ("-", int(k)): float(w) for k, w in zip(sketch.negative_keys, sketch.negative_weights, strict=True)
    }
    out |= {
        (name, 0): w
        for name, w in (("0", sketch.zero), ("+inf", sketch.posinf), ("-inf", sketch.neginf))
        if w
    }
    return out


def assert_close_accumulators(a: Accumulator, b: Accumulator, rel: float = 1e-12) -> None:
    assert (a.count, a.omitted, a.ignored, a.clipped, a.nonfinite) == (
        b.count, b.omitted, b.ignored, b.clipped, b.nonfinite,
    )  # fmt: skip
    assert (a.min, a.max) == (b.min, b.max)
    for name in ("weight_sum", "total", "sum"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=rel, abs=1e-300), name
    # M₂ of (nearly) equal losses is rounding noise of the mean: about (ε·mean)² per sample.
    noise = 1e-20 * (b.sum / b.weight_sum) ** 2 * b.weight_sum if b.weight_sum > 0 else 0.0
    assert a.m2 == pytest.approx(b.m2, rel=rel, abs=max(noise, 1e-300))
    left, right = buckets(a.sketch), buckets(b.sketch)
    assert left.keys() == right.keys()
    for key in left:
        assert left[key] == pytest.approx(right[key], rel=rel)


# ---- the sketch against the ddsketch package ------------------------------------------------------


def test_mapping_is_the_reference_logarithmic_mapping():
    reference = ReferenceMapping(ALPHA)
    assert MAPPING.gamma == reference.gamma
    assert MAPPING.min_possible == reference.min_possible
    rng = np.random.default_rng(1)
    values = np.concatenate(
        [
            10.0 ** rng.uniform(-300, 300, 20_000),
            rng.uniform(0.5, 2.0, 20_000),
            [reference.min_possible * 1.0001, 1.0, 2.0, 1e308, reference.gamma, reference.gamma**7],
        ]
    )
    keys = MAPPING.keys(values)
    assert keys.tolist() == [reference.key(float(v)) for v in values]
    representatives = MAPPING.values(keys[:2000])
    assert representatives.tolist() == pytest.approx(
        [reference.value(int(k)) for k in keys[:2000]], rel=1e-15
    )
    # The guarantee behind every quantile: a bucket's value is within α of every value in it.
    assert np.all(np.abs(MAPPING.values(keys) - values) <= ALPHA * values * (1 + 1e-12))


@given(
    arrays(
        np.float64,
        st.integers(1, 300),
        elements=st.one_of(
            st.floats(-1e12, 1e12, allow_nan=False),
            st.sampled_from([0.0, -0.0, 1e-310, -1e-310, math.inf, 1.0, 1.0 + 1e-12]),
        ),
    )
)
@settings(max_examples=150, deadline=None)
def test_buckets_equal_the_reference_ddsketch(values):
    reference = DDSketch(ALPHA)
    finite = values[np.isfinite(values)]
    for value in finite:
        reference.add(float(value))
    ours = Sketch.of(values)
    expected = {
        ("+", k + reference._store.offset): float(c) for k, c in enumerate(reference._store.bins) if c
    }
    expected |= {
        ("-", k + reference._negative_store.offset): float(c)
        for k, c in enumerate(reference._negative_store.bins)
        if c
    }
    if reference._zero_count:
        expected[("0", 0)] = float(reference._zero_count)
    if np.any(values == math.inf):
        expected[("+inf", 0)] = float(np.count_nonzero(values == math.inf))
    assert buckets(ours) == expected


# ---- quantiles --------------------------------------------------------------------------------


weights_strategy = st.one_of(
    st.none(),
    st.floats(0.0, 100.0, allow_nan=False),
    st.integers(0, 5).map(float),
)


@st.composite
def weighted_values(draw):
    values = draw(
        arrays(
            np.float64,
            st.integers(1, 200),
            elements=st.one_of(
                st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
                st.floats(1e-9, 10.0),
                st.sampled_from([0.0, 1.0, 2.5]),
            ),
        )
    )
    kind = draw(st.sampled_from(["none", "integer", "float"]))
    if kind == "none":
        return values, None
    elements = st.integers(0, 5).map(float) if kind == "integer" else st.floats(0.0, 50.0)
    weights = draw(arrays(np.float64, values.size, elements=elements))
    if not (weights > 0).any():
        weights[0] = 1.0
    return values, weights


def within_alpha(estimate: float, exact: float) -> bool:
    return abs(estimate - exact) <= ALPHA * abs(exact) * (1 + 1e-9) + MAPPING.min_possible


@given(weighted_values())
@settings(max_examples=300, deadline=None)
def test_quantiles_within_alpha_of_numpy_inverted_cdf(data):
    values, weights = data
    summary = accumulator(values, weights).finalize()
    present = values if weights is None else values[weights > 0]
    for q, estimate in zip(QUANTILES, summary.quantiles.values(), strict=True):
        if weights is None:
            exact = float(np.quantile(values, q, method="inverted_cdf"))
        else:
            exact = float(np.quantile(values, q, method="inverted_cdf", weights=weights))
        assert within_alpha(estimate, exact), (q, estimate, exact)
        assert present.min() <= estimate <= present.max()


def test_quantiles_of_infinite_losses_and_of_nothing():
    summary = accumulator(np.array([1.0, math.inf, math.inf, 2.0])).finalize()
    assert summary.quantiles["0.5"] == pytest.approx(2.0, rel=ALPHA) and summary.quantiles["0.9"] == math.inf
    assert summary.max == math.inf and summary.sum == math.inf
    empty = Accumulator.empty().finalize()
    assert empty.count == 0 and math.isnan(empty.value) and math.isnan(empty.quantiles["0.5"])


# ---- merging ----------------------------------------------------------------------------------


@given(weighted_values(), weighted_values(), weighted_values())
@settings(max_examples=150, deadline=None)
def test_merge_is_associative_and_commutative(a, b, c):
    x, y, z = (accumulator(*data) for data in (a, b, c))
    left = x.merge(y).merge(z)
    right = x.merge(y.merge(z))
    assert_close_accumulators(left, right, rel=1e-10)
    assert_close_accumulators(x.merge(y), y.merge(x), rel=1e-12)
    if all(data[1] is None for data in (a, b, c)):  # counts: the merged sketch is exactly the same
        assert buckets(left.sketch) == buckets(right.sketch) == buckets(z.merge(x).merge(y).sketch)


@given(weighted_values(), st.lists(st.integers(0, 200), max_size=6))
@settings(max_examples=200, deadline=None)
def test_merging_splits_equals_the_whole(data, cuts):
    values, weights = data
    edges = sorted({0, values.size, *(c for c in cuts if c < values.size)})
    parts = [
        accumulator(values[lo:hi], None if weights is None else weights[lo:hi])
        for lo, hi in zip(edges, edges[1:], strict=False)
        if hi > lo and (weights is None or weights[lo:hi].sum() > 0)
    ]
    kept = np.concatenate(
        [
            np.arange(lo, hi)
            for lo, hi in zip(edges, edges[1:], strict=False)
            if hi > lo and (weights is None or weights[lo:hi].sum() > 0)
        ]
    )
    whole = accumulator(values[kept], None if weights is None else weights[kept])
    merged = merge_all(parts)
    assert_close_accumulators(merged, whole, rel=1e-9)
    if weights is None:
        assert buckets(merged.sketch) == buckets(whole.sketch)
    a, b = merged.finalize(), whole.finalize()
    for name in ("value", "mean", "sum", "min", "max", "weight_sum"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9, abs=1e-300), name
    assert a.std == pytest.approx(b.std, rel=1e-9, abs=1e-9 * max(abs(b.mean), 1e-300))


def test_chan_update_keeps_the_variance_of_large_close_losses():
    # Σw·l²/W − mean² would lose every digit here; the pairwise update keeps them.
    rng = np.random.default_rng(3)
    values = 1e9 + rng.normal(size=10_000)
    parts = [accumulator(chunk) for chunk in np.array_split(values, 37)]
    assert merge_all(parts).finalize().std == pytest.approx(values.std(), rel=1e-9)


def test_serialization_round_trips_exactly():
    rng = np.random.default_rng(4)
    for values, weights in [
        (rng.normal(size=1000) ** 2, None),
        (rng.normal(size=500), rng.uniform(0, 3, 500)),
        (np.array([0.0, -1.0, math.inf, 5.0]), None),
    ]:
        original = accumulator(values, weights)
        copy = Accumulator.from_bytes(original.to_bytes())
        assert copy.to_bytes() == original.to_bytes()
        assert buckets(copy.sketch) == buckets(original.sketch)
        assert copy.finalize() == original.finalize()
    unweighted = accumulator(rng.normal(size=1000) ** 2)
    # Whole-number weights take 4 bytes a bucket instead of 8.
    assert len(unweighted.to_bytes()) < 140 + 8 * unweighted.sketch.buckets


# ---- against evaluate, over the whole registry ------------------------------------------------


def _batches(name: str, raw: dict, variant: str, k: int = 4):
    definition = registry.get(name)
    params = definition.params(**raw)
    rng = np.random.default_rng(zlib.crc32(repr((name, raw, variant)).encode()))
    batches = []
    for _ in range(k):
        predictions, targets = sample(definition, params, variant, rng)
        batches.append((predictions, targets, rng.uniform(0.0, 2.0, predictions.shape[0])))
    return LossSpec(definition, params), batches


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("name", "raw", "variant"), CASES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_merged_batches_equal_evaluate_on_their_concatenation(name, raw, variant, weighted):
    spec, batches = _batches(name, raw, variant)
    definition = spec.definition
    options = Options(include=frozenset({"stats"}), accumulate=True)
    parts = [evaluate([spec], p, t, w if weighted else None, options)[0].accumulator for p, t, w in batches]
    merged = merge_all([a for a in parts if a is not None])
    predictions = np.concatenate([b[0] for b in batches])
    targets = None if batches[0][1] is None else np.concatenate([b[1] for b in batches])
    weights = np.concatenate([b[2] for b in batches]) if weighted else None
    for reduction in definition.reductions:
        if reduction == "none":
            continue
        (whole,) = evaluate([spec], predictions, targets, weights, Options(reduction=reduction))
        summary = merged.finalize(reduction, definition.transform)
        assert _close(summary.value, whole.value), (reduction, summary.value, whole.value)
        assert summary.count == whole.count and _close(summary.weight_sum, whole.weight_sum)
        assert (summary.omitted, summary.ignored, summary.clipped) == (
            whole.omitted,
            whole.ignored,
            whole.clipped,
        )
        stats = whole.stats
        assert stats is not None
        for field in ("mean", "min", "max", "sum"):
            assert _close(getattr(summary, field), getattr(stats, field)), field
        assert summary.std == pytest.approx(stats.std, rel=1e-9, abs=1e-12 * max(1.0, abs(stats.mean)))
        for q, exact in stats.quantiles.items():
            assert within_alpha(summary.quantiles[q], exact), (q, summary.quantiles[q], exact)


@pytest.mark.parametrize("policy", ["omit", "propagate"])
def test_nan_policy_merges_as_evaluate_on_the_concatenation(policy):
    spec = LossSpec(registry.get("huber"), registry.get("huber").params(delta=0.5))
    rng = np.random.default_rng(5)
    batches = [(rng.normal(size=(8, 2)), rng.normal(size=(8, 2))) for _ in range(3)]
    batches[1][0][3, 1] = math.nan
    batches[2][1][0, 0] = math.inf
    options = Options(nan_policy=policy, accumulate=True)
    merged = merge_all([evaluate([spec], p, t, None, options)[0].accumulator for p, t in batches])  # type: ignore[misc]
    (whole,) = evaluate(
        [spec],
        np.concatenate([b[0] for b in batches]),
        np.concatenate([b[1] for b in batches]),
        None,
        Options(nan_policy=policy),
    )
    summary = merged.finalize()
    assert (summary.count, summary.omitted) == (whole.count, whole.omitted)
    if policy == "omit":
        assert summary.omitted == 2 and summary.value == pytest.approx(whole.value, rel=1e-12)
        assert summary.std == pytest.approx(whole.stats.std, rel=1e-9)  # type: ignore[union-attr]
    else:
        assert math.isnan(summary.value) and math.isnan(summary.weight_sum) and math.isnan(summary.mean)
        assert whole.value is not None and math.isnan(whole.value)


def test_negative_and_zero_losses():
    spec = LossSpec(registry.get("cosine_similarity"), registry.get("cosine_similarity").params())
    rng = np.random.default_rng(6)
    p, t = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    p[0] = 0.0  # a zero row: loss 0
    options = Options(accumulate=True)
    parts = [
        evaluate([spec], p[i : i + 10], t[i : i + 10], None, options)[0].accumulator for i in range(0, 40, 10)
    ]
    merged = merge_all([a for a in parts if a is not None])
    (whole,) = evaluate([spec], p, t, None, Options())
    assert merged.sketch.negative_keys.size and merged.sketch.zero == 1.0
    summary = merged.finalize()
    assert summary.value == pytest.approx(whole.value, rel=1e-12) and summary.min == whole.stats.min  # type: ignore[union-attr]
    for q, exact in whole.stats.quantiles.items():  # type: ignore[union-attr]
        assert within_alpha(summary.quantiles[q], exact)
