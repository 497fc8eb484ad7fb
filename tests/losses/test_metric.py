"""Metric-learning losses: label conventions, where eps goes, the distance swap, invariances.

PyTorch's and Optax's numbers are in tests/reference/{torch,optax}_metric.json.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from service.losses.errors import InvalidInput

from .helpers import evaluate_loss

run = functools.partial(evaluate_loss, reduction="none")
EMBEDDINGS = hnp.arrays(np.float64, (4, 3, 5), elements=st.floats(-100, 100))


def test_contrastive_label_one_means_same():
    d = np.array([0.5, 0.5, 1.5, 0.0])
    y = np.array([1.0, 0.0, 0.0, 0.0])
    result = run("contrastive", d, y)
    # Same pair: d^2 (no 1/2); different pair: max(0, 1 - d)^2, zero beyond the margin.
    np.testing.assert_allclose(result.per_sample, [0.25, 0.25, 0.0, 1.0])
    np.testing.assert_allclose(result.gradient, [1.0, -1.0, 0.0, -2.0])
    assert {g.key: g.count for g in result.breakdown.groups} == {0: 3, 1: 1}


def test_cosine_embedding_is_one_minus_the_cosine_for_same_pairs():
    rng = np.random.default_rng(3)
    pairs = rng.normal(size=(10, 2, 4))
    same = run("cosine_embedding", pairs, np.ones(10))
    similarity = run("cosine_similarity", pairs[:, 0], pairs[:, 1])
    np.testing.assert_allclose(same.per_sample, 1.0 + similarity.per_sample, rtol=1e-10)
    np.testing.assert_allclose(same.gradient[:, 0], similarity.gradient, rtol=1e-9)
    different = run("cosine_embedding", pairs, -np.ones(10), margin=0.2)
    np.testing.assert_allclose(
        different.per_sample, np.maximum(-similarity.per_sample - 0.2, 0.0), rtol=1e-10
    )


def test_a_zero_embedding_has_cosine_zero_and_a_finite_gradient():
    pairs = np.array([[[0.0, 0.0], [3.0, 4.0]]])
    result = run("cosine_embedding", pairs, [1.0])
    assert result.per_sample[0] == 1.0
    assert np.isfinite(result.gradient).all()
    # d(1 - cos)/dx1 = -x2 / sqrt((0 + 1e-12)(25 + 1e-12)), torch's float32 1e-12.
    eps = float(np.float32(1e-12))
    np.testing.assert_allclose(result.gradient[0, 0], -pairs[0, 1] / np.sqrt(eps * (25 + eps)), rtol=1e-14)


def test_triplet_eps_goes_into_every_difference():
    anchor = np.array([1.0, 2.0, 3.0])
    triplet = np.stack([anchor, anchor, anchor + 2.0])[None]
    result = run("triplet_margin", triplet, None, p=2.0, eps=1e-6, margin=1.0)
    d_ap = np.sqrt(3) * 1e-6  # |a - a + eps| = eps * sqrt(D)
    d_an = np.sqrt(3) * (2.0 - 1e-6)
    assert result.per_sample[0] == pytest.approx(max(d_ap - d_an + 1.0, 0.0))
    close = np.stack([anchor, anchor, anchor + 0.1])[None]
    hinge = run("triplet_margin", close, None)
    assert hinge.per_sample[0] == pytest.approx(np.sqrt(3) * (1e-6 - (0.1 - 1e-6)) + 1.0, rel=1e-12)
    # The positive sits on the anchor, yet the gradient is finite: (a - p + eps)/|.| = 1/sqrt(3).
    np.testing.assert_allclose(hinge.gradient[0, 1], -np.full(3, 1 / np.sqrt(3)), rtol=1e-12)
    # Without eps the distance is 0 and its gradient is 0, as torch's norm.
    exact = run("triplet_margin", close, None, eps=0.0)
    np.testing.assert_array_equal(exact.gradient[0, 1], 0.0)


def test_triplet_swap_uses_the_nearer_of_the_two_negatives_distances():
    triplet = np.array([[[0.0, 0.0], [3.0, 0.0], [4.0, 0.0]]])  # d(a, n) = 4, d(p, n) = 1
    plain = run("triplet_margin", triplet, None, eps=0.0)
    swapped = run("triplet_margin", triplet, None, eps=0.0, swap=True)
    assert plain.per_sample[0] == pytest.approx(0.0)
    assert swapped.per_sample[0] == pytest.approx(3.0 - 1.0 + 1.0)
    np.testing.assert_allclose(swapped.gradient[0], [[-1.0, 0.0], [2.0, 0.0], [-1.0, 0.0]])


def test_triplet_p_norms():
    triplet = np.array([[[0.0, 0.0], [1.0, -2.0], [3.0, 4.0]]])
    l1 = run("triplet_margin", triplet, None, p=1.0, eps=0.0, margin=5.0)
    assert l1.per_sample[0] == pytest.approx(3.0 - 7.0 + 5.0)
    np.testing.assert_allclose(l1.gradient[0, 0], [-1.0, 1.0] - np.array([-1.0, -1.0]))
    l3 = run("triplet_margin", triplet * 1e200, None, p=3.0, eps=0.0, margin=0.0)
    assert np.isfinite(l3.gradient).all()  # scaled before the powers: no overflow


@given(EMBEDDINGS, hnp.arrays(np.float64, (5,), elements=st.floats(-100, 100)))
@settings(max_examples=50, deadline=None)
def test_triplet_invariances(triplets, shift):
    plain = run("triplet_margin", triplets, None)
    # The same translation of anchor, positive and negative changes no difference.
    moved = run("triplet_margin", triplets + shift, None)
    np.testing.assert_allclose(moved.per_sample, plain.per_sample, rtol=1e-9, atol=1e-9)
    # The swap can only bring the negative nearer.
    assert np.all(run("triplet_margin", triplets, None, swap=True).per_sample >= plain.per_sample)
    # What the anchor, the positive and the negative gain sums to 0.
    np.testing.assert_allclose(plain.gradient.sum(axis=1), 0.0, atol=1e-12)


def test_labels_and_shapes_are_checked():
    with pytest.raises(InvalidInput, match=r"targets\[1\] = 2.0 is not one of \{0, 1\}"):
        run("contrastive", [0.1, 0.2], [1.0, 2.0])
    with pytest.raises(InvalidInput, match=r"predictions\[0\] = -0.1 is outside \[0.0, inf\)"):
        run("contrastive", [-0.1, 0.2], [1.0, 0.0])
    with pytest.raises(InvalidInput, match=r"targets\[0\] = 0.0 is not one of \{-1, 1\}"):
        run("cosine_embedding", np.ones((1, 2, 3)), [0.0])
    with pytest.raises(InvalidInput, match=r"predictions must have shape \(N, 3, D\)"):
        run("triplet_margin", np.ones((2, 2, 3)), None)
