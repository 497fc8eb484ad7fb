"""Summary statistics: weighted moments, inverted-CDF quantiles, worst rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from service.losses.stats import QUANTILES, SORT_UP_TO, describe, summarize, top_rows

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, st.integers(1, 60), elements=finite))
@settings(max_examples=100, deadline=None)
def test_unweighted_equals_numpy(values):
    stats = summarize(values, None, np.arange(values.size), top_k=3)
    assert stats.mean == pytest.approx(values.mean(), rel=1e-9, abs=1e-9)
    assert stats.std == pytest.approx(values.std(), rel=1e-7, abs=1e-6)
    assert (stats.min, stats.max) == (values.min(), values.max())
    expected = np.quantile(values, QUANTILES, method="inverted_cdf")
    assert list(stats.quantiles.values()) == list(expected)


@given(
    arrays(np.float64, st.integers(1, 30), elements=finite),
    st.data(),
)
@settings(max_examples=100, deadline=None)
def test_integer_weights_equal_repetition(values, data):
    counts = np.array(data.draw(st.lists(st.integers(0, 4), min_size=values.size, max_size=values.size)))
    if counts.sum() == 0:
        counts[0] = 1
    weighted = summarize(values, counts.astype(float), np.arange(values.size), top_k=0)
    repeated = np.repeat(values, counts)
    assert list(weighted.quantiles.values()) == list(np.quantile(repeated, QUANTILES, method="inverted_cdf"))
    assert weighted.mean == pytest.approx(repeated.mean(), rel=1e-9, abs=1e-9)
    assert weighted.min == repeated.min() and weighted.max == repeated.max()


def test_top_rows_largest_first_ties_by_lower_index():
    values = np.array([1.0, 3.0, 2.0, 3.0, math.nan, 0.5])
    assert top_rows(values, np.arange(6), 3)[0][0] == 4  # unknown (NaN) first
    assert [i for i, _ in top_rows(values[:4], np.arange(4), 3)] == [1, 3, 2]
    assert [i for i, _ in top_rows(np.full(5, 2.0), np.arange(5), 2)] == [0, 1]
    assert top_rows(values, np.arange(6), 0) == []
    assert len(top_rows(values, np.arange(6), 100)) == 6


def test_zero_weights_are_absent():
    stats = summarize(np.array([100.0, 1.0, 2.0]), np.array([0.0, 1.0, 1.0]), np.arange(3), top_k=5)
    assert stats.max == 2.0 and [i for i, _ in stats.top] == [2, 1]


def test_describe_counts_non_finite():
    summary = describe(np.array([[1.0, np.nan], [3.0, np.inf]]))
    assert (summary.mean, summary.min, summary.max) == (2.0, 1.0, 3.0)
    assert summary.count == 4 and summary.non_finite == 2


@pytest.mark.parametrize("n", [SORT_UP_TO + 1, 20_000])
@pytest.mark.parametrize("kind", ["continuous", "ties"])
def test_large_arrays_take_the_partition_path(n, kind):
    rng = np.random.default_rng(n)
    values = rng.exponential(size=n) if kind == "continuous" else rng.integers(0, 5, size=n).astype(float)
    stats = summarize(values, None, np.arange(n), top_k=7)
    assert list(stats.quantiles.values()) == list(np.quantile(values, QUANTILES, method="inverted_cdf"))
    assert (stats.min, stats.max) == (values.min(), values.max())
    assert stats.std == pytest.approx(values.std(), rel=1e-12)
    expected = sorted(range(n), key=lambda i: (-values[i], i))[:7]
    assert [i for i, _ in stats.top] == expected


def test_std_stays_exact_when_the_mean_dwarfs_the_spread():
    values = 1e8 + np.random.default_rng(0).normal(size=5000)
    assert summarize(values, None, np.arange(5000), 0).std == pytest.approx(values.std(), rel=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
def test_losses_near_the_float64_limit(weighted):
    values = np.array([1e200, 3e200, 2e200, 4e200])
    weights = np.ones(4) if weighted else None
    stats = summarize(values, weights, np.arange(4), top_k=1)
    assert stats.mean == pytest.approx(2.5e200) and stats.std == pytest.approx(np.sqrt(1.25) * 1e200)
    assert stats.top == [(3, 4e200)]
