"""Property tests over the whole registry: random sizes, layouts and extreme inputs.

Finite inputs give finite values, per-sample losses and gradients (logits of ±1000, probabilities of
exactly 0 and 1, embeddings at distance 0, variances at and below eps included); non-negative losses
stay non-negative; per-sample losses do not depend on the other rows.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.losses import registry
from service.losses.evaluate import LossSpec, Options, evaluate
from service.losses.numerics import log_softmax

from .inputs import N_SAMPLES, param_sets, sample, variants

ALL = frozenset({"stats", "per_sample", "gradient", "breakdown"})
CASES = [
    (d.name, raw, variant)
    for d in registry.definitions()
    for raw in param_sets(d)
    for variant in variants(d, d.params(**raw))
]


def extreme(definition, params, p: np.ndarray, rng: np.random.Generator, scale: float, edge: bool):
    space = definition.mode_for(params).predictions
    if space == "real":
        # Logits, scores and embeddings go to ±1000; regression errors stay where exp() of them is finite.
        large = definition.family in ("binary", "multiclass", "ranking", "metric_learning", "sequence")
        p = np.clip(p * scale, -1000.0 if large else -50.0, 1000.0 if large else 50.0)
        if edge and p.ndim == 3 and definition.family == "metric_learning":
            p[::2, 1] = p[::2, 0]  # a pair or anchor-positive at distance 0, where eps matters
        return p
    if edge and space == "mean_variance":
        p = p * np.array([scale, 1.0])
        p[::2, 1] = 0.0  # variances below eps, and at it
        p[1::3, 1] = params.eps
        return p
    if edge and space == "nonnegative" and definition.family == "metric_learning":
        return np.where(rng.uniform(size=p.shape) < 0.5, 0.0, p * scale)  # distances of 0
    if edge and (space == "unit_interval" or (space == "simplex" and p.ndim == 1)):
        mask = rng.uniform(size=p.shape) < 0.5
        return np.where(mask, np.round(p), p)
    if edge and space == "simplex":
        p = p.copy()
        p[0] = np.eye(p.shape[1])[0]
        return p
    if edge and space == "log_simplex":
        p = p.copy()
        p[0] = log_softmax(1000.0 * np.eye(p.shape[1])[0])
        return p
    return p


@given(
    case=st.sampled_from(CASES),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, N_SAMPLES),
    scale=st.sampled_from([1.0, 30.0, 1000.0]),
    edge=st.booleans(),
    reduction=st.sampled_from(["mean", "sum", "sum_over_batch_size", "none"]),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_finite_in_finite_out(case, seed, n, scale, edge, reduction):
    name, raw, variant = case
    definition = registry.get(name)
    params = definition.params(**raw)
    if reduction not in definition.reductions:
        reduction = "mean"
    rng = np.random.default_rng(seed)
    p, t = sample(definition, params, variant, rng)
    p = extreme(definition, params, p, rng, scale, edge)[:n]
    t = None if t is None else t[:n]
    w = rng.uniform(0.1, 3.0, size=n)
    (result,) = evaluate([LossSpec(definition, params)], p, t, w, Options(reduction=reduction, include=ALL))
    assert result.value is None or np.isfinite(result.value)
    assert np.isfinite(result.per_sample).all()
    if definition.has_gradient:
        assert result.gradient.shape == p.shape and np.isfinite(result.gradient).all()
    if definition.nonnegative:
        assert (result.per_sample >= 0).all()
    # Each sample's loss depends on its own row only.
    (alone,) = evaluate(
        [LossSpec(definition, params)],
        p[-1:],
        None if t is None else t[-1:],
        None,
        Options(reduction="mean", include=frozenset({"per_sample"})),
    )
    np.testing.assert_allclose(alone.per_sample, result.per_sample[-1:], rtol=1e-12)
