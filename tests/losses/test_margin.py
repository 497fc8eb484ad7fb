"""Margin losses: closed forms, the label encodings, extremes, and scikit-learn computed in-test.

PyTorch references (soft_margin_loss and the formulas under autograd) are in
tests/reference/torch_margin.json, Keras's Hinge and SquaredHinge in keras_binary.json.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn._loss.loss import ExponentialLoss
from sklearn.metrics import hinge_loss, zero_one_loss

from service.losses import registry
from service.losses.errors import InvalidInput

from .helpers import evaluate_loss

MARGIN = [d.name for d in registry.definitions() if d.family == "margin"]


run = evaluate_loss


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


# φ(v) and φ'(v), written out from the formulas in SPEC §5.
CLOSED_FORMS = {
    "hinge": (lambda v: max(0.0, 1.0 - v), lambda v: -1.0 if v < 1 else 0.0),
    "squared_hinge": (lambda v: max(0.0, 1.0 - v) ** 2, lambda v: -2.0 * max(0.0, 1.0 - v)),
    "soft_margin": (lambda v: math.log1p(math.exp(-v)), lambda v: -math.exp(-v) / (1.0 + math.exp(-v))),
    "exponential": (lambda v: math.exp(-v), lambda v: -math.exp(-v)),
    "savage": (
        lambda v: 1.0 / (1.0 + math.exp(v)) ** 2,
        lambda v: -2.0 * math.exp(v) / (1.0 + math.exp(v)) ** 3,
    ),
    "tangent": (
        lambda v: (2.0 * math.atan(v) - 1.0) ** 2,
        lambda v: 4.0 * (2.0 * math.atan(v) - 1.0) / (1.0 + v * v),
    ),
    "square_margin": (lambda v: (1.0 - v) ** 2, lambda v: -2.0 * (1.0 - v)),
    "zero_one": (lambda v: 1.0 if v <= 0 else 0.0, lambda v: 0.0),
}
MARGINS = [-3.0, -0.5, 0.0, 0.3, math.tan(0.5), 1.0, 2.5]


def test_every_margin_loss_has_a_closed_form_here():
    assert sorted(MARGIN) == sorted(CLOSED_FORMS)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_closed_forms(name, sign):
    phi, slope = CLOSED_FORMS[name]
    f = [sign * v for v in MARGINS]  # y = sign, so v = y f runs over MARGINS
    result = run(name, f, [sign] * len(f), reduction="sum")
    np.testing.assert_allclose(result.per_sample, [phi(v) for v in MARGINS], rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(result.gradient, [sign * slope(v) for v in MARGINS], rtol=1e-13, atol=1e-300)


def test_tangent_is_zero_at_its_minimum_and_square_margin_at_one():
    assert run("tangent", [math.tan(0.5)], [1.0]).value == pytest.approx(0.0, abs=1e-30)
    assert run("square_margin", [-1.0], [-1.0]).value == 0.0
    assert run("hinge", [1.0], [1.0]).gradient[0] == 0.0  # the kink: relu's subgradient


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
@pytest.mark.parametrize("shape", [(7,), (4, 3)])
def test_zero_one_targets_equal_sign_targets(name, shape):
    rng = np.random.default_rng(7)
    signs = rng.choice([-1.0, 1.0], size=shape)
    f = rng.normal(size=shape) * 2.0
    w = rng.uniform(0.5, 2.0, size=shape[0])
    as_signs = run(name, f, signs, w)
    as_binary = run(name, f, (signs + 1.0) / 2.0, w)
    assert as_binary.value == as_signs.value
    np.testing.assert_array_equal(as_binary.per_sample, as_signs.per_sample)
    np.testing.assert_array_equal(as_binary.gradient, as_signs.gradient)


def test_hinge_matches_sklearn_with_sample_weight():
    rng = np.random.default_rng(11)
    f = rng.normal(size=30) * 2.0
    y = rng.choice([-1.0, 1.0], size=30)
    w = rng.uniform(0.1, 3.0, size=30)
    assert run("hinge", f, y).value == pytest.approx(hinge_loss(y, f), rel=1e-14)
    assert run("hinge", f, y, w).value == pytest.approx(hinge_loss(y, f, sample_weight=w), rel=1e-14)
    binary = (y + 1.0) / 2.0  # sklearn maps the smaller label to -1 as well
    assert run("hinge", f, binary, w).value == pytest.approx(
        hinge_loss(binary, f, sample_weight=w), rel=1e-14
    )


def test_exponential_matches_sklearn_exponential_loss():
    # scikit-learn's private ExponentialLoss (GradientBoostingClassifier(loss="exponential")): y in {0, 1}.
    rng = np.random.default_rng(13)
    f = rng.normal(size=12) * 3.0
    y = (rng.uniform(size=12) > 0.5).astype(float)
    loss = ExponentialLoss()
    result = run("exponential", f, y, reduction="sum")
    np.testing.assert_allclose(result.per_sample, loss.loss(y, f), rtol=1e-14)
    np.testing.assert_allclose(result.gradient, loss.gradient(y, f), rtol=1e-14)


def test_zero_one_matches_sklearn_away_from_zero_scores():
    rng = np.random.default_rng(17)
    f = rng.normal(size=40)
    y = rng.choice([-1.0, 1.0], size=40)
    w = rng.uniform(0.1, 3.0, size=40)
    labels = np.where(f > 0, 1.0, -1.0)
    result = run("zero_one", f, y, w)
    assert result.value == pytest.approx(zero_one_loss(y, labels, sample_weight=w), rel=1e-14)
    np.testing.assert_array_equal(result.gradient, 0.0)
    assert registry.get("zero_one").has_gradient
    # A score of exactly 0 is an error for both labels (v = 0 <= 0).
    np.testing.assert_array_equal(run("zero_one", [0.0, 0.0], [1.0, -1.0]).per_sample, [1.0, 1.0])


def test_soft_margin_is_bce_from_logits_and_square_margin_is_mse():
    rng = np.random.default_rng(19)
    f = rng.normal(size=(6, 2)) * 3.0
    y = rng.choice([-1.0, 1.0], size=(6, 2))
    soft = run("soft_margin", f, y)
    bce = run("binary_cross_entropy", f, (y + 1.0) / 2.0, from_logits=True)
    assert soft.value == pytest.approx(bce.value, rel=1e-14)
    np.testing.assert_allclose(soft.per_sample, bce.per_sample, rtol=1e-14)
    np.testing.assert_allclose(soft.gradient, bce.gradient, rtol=1e-13)
    square, mse = run("square_margin", f, y), run("mean_squared_error", f, y)
    assert square.value == pytest.approx(mse.value, rel=1e-14)
    np.testing.assert_allclose(square.gradient, mse.gradient, rtol=1e-13)


def test_extreme_scores_stay_finite_and_exact():
    f = [1000.0, -1000.0, 1e200, -1e200]
    y = [1.0, 1.0, 1.0, -1.0]
    soft = run("soft_margin", f, y, reduction="sum")
    np.testing.assert_allclose(soft.per_sample, [0.0, 1000.0, 0.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(soft.gradient, [0.0, -1.0, 0.0, 0.0], atol=1e-300)
    savage = run("savage", f, y, reduction="sum")
    np.testing.assert_allclose(savage.per_sample, [0.0, 1.0, 0.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(savage.gradient, 0.0, atol=1e-300)
    tangent = run("tangent", f, y, reduction="sum")
    np.testing.assert_allclose(tangent.per_sample[2:], (math.pi - 1.0) ** 2, rtol=1e-14)
    assert tangent.per_sample[1] == pytest.approx((2 * math.atan(-1000.0) - 1.0) ** 2, rel=1e-14)
    np.testing.assert_allclose(tangent.gradient[2:], 0.0, atol=1e-300)
    hinge = run("hinge", f, y, reduction="sum")
    np.testing.assert_allclose(hinge.per_sample, [0.0, 1001.0, 0.0, 0.0])
    # Up to the largest float64 (stats are left out: their sum of squares overflows at such sizes).
    exponential = run("exponential", [700.0, -709.0], [1.0, 1.0], reduction="sum", include={"per_sample"})
    np.testing.assert_allclose(exponential.per_sample, [math.exp(-700.0), math.exp(709.0)], rtol=1e-14)


def test_exponential_refuses_margins_whose_loss_overflows():
    with pytest.raises(InvalidInput, match="larger than the largest float64") as error:
        run("exponential", [1.0, 800.0], [1.0, -1.0])
    assert error.value.errors[0].location == ("predictions", 1)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
@pytest.mark.parametrize(
    ("targets", "location"),
    [
        ([1.0, 0.5, -1.0], ("targets", 1)),
        ([2.0, 1.0, 1.0], ("targets", 0)),
        ([[1.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 0.0, 0.0]], ("targets", 1, 1)),
        ([1.0, -1.0, 0.0], ("targets", 2)),  # a mix of the {-1, +1} and {0, 1} encodings
        ([0.0, -1.0, 1.0], ("targets", 0)),
    ],
)
def test_invalid_targets_are_refused(name, targets, location):
    predictions = np.ones(np.shape(targets))
    with pytest.raises(InvalidInput) as error:
        run(name, predictions, targets)
    assert error.value.errors[0].location == location


def test_shapes_must_match():
    with pytest.raises(InvalidInput) as error:
        run("hinge", [[1.0, 2.0]], [1.0])
    assert error.value.errors[0].location == ("targets",)


def test_breakdown_by_label_as_sent():
    result = run("hinge", [0.5, -2.0, 3.0], [1.0, 0.0, 0.0])
    assert [(g.key, g.count) for g in result.breakdown.groups] == [(0, 2), (1, 1)]
    assert [g.value for g in result.breakdown.groups] == [pytest.approx(2.0), pytest.approx(0.5)]


def test_catalogue_entries_are_complete():
    for name in MARGIN:
        definition = registry.get(name)
        assert definition.summary and definition.formula and definition.modes
        assert definition.modes[0].targets == ("sign",)
        assert definition.equivalents or definition.notes
