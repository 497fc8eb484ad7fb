"""binary_focal and brier: relations, closed forms, extremes, and scikit-learn's brier_score_loss.

The per-library reference cases (Keras, Optax) are in tests/reference/*_binary.json; these tests
check what a reference file cannot: relations between losses, the behaviour at the edges of the
input spaces, and scikit-learn computed in the test itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from service.losses import registry
from service.losses.errors import InvalidInput

from .helpers import evaluate_loss

run = evaluate_loss


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --- binary_focal -------------------------------------------------------------------------------

PROBABILITIES = [0.0, 1.0, 1e-300, 0.2, 0.5, 0.7, 1.0 - 1e-12, 0.999]
PROB_TARGETS = [1.0, 0.0, 1.0, 0.0, 1.0, 0.3, 1.0, 0.0]
LOGITS = [1000.0, -1000.0, 1000.0, -1000.0, 0.0, 2.5, -40.0, 700.0]
LOGIT_TARGETS = [1.0, 1.0, 0.0, 0.3, 1.0, 0.0, 0.8, 1.0]


@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_focal_with_gamma_0_is_binary_cross_entropy(from_logits, label_smoothing, reduction):
    p = LOGITS if from_logits else PROBABILITIES
    t = LOGIT_TARGETS if from_logits else PROB_TARGETS
    weights = np.linspace(0.5, 2.0, len(p))
    options = {"from_logits": from_logits, "label_smoothing": label_smoothing}
    focal = run("binary_focal", p, t, weights, reduction, gamma=0.0, **options)
    bce = run("binary_cross_entropy", p, t, weights, reduction, **options)
    if reduction != "none":
        assert focal.value == pytest.approx(bce.value, rel=1e-14)
    np.testing.assert_allclose(focal.per_sample, bce.per_sample, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(focal.gradient, bce.gradient, rtol=1e-12, atol=1e-15)
    assert focal.clipped == bce.clipped


def test_focal_closed_forms():
    # l = a_t (1 - p_t)^gamma bce at a few points, written out by hand.
    p, y = [0.9, 0.2, 0.5], [1.0, 1.0, 0.0]
    expected = [0.1**2 * -math.log(0.9), 0.8**2 * -math.log(0.2), 0.5**2 * -math.log(0.5)]
    result = run("binary_focal", p, y, reduction="none")
    np.testing.assert_allclose(result.per_sample, expected, rtol=1e-14)
    balanced = run("binary_focal", p, y, reduction="none", alpha=0.25)
    np.testing.assert_allclose(balanced.per_sample, np.array(expected) * [0.25, 0.25, 0.75], rtol=1e-14)
    # From logits x = 0: p = 1/2, l = (1/2)^gamma log 2.
    for gamma in (0.0, 0.5, 2.0, 3.0):
        at_zero = run("binary_focal", [0.0], [1.0], from_logits=True, gamma=gamma)
        assert at_zero.value == pytest.approx(0.5**gamma * math.log(2.0), rel=1e-15)
    # The gradient in probability space: d/dp [(1 - p)^2 (-log p)] = 2(1 - p) log p - (1 - p)^2 / p.
    g = run("binary_focal", [0.3], [1.0], reduction="sum").gradient
    assert g[0] == pytest.approx(2 * 0.7 * math.log(0.3) - 0.49 / 0.3, rel=1e-14)
    # From logits: d/dx [sigma(-x)^gamma softplus(-x)] at x = 1.3, gamma = 2.
    x = 1.3
    s = _sigmoid(-x)
    expected_gradient = 2 * s * (-s * (1 - s)) * math.log1p(math.exp(-x)) + s**2 * (-s)
    g = run("binary_focal", [x], [1.0], reduction="sum", from_logits=True).gradient
    assert g[0] == pytest.approx(expected_gradient, rel=1e-13)


def test_focal_matches_keras_documentation_example():
    # keras.losses.binary_focal_crossentropy docstring: y_true = [[0, 1], [0, 0]],
    # y_pred = [[0.6, 0.4], [0.4, 0.6]], gamma = 2 -> [0.330, 0.206] (float32, 3 digits).
    result = run("binary_focal", [[0.6, 0.4], [0.4, 0.6]], [[0, 1], [0, 0]], reduction="none", gamma=2.0)
    np.testing.assert_allclose(result.per_sample, [0.330, 0.206], atol=5e-4)


def test_focal_label_smoothing_enters_bce_p_t_and_alpha():
    # Smoothing 0.2 turns y = 1 into 0.9 everywhere, as Keras: focal of y = 0.9 without smoothing.
    p = [0.2, 0.6, 0.95]
    smoothed = run("binary_focal", p, [1.0, 1.0, 1.0], reduction="none", label_smoothing=0.2, alpha=0.3)
    soft = run("binary_focal", p, [0.9, 0.9, 0.9], reduction="none", alpha=0.3)
    np.testing.assert_allclose(smoothed.per_sample, soft.per_sample, rtol=1e-15)
    np.testing.assert_allclose(smoothed.gradient, soft.gradient, rtol=1e-15)


def test_focal_extreme_logits_are_exact():
    # y = 1 at x = -1000: 1 - p_t = sigma(1000) = 1, bce = 1000, gradient sigma(x) - y = -1.
    # y = 1 at x = 1000: 0 and 0. y = 0.3 at x = 1000: bce = 0.7 * 1000, 1 - p_t = 0.7, and the
    # gradient (1 - p_t)^gamma (sigma(x) - y) = 0.7^gamma * 0.7. y = 0 mirrors y = 1.
    x = [-1000.0, 1000.0, 1000.0, -1000.0, 1000.0]
    y = [1.0, 1.0, 0.3, 0.0, 0.0]
    for gamma in (0.0, 0.5, 2.0):
        result = run("binary_focal", x, y, reduction="sum", from_logits=True, gamma=gamma)
        expected = [1000.0, 0.0, 0.7**gamma * 700.0, 0.0, 1000.0]
        np.testing.assert_allclose(result.per_sample, expected, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(
            result.gradient, [-1.0, 0.0, 0.7**gamma * 0.7, 0.0, 1.0], rtol=1e-13, atol=1e-300
        )
        assert result.clipped == 0


def test_focal_probabilities_0_and_1_are_finite_and_clipped():
    p = [0.0, 1.0, 0.0, 1.0]
    y = [0.0, 1.0, 1.0, 0.0]
    result = run("binary_focal", p, y, reduction="none")
    eps = np.finfo(np.float64).eps
    big = (1.0 - eps) ** 2 * -math.log(eps)  # wrong and sure: u = 1 - eps, bce = -log eps
    np.testing.assert_allclose(result.per_sample, [0.0, 0.0, big, big], rtol=1e-14, atol=1e-40)
    np.testing.assert_array_equal(result.gradient, 0.0)  # flat where the clip is active, as BCE
    assert result.clipped == 4
    looser = run("binary_focal", p, y, reduction="none", epsilon=1e-7)
    assert looser.per_sample[2] == pytest.approx((1 - 1e-7) ** 2 * -math.log(1e-7), rel=1e-14)


def test_focal_gradient_just_inside_the_clip():
    # gamma < 1 at a near-perfect prediction: u^(gamma - 1) is large, times a tiny bce; finite.
    for p in (1e-12, 1.0 - 1e-12):
        result = run("binary_focal", [p], [1.0 if p > 0.5 else 0.0], reduction="sum", gamma=0.5)
        assert np.isfinite(result.gradient).all() and np.isfinite(result.value)
        assert result.clipped == 0


@pytest.mark.parametrize("predictions", [[0.5, 1.5], [-0.1, 0.5]])
def test_focal_refuses_probabilities_outside_the_unit_interval(predictions):
    with pytest.raises(InvalidInput) as error:
        run("binary_focal", predictions, [1.0, 0.0])
    assert error.value.errors[0].location[0] == "predictions"


# --- brier --------------------------------------------------------------------------------------

RNG = np.random.default_rng(20261126)


def test_brier_binary_matches_sklearn_with_sample_weight():
    p = RNG.uniform(size=20)
    p[:2] = [0.0, 1.0]
    y = (RNG.uniform(size=20) > 0.5).astype(float)
    w = RNG.uniform(0.1, 3.0, size=20)
    assert run("brier", p, y).value == pytest.approx(brier_score_loss(y, p), rel=1e-14)
    ours = run("brier", p, y, w)
    assert ours.value == pytest.approx(brier_score_loss(y, p, sample_weight=w), rel=1e-14)
    np.testing.assert_allclose(ours.per_sample, (p - y) ** 2, rtol=1e-15)
    np.testing.assert_allclose(ours.gradient, 2 * (p - y) * w / w.sum(), rtol=1e-14)
    for half in (True, False):
        expected = brier_score_loss(y, p, sample_weight=w, scale_by_half=half)
        assert run("brier", p, y, w, scale_by_half=half).value == pytest.approx(expected, rel=1e-14)


def test_brier_two_columns_equal_the_binary_form():
    p = RNG.uniform(size=15)
    y = (RNG.uniform(size=15) > 0.5).astype(float)
    w = RNG.uniform(0.1, 3.0, size=15)
    two = np.stack([1.0 - p, p], axis=1)
    binary = run("brier", p, y, w)
    by_index = run("brier", two, y, w)
    one_hot = run("brier", two, np.stack([1.0 - y, y], axis=1), w)
    sklearn = brier_score_loss(y, two, sample_weight=w, labels=[0, 1])
    for result in (by_index, one_hot):
        assert result.value == pytest.approx(binary.value, rel=1e-14)
        assert result.value == pytest.approx(sklearn, rel=1e-14)
        np.testing.assert_allclose(result.per_sample, binary.per_sample, rtol=1e-13, atol=1e-300)
        # The binary gradient is the two-column one along p minus along 1 - p (chain rule).
        np.testing.assert_allclose(result.gradient[:, 1] - result.gradient[:, 0], binary.gradient, rtol=1e-12)


@pytest.mark.parametrize("n_classes", [3, 5])
@pytest.mark.parametrize("scale_by_half", ["auto", True, False])
def test_brier_multiclass_matches_sklearn(n_classes, scale_by_half):
    p = RNG.dirichlet(np.ones(n_classes), size=25)
    y = RNG.integers(0, n_classes, size=25)
    w = RNG.uniform(0.1, 3.0, size=25)
    expected = brier_score_loss(y, p, sample_weight=w, labels=range(n_classes), scale_by_half=scale_by_half)
    ours = run("brier", p, y, w, scale_by_half=scale_by_half)
    assert ours.value == pytest.approx(expected, rel=1e-14)
    one_hot = run("brier", p, np.eye(n_classes)[y], w, scale_by_half=scale_by_half)
    assert one_hot.value == pytest.approx(expected, rel=1e-14)
    h = 1.0 if scale_by_half is False or (scale_by_half == "auto" and n_classes >= 3) else 0.5
    np.testing.assert_allclose(
        ours.gradient, 2 * h * (p - np.eye(n_classes)[y]) * (w / w.sum())[:, None], rtol=1e-13, atol=1e-300
    )
    assert [g.key for g in ours.breakdown.groups] == sorted(set(y.tolist()))


def test_brier_soft_targets_and_perfect_prediction():
    q = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]])
    assert run("brier", q, q).value == 0.0
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.5, 0.0]])
    expected = np.sum((p - q) ** 2, axis=1)
    np.testing.assert_allclose(run("brier", p, q, reduction="none").per_sample, expected, rtol=1e-15)
    assert run("brier", [0.25], [0.75]).value == pytest.approx(0.25, rel=1e-15)


@pytest.mark.parametrize(
    ("predictions", "targets", "location"),
    [
        ([[0.5, 0.5], [0.3, 0.6]], [0, 1], ("predictions", 1)),  # a row not summing to 1
        ([[0.5, 0.5], [0.3, 0.7]], [0, 2], ("targets", 1)),  # class index out of range
        ([[0.5, 0.5], [0.3, 0.7]], [0, 0.5], ("targets", 1)),  # not a class index
        ([[0.5, 0.5], [0.3, 0.7]], [[1, 0], [0.5, 0.6]], ("targets", 1)),  # target row not summing to 1
        ([[1.0], [0.0]], [1, 0], ("predictions",)),  # (N, 1): send (N,)
        ([0.5, 0.5], [-1.0, 1.0], ("targets", 0)),  # binary targets are 0/1, not ±1
        ([0.5, 1.2], [0.0, 1.0], ("predictions", 1)),
        ([[0.5, 0.5], [0.3, 0.7]], [[1, 0, 0], [0, 1, 0]], ("targets",)),
    ],
)
def test_brier_refuses_invalid_input(predictions, targets, location):
    with pytest.raises(InvalidInput) as error:
        run("brier", predictions, targets)
    assert error.value.errors[0].location == location


def test_catalogue_entries_are_complete():
    for name in ("binary_focal", "brier"):
        definition = registry.get(name)
        assert definition.family == "binary" and definition.has_gradient
        assert definition.summary and definition.formula and definition.equivalents
        assert definition.differences and definition.notes and definition.examples
