"""The foundation losses against scikit-learn, computed in the test (sklearn is in the test extra)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    root_mean_squared_error,
)

from .helpers import evaluate_loss

EPS = np.finfo(np.float64).eps


run = evaluate_loss


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(40, 3)), rng.normal(size=(40, 3)), rng.uniform(0, 3, size=40)


@pytest.mark.parametrize(("name", "reference"), [("mse", mean_squared_error), ("mae", mean_absolute_error)])
def test_weighted_multioutput_regression(data, name, reference):
    p, t, w = data
    result = run(name, p, t, w)
    assert result.value == pytest.approx(reference(t, p, sample_weight=w), rel=1e-12)
    raw = reference(t, p, sample_weight=w, multioutput="raw_values")
    assert [g.value for g in result.breakdown.groups] == pytest.approx(raw, rel=1e-12)
    one = run(name, p[:, 0], t[:, 0])
    assert one.value == pytest.approx(reference(t[:, 0], p[:, 0]), rel=1e-12)


def test_rmse(data):
    p, t, w = data
    one = run("rmse", p[:, 1], t[:, 1], w)
    assert one.value == pytest.approx(root_mean_squared_error(t[:, 1], p[:, 1], sample_weight=w), rel=1e-12)
    multi = run("rmse", p, t, w)
    raw = root_mean_squared_error(t, p, sample_weight=w, multioutput="raw_values")
    assert [g.value for g in multi.breakdown.groups] == pytest.approx(raw, rel=1e-12)
    # The value is the root of the overall mean (documented), not sklearn's uniform average of RMSEs.
    assert multi.value == pytest.approx(np.sqrt(mean_squared_error(t, p, sample_weight=w)), rel=1e-12)


def test_binary_log_loss_with_clipping_and_weights():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=50)
    p[:4] = [0.0, 1.0, EPS / 2, 1 - EPS / 4]
    y = (rng.uniform(size=50) > 0.5).astype(float)
    y[:4] = [1, 0, 1, 0]  # clipped predictions on the wrong side: large, finite losses
    w = rng.uniform(0, 2, size=50)
    result = run("bce", p, y, w)
    assert result.value == pytest.approx(log_loss(y, p, sample_weight=w), rel=1e-12)
    per_sample = [log_loss([yi], [pi], labels=[0, 1]) for yi, pi in zip(y[:6], p[:6], strict=True)]
    np.testing.assert_allclose(result.per_sample[:6], per_sample, rtol=1e-12)
    assert result.clipped >= 4


def test_multiclass_log_loss_with_zero_probabilities():
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(4), size=30)
    p[0] = [1.0, 0.0, 0.0, 0.0]
    p[1] = [0.0, 1.0, 0.0, 0.0]
    y = rng.integers(0, 4, size=30)
    y[:2] = [0, 2]  # one perfect row, one impossible row
    w = rng.uniform(0.1, 2, size=30)
    result = run("cross_entropy", p, y, w, include=("per_sample", "gradient"))
    assert result.value == pytest.approx(log_loss(y, p, sample_weight=w, labels=range(4)), rel=1e-12)
    assert result.per_sample[1] == pytest.approx(-np.log(EPS), rel=1e-12)
    # Gradient −q/p inside the clip, 0 where the clip is active (p = 0 or 1 exactly).
    g = result.gradient
    assert g[1, 2] == 0.0 and g[0, 0] == 0.0
    row = 5
    expected = np.zeros(4)
    expected[y[row]] = -w[row] / w.sum() / p[row, y[row]]
    np.testing.assert_allclose(g[row], expected, rtol=1e-12)


def test_probability_targets_equal_one_hot_index_targets():
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(3), size=10)
    y = rng.integers(0, 3, size=10)
    a = run("cross_entropy", p, y, include=("gradient",))
    b = run("cross_entropy", p, np.eye(3)[y], include=("gradient",))
    assert a.value == pytest.approx(b.value, rel=1e-15)
    np.testing.assert_allclose(a.gradient, b.gradient, rtol=1e-15)


def test_extreme_logits_are_exact():
    x = np.array([1000.0, -1000.0, 0.0])
    y = np.array([0.0, 1.0, 1.0])
    result = run("bce", x, y, include=("per_sample", "gradient"), from_logits=True)
    np.testing.assert_allclose(result.per_sample, [1000.0, 1000.0, np.log(2)], rtol=1e-15)
    np.testing.assert_allclose(result.gradient, np.array([1.0, -1.0, -0.5]) / 3, rtol=1e-15)
    logits = np.array([[1000.0, -1000.0, 0.0]])
    ce = run("cross_entropy", logits, [1], include=("per_sample", "gradient"), input="logits")
    assert ce.per_sample[0] == pytest.approx(2000.0, rel=1e-15)
    np.testing.assert_allclose(ce.gradient, [[1.0, -1.0, 0.0]], atol=1e-300)
