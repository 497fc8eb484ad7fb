"""gaussian_nll: closed forms, the variance clamp and its gradient, relations to the squared error.

PyTorch's numbers are in tests/reference/torch_probabilistic.json.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from service.losses.errors import InvalidInput

from .helpers import evaluate_loss

run = functools.partial(evaluate_loss, "gaussian_nll", reduction="none")


def test_closed_form_and_gradient():
    predictions = np.array([[1.0, 4.0], [0.0, 0.5], [-2.0, 1.0]])
    y = np.array([3.0, 0.0, -2.0])
    result = run(predictions, y)
    np.testing.assert_allclose(result.per_sample, 0.5 * (np.log([4.0, 0.5, 1.0]) + [1.0, 0.0, 0.0]))
    np.testing.assert_allclose(result.gradient, [[-0.5, 0.0], [0.0, 1.0], [0.0, 0.5]])
    full = run(predictions, y, full=True)
    np.testing.assert_allclose(full.per_sample - result.per_sample, 0.5 * np.log(2 * np.pi), rtol=1e-15)


def test_unit_variance_is_half_the_squared_error():
    rng = np.random.default_rng(8)
    mean, y = rng.normal(size=20), rng.normal(size=20)
    result = run(np.stack([mean, np.ones(20)], axis=1), y)
    np.testing.assert_allclose(result.per_sample, 0.5 * (y - mean) ** 2, rtol=1e-15)
    np.testing.assert_allclose(result.gradient[:, 0], mean - y, rtol=1e-15)


def test_variances_at_and_below_eps():
    eps = 1e-6
    predictions = np.array([[0.0, 0.0], [0.0, eps / 10], [0.0, eps], [0.0, 2 * eps]])
    y = np.full(4, 1e-3)
    result = run(predictions, y)
    # Clamped to eps: the same value from 0 up to eps, finite for a variance of exactly 0.
    at_eps = 0.5 * (np.log(eps) + 1e-6 / eps)
    np.testing.assert_allclose(result.per_sample[:3], at_eps, rtol=1e-15)
    # Below eps the value is constant, so the variance's gradient is 0; at eps it is the derivative.
    np.testing.assert_array_equal(result.gradient[:2, 1], 0.0)
    assert result.gradient[2, 1] == pytest.approx(0.5 * (1.0 - 1.0) / eps, abs=1e-6)
    assert result.gradient[3, 1] == pytest.approx(0.5 * (1.0 - 0.5) / (2 * eps), rel=1e-12)
    np.testing.assert_allclose(result.gradient[:3, 0], -1e-3 / eps, rtol=1e-15)


def test_a_negative_variance_is_refused_where_it_is():
    with pytest.raises(InvalidInput, match=r"predictions\[1\]\[1\] = -0.5 is a negative variance") as info:
        run([[0.0, 1.0], [0.0, -0.5]], [0.0, 0.0])
    assert info.value.errors[0].location == ("predictions", 1, 1)
    with pytest.raises(InvalidInput, match=r"targets must have shape \(N,\)"):
        run([[0.0, 1.0]], [[0.0, 1.0]])
