"""One suite over the whole registry: every loss, parameter set, input layout and reduction.

Gradients against central finite differences of the reduced value; perfect predictions at the
minimum; weights of ones change nothing; the reductions' relations; stats.mean = value.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from service.losses import registry
from service.losses.evaluate import LossResult, LossSpec, Options, evaluate

from .inputs import hard_targets, param_sets, perfect, sample, variants

ALL = frozenset({"stats", "per_sample", "gradient", "breakdown"})


def _cases() -> list[pytest.param]:
    cases = []
    for definition in registry.definitions():
        for raw in param_sets(definition):
            params = definition.params(**raw)
            for variant in variants(definition, params):
                label = ",".join(f"{k}={v}" for k, v in raw.items()) or "defaults"
                cases.append(
                    pytest.param(definition.name, raw, variant, id=f"{definition.name}[{label}]-{variant}")
                )
    return cases


CASES = _cases()


def _rng(*key: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def run(
    spec: LossSpec, p: np.ndarray, t: np.ndarray | None, w: np.ndarray | None, reduction: str = "mean"
) -> LossResult:
    (result,) = evaluate([spec], p, t, w, Options(reduction=reduction, include=ALL))  # type: ignore[arg-type]
    return result


def _spec(name: str, raw: dict) -> LossSpec:
    definition = registry.get(name)
    return LossSpec(definition, definition.params(**raw))


def finite_difference(f, x: np.ndarray, h: float) -> np.ndarray:
    """Fourth-order central differences of a scalar function, element by element."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        steps = []
        for k in (-2, -1, 1, 2):
            shifted = x.copy()
            shifted[index] += k * h
            steps.append(f(shifted))
        grad[index] = (steps[0] - 8 * steps[1] + 8 * steps[2] - steps[3]) / (12 * h)
    return grad


@pytest.mark.parametrize(("name", "raw", "variant"), CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "sum_over_batch_size", "none"])
def test_gradient_matches_finite_differences(name, raw, variant, reduction):
    spec = _spec(name, raw)
    definition = spec.definition
    if reduction not in definition.reductions or not definition.has_gradient:
        pytest.skip(f"{name} has no {reduction} reduction or no gradient")
    rng = _rng(name, raw, variant)
    p, t = sample(definition, spec.params, variant, rng)
    w = rng.uniform(0.5, 2.0, size=p.shape[0])
    result = run(spec, p, t, w, reduction)
    assert result.gradient is not None and result.gradient.shape == p.shape
    assert np.isfinite(result.gradient).all()
    # For 'none' the gradient is that of Σ wᵢ lᵢ, which is the 'sum' value.
    value_reduction = "sum" if reduction == "none" else reduction
    mode = definition.mode_for(spec.params)
    h = 1e-7 if mode.predictions in ("simplex", "log_simplex") else 1e-5
    numeric = finite_difference(lambda x: run(spec, x, t, w, value_reduction).value, p, h)
    np.testing.assert_allclose(result.gradient, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("name", "raw", "variant"), CASES)
def test_reductions_relate(name, raw, variant):
    spec = _spec(name, raw)
    if spec.definition.transform is not None:
        pytest.skip("value is a transform of the mean; only reduction 'mean' exists")
    rng = _rng("reductions", name, raw, variant)
    p, t = sample(spec.definition, spec.params, variant, rng)
    w = rng.uniform(0.0, 2.0, size=p.shape[0])
    mean = run(spec, p, t, w, "mean")
    total = run(spec, p, t, w, "sum")
    per_batch = run(spec, p, t, w, "sum_over_batch_size")
    none = run(spec, p, t, w, "none")
    assert total.value == pytest.approx(mean.value * mean.weight_sum, rel=1e-12)
    assert per_batch.value == pytest.approx(total.value / mean.count, rel=1e-12)
    assert none.value is None
    np.testing.assert_allclose(none.per_sample, mean.per_sample, rtol=1e-15)
    assert mean.stats.mean == pytest.approx(mean.value, rel=1e-12)
    assert mean.stats.sum == pytest.approx(total.value, rel=1e-12)


@pytest.mark.parametrize(("name", "raw", "variant"), CASES)
def test_weights_of_ones_change_nothing(name, raw, variant):
    spec = _spec(name, raw)
    p, t = sample(spec.definition, spec.params, variant, _rng("ones", name, raw, variant))
    plain = run(spec, p, t, None)
    ones = run(spec, p, t, np.ones(p.shape[0]))
    assert ones.value == pytest.approx(plain.value, rel=1e-14)
    np.testing.assert_allclose(ones.per_sample, plain.per_sample, rtol=1e-14)
    if plain.gradient is not None:
        np.testing.assert_allclose(ones.gradient, plain.gradient, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize(("name", "raw", "variant"), CASES)
def test_weights_act_as_repetition(name, raw, variant):
    """An integer weight k equals the row repeated k times (reduction mean)."""
    spec = _spec(name, raw)
    rng = _rng("repeat", name, raw, variant)
    p, t = sample(spec.definition, spec.params, variant, rng)
    counts = rng.integers(1, 4, size=p.shape[0])
    weighted = run(spec, p, t, counts.astype(float))
    repeated = run(
        spec, np.repeat(p, counts, axis=0), None if t is None else np.repeat(t, counts, axis=0), None
    )
    assert weighted.value == pytest.approx(repeated.value, rel=1e-12)
    for q, v in weighted.stats.quantiles.items():
        assert v == pytest.approx(repeated.stats.quantiles[q], rel=1e-12)


@pytest.mark.parametrize(
    ("name", "raw", "variant"),
    [c for c in CASES if not c.values[1]],  # defaults: a minimum is about the loss, not its options
)
def test_perfect_prediction_is_the_minimum(name, raw, variant):
    spec = _spec(name, raw)
    rng = _rng("perfect", name, variant)
    targets = hard_targets(spec.definition, spec.params, variant, rng)
    best = perfect(spec.definition, spec.params, targets)
    if best is None:
        pytest.skip(f"{spec.definition.family} losses have no single perfect prediction")
    at_best = run(spec, best, targets, None).per_sample
    for trial in range(5):
        other, _ = sample(spec.definition, spec.params, variant, _rng("other", name, variant, trial))
        at_other = run(spec, other, targets, None).per_sample
        assert np.all(at_best <= at_other + 1e-12)
    if spec.definition.nonnegative:
        assert np.all(at_best >= -1e-12)
