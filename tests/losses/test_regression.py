"""The regression losses of issue 3 against scikit-learn, exact formulas and each other.

Reference values are computed in the test with scikit-learn (1.9.1 when written) and SciPy; the
PyTorch cases (smooth_l1, poisson, quantile's subgradient) are in tests/reference/torch_regression.json.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.special import xlogy
from sklearn.metrics import (
    mean_absolute_percentage_error,
    mean_gamma_deviance,
    mean_pinball_loss,
    mean_poisson_deviance,
    mean_squared_log_error,
    mean_tweedie_deviance,
)

from service.losses import registry
from service.losses.errors import InvalidInput

from .helpers import evaluate_loss

run = evaluate_loss


def raw_values(result) -> list[float]:
    return [g.value for g in result.breakdown.groups]


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


# scikit-learn references: weighted value, per-output raw_values = our breakdown, per-sample values.


def test_mape_matches_sklearn(rng):
    t = rng.normal(size=(40, 3)) * 2
    t[0, 0] = 0.0  # |y| floored at machine epsilon, as sklearn
    t[1, 1] = 1e-20
    p = t + rng.normal(size=(40, 3))
    w = rng.uniform(0, 3, size=40)
    result = run("mape", p, t, w)
    assert result.value == pytest.approx(mean_absolute_percentage_error(t, p, sample_weight=w), rel=1e-12)
    raw = mean_absolute_percentage_error(t, p, sample_weight=w, multioutput="raw_values")
    assert raw_values(result) == pytest.approx(raw, rel=1e-12)
    per_sample = [mean_absolute_percentage_error(t[i], p[i]) for i in range(5)]
    np.testing.assert_allclose(result.per_sample[:5], per_sample, rtol=1e-12)
    one = run("mape", p[:, 2], t[:, 2])
    assert one.value == pytest.approx(mean_absolute_percentage_error(t[:, 2], p[:, 2]), rel=1e-12)


def test_mape_epsilon_is_a_parameter():
    # Keras' convention: 100 x the fraction, |y| floored at 1e-7.
    result = run("mape", [1.0, 2e-8], [0.0, 1e-8], epsilon=1e-7)
    assert result.per_sample.tolist() == pytest.approx([1e7, 0.1], rel=1e-15)


def test_msle_matches_sklearn_including_values_in_minus_one_to_zero(rng):
    t = rng.uniform(-0.9, 5, size=(30, 2))
    p = rng.uniform(-0.9, 5, size=(30, 2))
    w = rng.uniform(0, 2, size=30)
    result = run("msle", p, t, w)
    assert result.value == pytest.approx(mean_squared_log_error(t, p, sample_weight=w), rel=1e-12)
    raw = mean_squared_log_error(t, p, sample_weight=w, multioutput="raw_values")
    assert raw_values(result) == pytest.approx(raw, rel=1e-12)
    d = np.log1p(p) - np.log1p(t)
    np.testing.assert_allclose(result.gradient, w[:, None] * d / (1 + p) / w.sum(), rtol=1e-12)


@pytest.mark.parametrize("q", [0.5, 0.1, 0.9, 0.37])
def test_pinball_matches_sklearn(rng, q):
    t = rng.normal(size=(30, 3))
    p = rng.normal(size=(30, 3))
    p[0] = t[0]  # ties: loss 0, subgradient -q (checked against torch in torch_regression.json)
    w = rng.uniform(0, 2, size=30)
    result = run("pinball", p, t, w, quantile=q)
    assert result.value == pytest.approx(mean_pinball_loss(t, p, alpha=q, sample_weight=w), rel=1e-12)
    raw = mean_pinball_loss(t, p, alpha=q, sample_weight=w, multioutput="raw_values")
    assert raw_values(result) == pytest.approx(raw, rel=1e-12)
    assert result.per_sample[0] == 0.0
    np.testing.assert_allclose(result.gradient[0], -q * w[0] / (3 * w.sum()), rtol=1e-15)


def test_quantile_one_half_is_half_the_absolute_error(rng):
    p, t = rng.normal(size=20), rng.normal(size=20)
    assert run("quantile", p, t).value == pytest.approx(0.5 * run("mae", p, t).value, rel=1e-15)


def _tweedie_data(rng, power, n=40):
    if power == 0:
        return rng.normal(size=n), rng.normal(size=n)
    p = rng.uniform(0.1, 4, size=n)
    if power < 0:
        return p, rng.normal(size=n) * 2  # any real target
    t = rng.uniform(0.1, 4, size=n)
    if power < 2:
        t[:5] = 0.0  # zero counts: y log y = 0
    return p, t


@pytest.mark.parametrize("power", [0.0, 1.0, 1.5, 2.0, 3.0, -1.0, -0.5, 2.7])
def test_tweedie_matches_sklearn(rng, power):
    p, t = _tweedie_data(rng, power)
    w = rng.uniform(0, 2, size=t.size)
    result = run("tweedie_deviance", p, t, w, power=power)
    expected = mean_tweedie_deviance(t, p, sample_weight=w, power=power)
    assert result.value == pytest.approx(expected, rel=1e-12)
    per_sample = [mean_tweedie_deviance(t[i : i + 1], p[i : i + 1], power=power) for i in range(8)]
    np.testing.assert_allclose(result.per_sample[:8], per_sample, rtol=1e-12, atol=1e-15)
    # Gradient: 2 mu^-k (mu - y) for every power.
    np.testing.assert_allclose(result.gradient, 2 * w * p**-power * (p - t) / w.sum(), rtol=1e-12)


@pytest.mark.parametrize("power", [0.0, 1.0, 1.5, 2.0])
def test_tweedie_breakdown_is_sklearn_per_column(rng, power):
    # sklearn refuses (N, D) inputs: each output column is checked on its own.
    columns = [_tweedie_data(rng, power, n=25) for _ in range(3)]
    p = np.stack([c[0] for c in columns], axis=1)
    t = np.stack([c[1] for c in columns], axis=1)
    w = rng.uniform(0, 2, size=25)
    result = run("tweedie_deviance", p, t, w, power=power)
    raw = [mean_tweedie_deviance(t[:, j], p[:, j], sample_weight=w, power=power) for j in range(3)]
    assert raw_values(result) == pytest.approx(raw, rel=1e-12)
    assert result.value == pytest.approx(np.mean(raw), rel=1e-12)


# Relations between losses.


def test_tweedie_power_0_is_mse(rng):
    p, t = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    w = rng.uniform(0, 2, size=10)
    a, b = run("tweedie_deviance", p, t, w), run("mse", p, t, w)
    assert a.value == pytest.approx(b.value, rel=1e-15)
    np.testing.assert_allclose(a.per_sample, b.per_sample, rtol=1e-15)
    np.testing.assert_allclose(a.gradient, b.gradient, rtol=1e-15)


def test_tweedie_power_1_is_the_poisson_deviance(rng):
    p, t = rng.uniform(0.1, 5, size=30), rng.poisson(2.0, size=30).astype(float)
    t[0] = 0.0
    result = run("tweedie_deviance", p, t, power=1.0)
    np.testing.assert_allclose(result.per_sample, 2 * (xlogy(t, t / p) - t + p), rtol=1e-13)
    assert result.per_sample[0] == pytest.approx(2 * p[0], rel=1e-15)
    assert result.value == pytest.approx(mean_poisson_deviance(t, p), rel=1e-12)


def test_tweedie_power_2_is_the_gamma_deviance(rng):
    p, t = rng.uniform(0.1, 5, size=30), rng.uniform(0.1, 5, size=30)
    result = run("tweedie_deviance", p, t, power=2.0)
    np.testing.assert_allclose(result.per_sample, 2 * (np.log(p / t) + t / p - 1), rtol=1e-13)
    assert result.value == pytest.approx(mean_gamma_deviance(t, p), rel=1e-12)


def test_tweedie_powers_near_the_special_cases_are_continuous(rng):
    p, t = rng.uniform(0.5, 3, size=10), rng.uniform(0.5, 3, size=10)
    for power in (1.0, 2.0):
        exact = run("tweedie_deviance", p, t, power=power).per_sample
        for side in (-1e-7, 1e-7):
            if power + side < 1:
                continue
            near = run("tweedie_deviance", p, t, power=power + side).per_sample
            # d(deviance)/d(power) is O(1) here: a 1e-7 step moves the values by about 1e-7 relative;
            # scikit-learn's three-term form is off by up to 1e-4 relative at these powers.
            np.testing.assert_allclose(near, exact, rtol=1e-6)


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.5])
def test_smooth_l1_is_huber_over_beta(rng, beta):
    p, t = rng.normal(size=(20, 3)) * 2, rng.normal(size=(20, 3))
    p[0, 0] = t[0, 0] + beta  # at the seam
    s, h = run("smooth_l1", p, t, beta=beta), run("huber", p, t, delta=beta)
    np.testing.assert_allclose(s.per_sample, h.per_sample / beta, rtol=1e-14)
    np.testing.assert_allclose(s.gradient, h.gradient / beta, rtol=1e-14)


def test_smooth_l1_beta_0_is_the_absolute_error(rng):
    p, t = rng.normal(size=(10, 2)), rng.normal(size=(10, 2))
    p[0, 0] = t[0, 0]
    s, m = run("smooth_l1", p, t, beta=0.0), run("mae", p, t)
    np.testing.assert_array_equal(s.per_sample, m.per_sample)
    np.testing.assert_array_equal(s.gradient, m.gradient)
    assert s.gradient[0, 0] == 0.0


def _pseudo_huber_exact(e: float, delta: float) -> tuple[float, float]:
    """(value, gradient) with 60 significant digits."""
    with localcontext() as ctx:
        ctx.prec = 60
        d, x = Decimal(delta), Decimal(e)
        root = (1 + (x / d) ** 2).sqrt()
        return float(d * d * (root - 1)), float(x / root)


@pytest.mark.parametrize("delta", [1.0, 0.3, 4.0])
def test_pseudo_huber_is_exact(delta):
    e = np.array([0.0, 1e-12, -3e-6, 0.01, -0.7, 1.0, 2.5, -40.0, 1e6, -1e200])
    result = run("pseudo_huber", e, np.zeros_like(e), delta=delta, reduction="none")
    values, gradients = zip(*(_pseudo_huber_exact(x, delta) for x in e), strict=True)
    np.testing.assert_allclose(result.per_sample, values, rtol=4e-16, atol=0)
    np.testing.assert_allclose(result.gradient, gradients, rtol=4e-16, atol=0)


@pytest.mark.parametrize("delta", [1.0, 0.3, 4.0])
def test_pseudo_huber_has_huber_shape(delta):
    small = delta * np.array([1e-4, -3e-4])
    values = run("pseudo_huber", small, np.zeros(2), delta=delta, reduction="none").per_sample
    np.testing.assert_allclose(values, 0.5 * small**2, rtol=1e-7)
    large = delta * np.array([1e5, -3e6])
    values = run("pseudo_huber", large, np.zeros(2), delta=delta, reduction="none").per_sample
    np.testing.assert_allclose(values, delta * np.abs(large), rtol=2e-5)
    np.testing.assert_allclose(values, delta * np.abs(large) - delta**2, rtol=1e-9)


def test_log_cosh_is_exact_for_large_and_tiny_errors():
    e = np.array([1000.0, -1000.0, 30.0, 1e-8, -2e-5, 0.5, 0.0])
    result = run("log_cosh", e, np.zeros_like(e), reduction="none")
    # log cosh(e) = |e| - log 2 + log1p(e^-2|e|); e^2/2 - e^4/12 + e^6/45 near 0; math.cosh for 0.5.
    expected = [1000 - math.log(2), 1000 - math.log(2), 30 - math.log(2), 5e-17, 2e-10 - 16e-20 / 12]
    np.testing.assert_allclose(result.per_sample[:5], expected, rtol=1e-15)
    assert result.per_sample[5] == pytest.approx(math.log(math.cosh(0.5)), rel=1e-15)
    assert result.per_sample[6] == 0.0
    np.testing.assert_allclose(result.gradient, np.tanh(e), rtol=1e-15)
    assert result.gradient[0] == 1.0 and result.gradient[1] == -1.0


def test_log_cosh_near_zero_continuity():
    # The two branches meet at |e| = 1.
    e = np.array([1 - 1e-12, 1.0, 1 + 1e-12])
    values = run("log_cosh", e, np.zeros(3), reduction="none").per_sample
    np.testing.assert_allclose(values, math.log(math.cosh(1.0)), rtol=1e-11)


def test_poisson_log_rates_are_stable():
    x = np.array([-1000.0, 700.0, 0.0])
    y = np.array([3.0, 2.0, 0.0])
    result = run("poisson", x, y, log_input=True, reduction="none")
    np.testing.assert_allclose(result.per_sample, [3000.0, math.exp(700) - 1400, 1.0], rtol=1e-15)
    np.testing.assert_allclose(result.gradient, [-3.0, math.exp(700) - 2, 1.0], rtol=1e-15)


def test_poisson_zero_rate_is_finite():
    result = run("poisson", [0.0, 0.0], [0.0, 2.0], reduction="none")
    assert result.per_sample.tolist() == pytest.approx([0.0, -2 * math.log(1e-8)], rel=1e-15)
    assert result.gradient.tolist() == pytest.approx([1.0, 1 - 2e8], rel=1e-15)


def test_poisson_full_adds_stirling_for_targets_above_one():
    y = np.array([0.0, 1.0, 1.5, 10.0])
    mu = np.full(4, 2.0)
    plain = run("poisson", mu, y, reduction="none").per_sample
    full = run("poisson", mu, y, full=True, reduction="none").per_sample
    stirling = np.where(y > 1, xlogy(y, y) - y + 0.5 * np.log(2 * np.pi * np.maximum(y, 1)), 0.0)
    np.testing.assert_allclose(full - plain, stirling, rtol=1e-13, atol=0)


# Domains: 422s (InvalidInput) with the culprit's index in the location.


def _raises(name, p, t, location, match, **params):
    with pytest.raises(InvalidInput, match=match) as info:
        run(name, p, t, **params)
    assert info.value.errors[0].location == location
    return info.value


@pytest.mark.parametrize(
    ("p", "t", "location"),
    [
        ([0.0, 1.0, -1.0], [0.0, 1.0, 2.0], ("predictions", 2)),
        ([0.0, 1.0, 2.0], [0.0, -1.5, 2.0], ("targets", 1)),
        ([[0.0, 1.0], [-1.0, 2.0]], [[0.0, 1.0], [1.0, 2.0]], ("predictions", 1, 0)),
    ],
)
def test_msle_refuses_values_at_or_below_minus_one(p, t, location):
    error = _raises("msle", p, t, location, r"is outside \(-1\.0, inf\): log\(1 \+ x\) needs values > -1")
    # sklearn refuses exactly -1 too, and accepts values just above it.
    with pytest.raises(ValueError, match="less than or equal to -1"):
        mean_squared_log_error(t, p)
    assert "-1" in error.detail


def test_msle_accepts_values_just_above_minus_one():
    p, t = [-0.999999, 0.5], [0.0, -0.5]
    assert run("msle", p, t).value == pytest.approx(mean_squared_log_error(t, p), rel=1e-12)


@pytest.mark.parametrize(
    ("params", "p", "t", "location", "match"),
    [
        ({}, [1.0, -0.5], [1.0, 1.0], ("predictions", 1), "rates are >= 0"),
        ({}, [1.0, 2.0], [1.0, -1.0], ("targets", 1), "Poisson targets are counts"),
        ({"log_input": True}, [1.0, -3.0], [-2.0, 1.0], ("targets", 0), "Poisson targets"),
        ({"log_input": True}, [1.0, 710.0], [1.0, 1.0], ("predictions", 1), "overflow"),
    ],
)
def test_poisson_domain(params, p, t, location, match):
    _raises("poisson", p, t, location, match, **params)


def test_poisson_log_rates_may_be_negative():
    assert math.isfinite(run("poisson", [-3.0], [1.0], log_input=True).value)


@pytest.mark.parametrize(
    ("power", "p", "t", "location", "rule"),
    [
        (-1.0, [1.0, 0.0], [-3.0, 1.0], ("predictions", 1), "predictions > 0"),
        (1.0, [1.0, 0.0], [0.0, 1.0], ("predictions", 1), "predictions > 0, targets >= 0"),
        (1.5, [1.0, 2.0], [0.0, -1.0], ("targets", 1), "predictions > 0, targets >= 0"),
        (2.0, [1.0, 2.0], [1.0, 0.0], ("targets", 1), "predictions > 0 and targets > 0"),
        (3.0, [[1.0, -2.0]], [[1.0, 1.0]], ("predictions", 0, 1), "predictions > 0 and targets > 0"),
    ],
)
def test_tweedie_domain_as_sklearn(power, p, t, location, rule):
    _raises("tweedie_deviance", p, t, location, f"power={power!r} needs {rule}", power=power)
    with pytest.raises(ValueError, match=f"power={power}"):
        mean_tweedie_deviance(np.ravel(t), np.ravel(p), power=power)


def test_tweedie_negative_power_accepts_negative_targets_and_zero_counts_at_power_1():
    assert run("tweedie_deviance", [1.0, 2.0], [-3.0, 0.0], power=-2.0).value == pytest.approx(
        mean_tweedie_deviance([-3.0, 0.0], [1.0, 2.0], power=-2.0), rel=1e-12
    )
    assert run("tweedie_deviance", [1.0], [0.0], power=1.2).per_sample[0] == pytest.approx(2 / 0.8, rel=1e-15)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("tweedie_deviance", {"power": 0.5}),
        ("tweedie_deviance", {"power": 0.999}),
        ("quantile", {"quantile": 0.0}),
        ("quantile", {"quantile": 1.0}),
        ("smooth_l1", {"beta": -0.1}),
        ("pseudo_huber", {"delta": 0.0}),
        ("poisson", {"epsilon": 0.0}),
        ("mape", {"epsilon": 0.0}),
    ],
)
def test_parameters_out_of_range_are_refused(name, params):
    with pytest.raises(ValidationError):
        registry.get(name).params(**params)


def test_aliases():
    for alias, name in [("mape", "mean_absolute_percentage_error"), ("msle", "mean_squared_log_error")]:
        assert registry.get(alias).name == name
    assert registry.get("pinball").name == "quantile"


@pytest.mark.anyio
async def test_domain_error_is_a_located_422(client):
    body = {"losses": ["msle"], "predictions": [0.5, -1.0], "targets": [0.0, 1.0]}
    response = await client.post("/v1/evaluate", json=body)
    assert response.status_code == 422, response.text
    assert "body.predictions[1]" in [e["location"] for e in response.json()["errors"]]
    body = {"losses": [{"name": "tweedie_deviance", "power": 0.5}], "predictions": [1.0], "targets": [1.0]}
    assert (await client.post("/v1/evaluate", json=body)).status_code == 422
