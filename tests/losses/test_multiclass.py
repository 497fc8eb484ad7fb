"""Multi-class losses beyond cross_entropy: closed forms, relations, scikit-learn, Keras's quirks.

The anchors' numbers are in tests/reference/{torch,keras,optax}_multiclass.json (test_references.py);
here: scikit-learn's hinge_loss computed in the test, relations between losses, edge cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import hinge_loss

from service.losses.errors import InvalidInput
from service.losses.numerics import log_softmax, softmax

from .helpers import evaluate_loss

REFERENCE = Path(__file__).parents[1] / "reference"


run = evaluate_loss


@pytest.fixture
def scores():
    rng = np.random.default_rng(11)
    z = rng.normal(size=(30, 4)) * 2
    y = rng.integers(0, 4, size=30)
    y[:4] = np.arange(4)
    z[5], y[5] = [-0.5, -1.5, -2.0, -0.7], 1  # every wrong score negative
    return z, y, rng.uniform(0.0, 3.0, size=30)


# --- multiclass_hinge ---


def test_crammer_singer_is_sklearn_hinge_loss(scores):
    z, y, w = scores
    labels = list(range(4))
    assert run("multiclass_hinge", z, y).value == pytest.approx(hinge_loss(y, z, labels=labels), rel=1e-12)
    weighted = run("multiclass_hinge", z, y, w).value
    assert weighted == pytest.approx(hinge_loss(y, z, labels=labels, sample_weight=w), rel=1e-12)


def test_crammer_singer_per_sample_and_margin(scores):
    z, y, _ = scores
    wrong = np.where(np.eye(4, dtype=bool)[y], -np.inf, z)
    true = z[np.arange(len(y)), y]
    for margin in (1.0, 0.0, 2.5):
        expected = np.maximum(0.0, margin + wrong.max(axis=1) - true)
        result = run("multiclass_hinge", z, y, margin=margin)
        np.testing.assert_allclose(result.per_sample, expected, rtol=1e-15)


def test_keras_categorical_hinge_differs_only_when_every_wrong_score_is_negative(scores):
    z, y, _ = scores
    onehot = np.eye(4)[y]
    keras = np.maximum(0.0, 1.0 + ((1.0 - onehot) * z).max(axis=1) - (onehot * z).sum(axis=1))
    ours = run("multiclass_hinge", z, y).per_sample
    all_negative = np.where(onehot > 0, -np.inf, z).max(axis=1) < 0
    assert all_negative.any() and not all_negative.all()
    np.testing.assert_allclose(ours[~all_negative], keras[~all_negative], rtol=1e-15)
    assert np.all(ours[all_negative] <= keras[all_negative])
    # Row 5: 1 + (-0.5) - (-1.5) = 2 here and in scikit-learn; Keras uses 0 for the rival: 2.5.
    assert (ours[5], keras[5]) == (2.0, 2.5)


def test_weston_watkins_closed_form():
    z = np.array([[2.0, 1.5, -1.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2])
    result = run("multiclass_hinge", z, y, reduction="none", variant="weston_watkins")
    # Row 0: max(0, 1 - 2 + 1.5) + max(0, 1 - 2 - 1) = 0.5, over C = 3; row 1: 2 * 1 / 3.
    np.testing.assert_allclose(result.per_sample, [0.5 / 3, 2 / 3], rtol=1e-15)
    np.testing.assert_allclose(result.gradient, [[-1 / 3, 1 / 3, 0.0], [1 / 3, 1 / 3, -2 / 3]], rtol=1e-15)


def test_hinge_subgradients_at_kinks_follow_torch():
    # Row 0: exactly at the kink (argument 0): gradient 0, as torch's multi_margin_loss and relu.
    # Row 1: a tie for the largest wrong score: crammer_singer credits the first, as torch.max.
    z = np.array([[1.0, 0.0, -3.0], [0.0, 0.5, 0.5]])
    y = np.array([0, 0])
    ww = run("multiclass_hinge", z, y, reduction="sum", variant="weston_watkins")
    cs = run("multiclass_hinge", z, y, reduction="sum")
    np.testing.assert_array_equal(ww.gradient[0], 0.0)
    np.testing.assert_array_equal(cs.gradient, [[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]])


def test_hinge_extreme_scores_are_exact():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    y = np.array([1, 2])
    cs = run("multiclass_hinge", z, y, reduction="none")
    np.testing.assert_array_equal(cs.per_sample, [2001.0, 2.0])
    np.testing.assert_array_equal(cs.gradient, [[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])


@pytest.mark.parametrize("variant", ["crammer_singer", "weston_watkins"])
def test_hinge_takes_one_hot_targets_as_class_indices(variant):
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(7, 4)), np.array([0, 3, 1, 2, 2, 0, 3])
    weights = rng.uniform(0.5, 2.0, size=7)
    by_index = run("multiclass_hinge", z, y, weights, variant=variant)
    by_one_hot = run("multiclass_hinge", z, np.eye(4)[y], weights, variant=variant)
    assert by_one_hot.value == by_index.value
    np.testing.assert_array_equal(by_one_hot.gradient, by_index.gradient)
    assert by_one_hot.breakdown == by_index.breakdown


def test_hinge_refuses_soft_targets_and_bad_labels():
    with pytest.raises(InvalidInput, match=r"targets\[1\] is not one-hot") as info:
        run("multiclass_hinge", np.zeros((2, 3)), [[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    assert info.value.errors[0].location == ("targets", 1)
    with pytest.raises(
        InvalidInput, match=r"class indices of shape \(2,\) or one-hot rows of shape \(2, 3\)"
    ):
        run("multiclass_hinge", np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(InvalidInput, match=r"labels must be in \[0, 2\]"):
        run("multiclass_hinge", np.zeros((2, 3)), [0, 3])


# --- categorical_focal ---


def _targets(kind, rng, n=8, c=3):
    if kind == "index":
        y = rng.integers(0, c, size=n).astype(float)
        y[:c] = np.arange(c)
        return y
    return softmax(rng.normal(size=(n, c)))


PREDICTIONS = {
    "probabilities": lambda x: softmax(x),
    "logits": lambda x: x,
    "log_probabilities": lambda x: log_softmax(x),
}


@pytest.mark.parametrize("space", list(PREDICTIONS))
@pytest.mark.parametrize("kind", ["index", "probabilities"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_focal_with_gamma_0_and_alpha_1_is_cross_entropy(space, kind, smoothing):
    rng = np.random.default_rng(3)
    p, t = PREDICTIONS[space](rng.normal(size=(8, 3)) * 2), _targets(kind, rng)
    w = rng.uniform(0.5, 2.0, size=8)
    focal = run("categorical_focal", p, t, w, gamma=0.0, alpha=1.0, input=space, label_smoothing=smoothing)
    ce = run("cross_entropy", p, t, w, input=space, label_smoothing=smoothing)
    assert focal.value == pytest.approx(ce.value, rel=1e-14)
    np.testing.assert_allclose(focal.per_sample, ce.per_sample, rtol=1e-14)
    np.testing.assert_allclose(focal.gradient, ce.gradient, rtol=1e-12, atol=1e-15)


def test_focal_alpha_scales_and_per_class_alpha_weights_each_class():
    rng = np.random.default_rng(4)
    x, q = rng.normal(size=(8, 3)), _targets("probabilities", rng)
    one = run("categorical_focal", x, q, input="logits", alpha=1.0)
    scaled = run("categorical_focal", x, q, input="logits", alpha=0.25)
    same = run("categorical_focal", x, q, input="logits", alpha=(0.25, 0.25, 0.25))
    np.testing.assert_allclose(scaled.per_sample, 0.25 * one.per_sample, rtol=1e-14)
    np.testing.assert_allclose(same.gradient, scaled.gradient, rtol=1e-14)
    alpha = np.array([0.5, 2.0, 1.0])
    per_class = run("categorical_focal", x, q, input="logits", alpha=tuple(alpha), gamma=1.5).per_sample
    p = softmax(x)
    expected = -(alpha * q * (1 - p) ** 1.5 * np.log(p)).sum(axis=1)
    np.testing.assert_allclose(per_class, expected, rtol=1e-13)


def test_focal_down_weights_easy_samples():
    p = np.array([[0.9, 0.05, 0.05], [0.3, 0.4, 0.3]])
    y = np.array([0, 0])
    focal = run("categorical_focal", p, y, reduction="none", alpha=1.0).per_sample
    ce = run("cross_entropy", p, y, reduction="none").per_sample
    np.testing.assert_allclose(focal, ce * np.array([0.1, 0.7]) ** 2, rtol=1e-14)


def test_focal_alpha_length_must_match_classes():
    with pytest.raises(InvalidInput, match="alpha has 2 entries but the predictions have 3 classes"):
        run("categorical_focal", softmax(np.zeros((2, 3))), [0, 1], alpha=(1.0, 2.0))


def test_focal_matches_keras_values_and_keras_gradient_is_the_projection_of_ours():
    """Keras renormalises probability rows: its gradient is g - (g.p) 1 where g is ours."""
    document = json.loads((REFERENCE / "keras_multiclass.json").read_text())
    cases = document["probability_cases"]
    assert len(cases) >= 40
    for case in cases:
        p = np.asarray(case["predictions"])
        result = run(case["loss"], p, case["targets"], case["weights"], case["reduction"], **case["params"])
        if case["value"] is not None:
            assert result.value == pytest.approx(case["value"], rel=1e-9)
        np.testing.assert_allclose(result.per_sample, case["per_sample"], rtol=1e-9, atol=1e-12)
        g = result.gradient
        # Keras's clip keeps the clipped element's gradient at 0 before the renormalisation.
        projected = g - (g * p).sum(axis=1, keepdims=True) / p.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(projected, case["gradient"], rtol=1e-8, atol=1e-10)


# --- kl_divergence ---


def test_kl_closed_form_and_zero_targets():
    p = np.array([[0.5, 0.25, 0.25], [0.2, 0.2, 0.6], [0.1, 0.3, 0.6]])
    q = np.array([[0.25, 0.25, 0.5], [0.0, 1.0, 0.0], [0.1, 0.3, 0.6]])
    result = run("kl_divergence", p, q, reduction="none")
    expected = [0.25 * np.log(0.5) + 0.5 * np.log(2.0), -np.log(0.2), 0.0]
    np.testing.assert_allclose(result.per_sample, expected, rtol=1e-14, atol=1e-16)
    # ∂/∂p = −q/p: nothing flows into classes with q = 0.
    np.testing.assert_allclose(result.gradient, -q / p, rtol=1e-14)


@pytest.mark.parametrize("space", list(PREDICTIONS))
def test_kl_is_cross_entropy_minus_entropy_and_log_target_agrees(space):
    rng = np.random.default_rng(5)
    p, q = PREDICTIONS[space](rng.normal(size=(8, 4))), softmax(rng.normal(size=(8, 4)) * 2)
    q[0] = [0.0, 0.5, 0.5, 0.0]
    kl = run("kl_divergence", p, q, input=space)
    ce = run("cross_entropy", p, q, input=space)
    entropy = -np.array([sum(v * np.log(v) for v in row if v > 0) for row in q])
    np.testing.assert_allclose(kl.per_sample, ce.per_sample - entropy, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kl.gradient, ce.gradient, rtol=1e-13)
    q[0] = softmax(rng.normal(size=4))  # log targets are finite
    plain = run("kl_divergence", p, q, input=space)
    logged = run("kl_divergence", p, np.log(q), input=space, log_target=True)
    np.testing.assert_allclose(logged.per_sample, plain.per_sample, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(logged.gradient, plain.gradient, rtol=1e-13)


def test_kl_reductions_match_torch_batchmean_and_sum():
    """torch's batchmean = Σ l / N = our mean (no weights) and our sum_over_batch_size."""
    rng = np.random.default_rng(6)
    x, q = rng.normal(size=(5, 3)), softmax(rng.normal(size=(5, 3)))
    per_sample = run("kl_divergence", x, q, input="logits").per_sample
    for reduction in ("mean", "sum_over_batch_size"):
        assert run("kl_divergence", x, q, reduction=reduction, input="logits").value == pytest.approx(
            per_sample.sum() / 5, rel=1e-14
        )


def test_kl_validates_targets():
    p = softmax(np.zeros((2, 3)))
    with pytest.raises(InvalidInput, match=r"targets\[1\] sums to"):
        run("kl_divergence", p, [[0.2, 0.3, 0.5], [0.5, 0.5, 0.5]])
    with pytest.raises(InvalidInput, match=r"targets\[0\] are not normalised log-probabilities"):
        run("kl_divergence", p, [[-1.0, -1.0, -1.0], [0.0, -50.0, -50.0]], log_target=True)
    with pytest.raises(InvalidInput, match=r"targets must be class probabilities of shape \(2, 3\)"):
        run("kl_divergence", p, [0, 1])


# --- poly1_cross_entropy ---


@pytest.mark.parametrize("space", list(PREDICTIONS))
@pytest.mark.parametrize("kind", ["index", "probabilities"])
def test_poly1_is_cross_entropy_plus_epsilon_times_missing_mass(space, kind):
    rng = np.random.default_rng(8)
    x, t = rng.normal(size=(8, 3)) * 2, _targets(kind, rng)
    q = np.eye(3)[t.astype(int)] if kind == "index" else t
    p = softmax(x)
    ce = run("cross_entropy", PREDICTIONS[space](x), t, input=space).per_sample
    for epsilon in (2.0, -1.0, 0.0):
        poly = run("poly1_cross_entropy", PREDICTIONS[space](x), t, input=space, epsilon=epsilon)
        expected = ce + epsilon * (q * (1 - p)).sum(axis=1)
        np.testing.assert_allclose(poly.per_sample, expected, rtol=1e-12)


# --- stability at extreme logits ---


def test_extreme_logits_are_finite_and_exact():
    x = np.array([[1000.0, -1000.0, 0.0], [0.0, 1000.0, 999.0]])
    y = np.array([1, 1])
    onehot = np.eye(3)[y]
    s = softmax(x)
    ce_grad = s - onehot  # per row, reduction sum
    # Row 0: log p_1 = −2000 (p_1 = 0); row 1: log p_1 = −log(1 + e^−1) (p_1 ≈ 0.731).
    ce = np.array([2000.0, np.log1p(np.exp(-1.0))])
    missing = np.array([1.0, 1.0 / (1.0 + np.e)])  # 1 - p_1, exactly
    # Row 1's log p_1 = 1000 - logsumexp carries the rounding of 1000.31...: ~1e-13 relative.
    focal = run("categorical_focal", x, y, reduction="sum", input="logits", alpha=1.0, gamma=2.0)
    np.testing.assert_allclose(focal.per_sample, missing**2 * ce, rtol=1e-12)
    assert np.isfinite(focal.gradient).all()
    np.testing.assert_allclose(focal.gradient[0], ce_grad[0], rtol=1e-14)  # p_1 = 0: plain CE
    poly = run("poly1_cross_entropy", x, y, reduction="sum", input="logits", epsilon=2.0)
    np.testing.assert_allclose(poly.per_sample, ce + 2.0 * missing, rtol=1e-12)
    np.testing.assert_allclose(poly.gradient[0], ce_grad[0], rtol=1e-14)
    kl = run("kl_divergence", x, onehot, reduction="sum", input="logits")
    np.testing.assert_allclose(kl.per_sample, ce, rtol=1e-12)
    np.testing.assert_allclose(kl.gradient, ce_grad, rtol=1e-14, atol=1e-300)
    hinge = run("multiclass_hinge", x, y, reduction="sum")
    np.testing.assert_array_equal(hinge.per_sample, [2001.0, 0.0])


def test_focal_gradient_is_finite_where_a_probability_is_exactly_one():
    # softmax of (0, -1000, -1000) is exactly (1, 0, 0): 1 - p = 0 with a non-integer gamma.
    x = np.array([[0.0, -1000.0, -1000.0]])
    for gamma in (0.0, 0.5, 2.0):
        result = run("categorical_focal", x, [0], input="logits", gamma=gamma, label_smoothing=0.1)
        assert np.isfinite(result.per_sample).all() and np.isfinite(result.gradient).all()
