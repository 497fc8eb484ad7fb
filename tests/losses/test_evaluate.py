"""The evaluation pipeline: nan_policy, shared checks, effective weights and counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from service.losses import registry
from service.losses.errors import InvalidInput, NonFiniteInput
from service.losses.evaluate import LossSpec, Options, evaluate

ALL = frozenset({"stats", "per_sample", "gradient", "breakdown"})


def spec(name, **params):
    definition = registry.get(name)
    return LossSpec(definition, definition.params(**params))


def test_raise_names_the_first_non_finite_element():
    p = np.array([[1.0, 2.0], [np.inf, 1.0], [np.nan, 0.0]])
    with pytest.raises(NonFiniteInput) as info:
        evaluate([spec("mse")], p, np.zeros((3, 2)), None, Options())
    assert info.value.errors[0].location == ("predictions", 1, 0)
    with pytest.raises(NonFiniteInput) as info:
        evaluate([spec("mse")], np.zeros(2), np.zeros(2), np.array([1.0, np.nan]), Options())
    assert info.value.errors[0].location == ("weights", 1)


def test_omit_equals_dropping_the_rows():
    rng = np.random.default_rng(0)
    p, t, w = rng.normal(size=(8, 2)), rng.normal(size=(8, 2)), rng.uniform(0.5, 1, 8)
    p[2, 1] = np.nan
    t[5, 0] = -np.inf
    w[6] = np.nan
    (omitted,) = evaluate([spec("huber")], p, t, w, Options(nan_policy="omit", include=ALL))
    keep = np.array([i not in (2, 5, 6) for i in range(8)])
    (dropped,) = evaluate([spec("huber")], p[keep], t[keep], w[keep], Options(include=ALL))
    assert omitted.value == dropped.value and omitted.omitted == 3 and omitted.count == 5
    assert np.isnan(omitted.per_sample[~keep]).all()
    np.testing.assert_array_equal(omitted.per_sample[keep], dropped.per_sample)
    np.testing.assert_array_equal(omitted.gradient[keep], dropped.gradient)
    assert (omitted.gradient[~keep] == 0).all()
    assert [i for i, _ in omitted.stats.top] == [np.flatnonzero(keep)[i] for i, _ in dropped.stats.top]


def test_propagate_makes_every_aggregate_unknown():
    p = np.array([1.0, np.nan, 3.0])
    (result,) = evaluate([spec("mse")], p, np.zeros(3), None, Options(nan_policy="propagate", include=ALL))
    assert math.isnan(result.value) and math.isnan(result.stats.mean)
    assert np.isnan(result.gradient).all()
    assert result.stats.top[0][0] == 1
    (none,) = evaluate(
        [spec("mse")], p, np.zeros(3), None, Options(reduction="none", nan_policy="propagate", include=ALL)
    )
    np.testing.assert_array_equal(none.gradient, [2.0, np.nan, 6.0])


def test_class_weights_make_the_effective_weight():
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    y = np.array([0, 1, 1])
    s = np.array([1.0, 2.0, 0.5])
    (result,) = evaluate(
        [spec("cross_entropy", input="logits", class_weights=(3.0, 0.5))], logits, y, s, Options(include=ALL)
    )
    losses = np.log1p(np.exp(-np.array([2.0, 2.0, 0.0])))
    effective = s * np.array([3.0, 0.5, 0.5])
    assert result.weight_sum == pytest.approx(effective.sum())
    assert result.value == pytest.approx((effective * losses).sum() / effective.sum(), rel=1e-14)
    np.testing.assert_allclose(result.per_sample, losses, rtol=1e-14)
    groups = {g.key: g for g in result.breakdown.groups}
    assert groups[1].count == 2 and groups[1].value == pytest.approx(
        (effective[1:] * losses[1:]).sum() / effective[1:].sum()
    )


def test_shared_checks():
    with pytest.raises(InvalidInput, match="at least one sample"):
        evaluate([spec("mse")], np.zeros(0), np.zeros(0), None, Options())
    with pytest.raises(InvalidInput, match=r"at least one sample and element; got shape \(1, 0\)"):
        evaluate([spec("mse")], np.zeros((1, 0)), np.zeros((1, 0)), None, Options())
    with pytest.raises(InvalidInput, match="one row per sample"):
        evaluate([spec("mse")], np.zeros(3), np.zeros(2), None, Options())
    with pytest.raises(InvalidInput, match="negative"):
        evaluate([spec("mse")], np.zeros(2), np.zeros(2), np.array([1.0, -0.5]), Options())
    with pytest.raises(InvalidInput) as info:
        evaluate(
            [spec("mse"), spec("cross_entropy", class_weights=(1.0,))],
            np.full((2, 2), 0.5),
            np.full((2, 2), 0.5),
            None,
            Options(),
        )
    assert info.value.errors[0].location == ("losses", 1, "class_weights")


def test_all_rows_omitted_gives_null_aggregates():
    (result,) = evaluate(
        [spec("mae")], np.array([np.nan, np.nan]), np.zeros(2), None, Options(nan_policy="omit", include=ALL)
    )
    assert math.isnan(result.value) and result.count == 0 and result.omitted == 2
    assert result.stats.top == []


def test_errors_under_omit_name_the_original_row():
    p = np.array([0.5, np.nan, np.nan, 0.2, 1.5])
    with pytest.raises(InvalidInput) as info:
        evaluate([spec("bce")], p, np.zeros(5), None, Options(nan_policy="omit"))
    assert info.value.errors[0].location == ("predictions", 4)
    assert "predictions[4] = 1.5" in info.value.detail and "predictions[4]" in info.value.errors[0].message
