"""Ranking losses: closed forms, kinks, rows that do not count, and relations to other losses.

PyTorch's, Optax's and rax's numbers are in tests/reference/{torch,optax}_ranking.json.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from service.losses.errors import InvalidInput, TooLarge

from .helpers import evaluate_loss

run = functools.partial(evaluate_loss, reduction="none")


def test_margin_ranking_closed_form_and_its_kink():
    pairs = np.array([[2.0, 1.0], [2.0, 1.0], [0.5, 0.5], [0.0, 3.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    result = run("margin_ranking", pairs, y, margin=0.5)
    np.testing.assert_allclose(result.per_sample, [0.0, 1.5, 0.5, 0.0])
    # Active rows (and row 2's kink would be active too): (-y, +y); row 0 and 3 are inactive.
    np.testing.assert_array_equal(result.gradient, [[0, 0], [1, -1], [-1, 1], [0, 0]])
    kink = run("margin_ranking", [[0.5, 0.5]], [1.0])
    assert kink.per_sample[0] == 0.0
    np.testing.assert_array_equal(kink.gradient, [[-1.0, 1.0]])  # torch's clamp_min passes it
    assert [g.key for g in run("margin_ranking", pairs, y).breakdown.groups] == [-1, 1]


def test_pairwise_losses_average_over_the_ordered_pairs_only():
    s = np.array([[3.0, 1.0, 2.0]])
    t = np.array([[2.0, 0.0, 0.0]])  # pairs (0, 1) and (0, 2); the tie (1, 2) does not count
    hinge = run("pairwise_hinge", s, t)
    assert hinge.per_sample[0] == pytest.approx((0.0 + 0.0) / 2)
    tight = run("pairwise_hinge", s, t, margin=1.5)
    assert tight.per_sample[0] == pytest.approx((0.0 + 0.5) / 2)
    np.testing.assert_allclose(tight.gradient, [[-0.5, 0.0, 0.5]])
    logistic = run("pairwise_logistic", s, t)
    expected = (np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0))) / 2
    assert logistic.per_sample[0] == pytest.approx(expected, rel=1e-15)


def test_two_item_ranknet_is_the_soft_margin_of_the_difference():
    rng = np.random.default_rng(1)
    s, t = rng.normal(size=(20, 2)) * 5, rng.uniform(size=(20, 2))
    ranknet = run("pairwise_logistic", s, t)
    sign = np.where(t[:, 0] > t[:, 1], 1.0, -1.0)
    soft = run("soft_margin", s[:, 0] - s[:, 1], sign)
    np.testing.assert_allclose(ranknet.per_sample, soft.per_sample, rtol=1e-15)


def test_listnet_is_cross_entropy_against_the_normalised_relevance():
    rng = np.random.default_rng(2)
    s, t = rng.normal(size=(8, 5)) * 3, rng.integers(0, 4, size=(8, 5)).astype(float)
    t[0] = [0, 0, 0, 0, 1.0]
    w = rng.uniform(0.5, 2.0, size=8)
    listnet = run("ranking_softmax", s, t, w, reduction="mean", normalize=True)
    q = t / t.sum(axis=1, keepdims=True)
    cross_entropy = run("cross_entropy", s, q, w, reduction="mean", input="logits")
    assert listnet.value == pytest.approx(cross_entropy.value, rel=1e-13)
    np.testing.assert_allclose(listnet.gradient, cross_entropy.gradient, rtol=1e-12, atol=1e-16)
    # Without normalize the loss scales with the row's total relevance.
    plain = run("ranking_softmax", s, t)
    np.testing.assert_allclose(plain.per_sample, listnet.per_sample * t.sum(axis=1), rtol=1e-13)


def test_rows_that_do_not_count_are_left_out_of_everything():
    s = np.array([[1.0, 0.0], [5.0, 2.0], [0.3, 0.1]])
    t = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    w = np.array([1.0, 10.0, 3.0])
    result = evaluate_loss("pairwise_logistic", s, t, w)
    assert result.ignored == 1 and result.count == 2 and result.weight_sum == 4.0
    assert result.per_sample[1] == 0.0 and np.all(result.gradient[1] == 0.0)
    expected = (np.log1p(np.exp(-1.0)) + 3 * np.log1p(np.exp(0.2))) / 4  # row 2 ranks item 1 first
    assert result.value == pytest.approx(expected, rel=1e-14)
    assert result.stats.top[-1][0] != 1 and len(result.stats.top) == 2


def test_scores_of_a_thousand_stay_exact():
    s = np.array([[-1000.0, 1000.0]])
    t = np.array([[1.0, 0.0]])
    assert run("pairwise_logistic", s, t).per_sample[0] == 2000.0
    assert run("ranking_softmax", s, t).per_sample[0] == 2000.0
    np.testing.assert_array_equal(run("ranking_softmax", s, t).gradient, [[-1.0, 1.0]])


@given(
    scores=hnp.arrays(np.float64, (3, 4), elements=st.floats(-50, 50)),
    relevance=hnp.arrays(np.float64, (3, 4), elements=st.sampled_from([0.0, 1.0, 2.0])),
    shift=st.floats(-100, 100),
)
@settings(max_examples=60, deadline=None)
def test_list_losses_depend_on_score_differences_only(scores, relevance, shift):
    for name in ("pairwise_logistic", "pairwise_hinge", "ranking_softmax"):
        base = run(name, scores, relevance)
        shifted = run(name, scores + shift, relevance)
        np.testing.assert_allclose(shifted.per_sample, base.per_sample, rtol=1e-9, atol=1e-9)
        # Every list's gradient sums to 0: adding a constant to a list changes nothing.
        np.testing.assert_allclose(base.gradient.sum(axis=1), 0.0, atol=1e-12)


def test_shapes_and_relevance_are_checked():
    with pytest.raises(InvalidInput, match=r"predictions must have shape \(N, L\)"):
        run("pairwise_hinge", [1.0, 2.0], [1.0, 0.0])
    with pytest.raises(InvalidInput, match=r"targets\[0\]\[1\] = -1.0 is outside \[0.0, inf\): relevance"):
        run("ranking_softmax", [[1.0, 2.0]], [[1.0, -1.0]])
    with pytest.raises(InvalidInput, match=r"targets\[1\] = 0.5 is not one of \{-1, 1\}"):
        run("margin_ranking", [[1.0, 2.0], [0.0, 0.0]], [1.0, 0.5])
    with pytest.raises(TooLarge, match="2 lists of 2048 items"):
        run("pairwise_logistic", np.zeros((2, 2048)), np.zeros((2, 2048)))
