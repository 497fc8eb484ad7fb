"""Similarity and overlap losses: closed forms, dice = tversky(0.5, 0.5), the role of alpha and beta.

Keras's and PyTorch's numbers are in tests/reference/{keras,torch}_similarity.json.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from service.losses.errors import InvalidInput

from .helpers import evaluate_loss

run = functools.partial(evaluate_loss, reduction="none")


@pytest.fixture
def masks():
    rng = np.random.default_rng(21)
    p = rng.uniform(0, 1, size=(12, 5))
    y = (rng.uniform(size=(12, 5)) > 0.5).astype(float)
    y[0] = 0.0
    y[1] = rng.uniform(size=5)  # soft target
    return p, y


# --- cosine_similarity ---


def test_cosine_closed_forms():
    p = np.array([[1.0, 2.0, 2.0], [-2.0, -4.0, -4.0], [2.0, -1.0, 0.0], [3.0, 0.0, 4.0]])
    y = np.array([[2.0, 4.0, 4.0], [1.0, 2.0, 2.0], [1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])
    result = run("cosine_similarity", p, y)
    np.testing.assert_allclose(result.per_sample, [-1.0, 1.0, 0.0, -0.8], rtol=1e-15, atol=1e-16)
    # Row 3: |p| = 5, cos = 0.8: ∂l/∂p = −(ŷ − cos p̂)/|p|.
    np.testing.assert_allclose(result.gradient[3], -(np.array([0, 0, 1.0]) - 0.8 * p[3] / 5) / 5, rtol=1e-14)
    np.testing.assert_allclose(result.gradient[0], 0.0, atol=1e-16)  # at the minimum


def test_cosine_is_scale_invariant_and_its_gradient_orthogonal_to_the_prediction():
    rng = np.random.default_rng(1)
    p, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    base = run("cosine_similarity", p, y)
    scaled = run("cosine_similarity", 7.5 * p, 0.25 * y)
    np.testing.assert_allclose(scaled.per_sample, base.per_sample, rtol=1e-14)
    np.testing.assert_allclose((base.gradient * p).sum(axis=1), 0.0, atol=1e-15)


def test_cosine_zero_and_tiny_rows_follow_keras_epsilon():
    y = np.array([[1.0, 2.0, -2.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    p = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1e-9, 2e-9, 0.0]])
    result = run("cosine_similarity", p, y)
    # Zero prediction or target rows: loss 0 (Keras: "cosine similarity will be 0").
    np.testing.assert_array_equal(result.per_sample[:2], [0.0, 0.0])
    # Below epsilon the norm is epsilon: l = −p·ŷ/ε and ∂l/∂p = −ŷ/ε, finite.
    assert result.per_sample[2] == pytest.approx(-1e-9 / 1e-7, rel=1e-14)
    np.testing.assert_allclose(result.gradient[0], -y[0] / 3 / 1e-7, rtol=1e-14)
    np.testing.assert_array_equal(result.gradient[1], 0.0)
    np.testing.assert_allclose(result.gradient[2], [-1e7, 0.0, 0.0], rtol=1e-14)


def test_cosine_needs_rows():
    with pytest.raises(InvalidInput, match=r"predictions must have shape \(N, D\)"):
        run("cosine_similarity", [1.0, 2.0], [1.0, 2.0])
    with pytest.raises(InvalidInput, match="same shape"):
        run("cosine_similarity", np.ones((2, 3)), np.ones((2, 2)))


# --- dice and tversky ---


def test_dice_closed_form(masks):
    p, y = masks
    result = run("dice", p, y)
    expected = 1 - 2 * (p * y).sum(axis=1) / (p.sum(axis=1) + y.sum(axis=1) + 1e-7)
    np.testing.assert_allclose(result.per_sample, expected, rtol=1e-15)
    assert result.per_sample[0] == 1.0  # an empty target shares nothing
    perfect = run("dice", y, y, epsilon=1e-12).per_sample
    np.testing.assert_allclose(perfect[2:], 0.0, atol=1e-11)


@pytest.mark.parametrize("epsilon", [1e-7, 0.5])
def test_dice_is_tversky_at_one_half_with_half_the_epsilon(masks, epsilon):
    p, y = masks
    w = np.linspace(0.5, 2.0, len(p))
    dice = run("dice", p, y, w, reduction="mean", epsilon=epsilon)
    tversky = run("tversky", p, y, w, reduction="mean", alpha=0.5, beta=0.5, epsilon=epsilon / 2)
    assert dice.value == pytest.approx(tversky.value, rel=1e-14)
    np.testing.assert_allclose(dice.per_sample, tversky.per_sample, rtol=1e-14)
    np.testing.assert_allclose(dice.gradient, tversky.gradient, rtol=1e-12, atol=1e-15)
    # With the same epsilon they differ, in the epsilon term only.
    same = run("tversky", p, y, w, reduction="mean", epsilon=epsilon)
    assert same.value != dice.value
    assert same.value == pytest.approx(dice.value, abs=epsilon)


def test_tversky_alpha_weighs_missed_target_mass_and_beta_extra_mass():
    """Keras's convention: alpha multiplies sum (1 - p) y, beta multiplies sum p (1 - y)."""
    y = np.array([[1.0, 1.0, 0.0, 0.0]])
    missing = np.array([[1.0, 0.0, 0.0, 0.0]])  # misses half the target, predicts nothing extra
    extra = np.array([[1.0, 1.0, 1.0, 0.0]])  # covers the target, predicts one extra element
    eps = 1e-7
    only_alpha = {"alpha": 1.0, "beta": 0.0}
    only_beta = {"alpha": 0.0, "beta": 1.0}
    assert run("tversky", missing, y, **only_alpha).per_sample[0] == pytest.approx(1 - 1 / (2 + eps))
    assert run("tversky", missing, y, **only_beta).per_sample[0] == pytest.approx(1 - 1 / (1 + eps))
    assert run("tversky", extra, y, **only_alpha).per_sample[0] == pytest.approx(1 - 2 / (2 + eps))
    assert run("tversky", extra, y, **only_beta).per_sample[0] == pytest.approx(1 - 2 / (3 + eps))


def test_tversky_closed_form_and_gradient(masks):
    p, y = masks
    a, b, eps = 0.7, 0.3, 1e-7
    result = run("tversky", p, y, reduction="sum", alpha=a, beta=b)
    i = (p * y).sum(axis=1)
    t = i + a * ((1 - p) * y).sum(axis=1) + b * (p * (1 - y)).sum(axis=1) + eps
    np.testing.assert_allclose(result.per_sample, 1 - i / t, rtol=1e-14)
    d_t = (1 - a) * y + b * (1 - y)
    expected = -(y * t[:, None] - i[:, None] * d_t) / t[:, None] ** 2
    np.testing.assert_allclose(result.gradient, expected, rtol=1e-13)


@pytest.mark.parametrize("name", ["dice", "tversky"])
def test_overlap_losses_need_values_in_the_unit_interval(name):
    with pytest.raises(InvalidInput, match=r"predictions\[1\]\[2\] = 1.5 is outside \[0.0, 1.0\]"):
        run(name, [[0.0, 0.5, 1.0], [0.2, 0.1, 1.5]], np.zeros((2, 3)))
    with pytest.raises(InvalidInput, match=r"targets\[0\]\[0\] = -1.0 is outside \[0.0, 1.0\]"):
        run(name, np.zeros((2, 3)), [[-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
