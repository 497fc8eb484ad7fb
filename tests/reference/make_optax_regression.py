"""Reference values from Optax (JAX, float64) for log_cosh and huber.

Run by hand: ``pip install optax jax`` (optax 0.2.8, jax 0.10.2 when written) then
``python -m tests.reference.make_optax_regression``; writes optax_regression.json.

Optax returns element losses; they are reduced here as this service defines (the mean over the
outputs of a row, then the weighted mean, sum or sum over the batch size), and the gradients are
jax.grad of that reduction, so per-element values and derivatives are Optax's own.
"""

from __future__ import annotations

import itertools

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from .common import case, rng, write  # noqa: E402

REDUCTIONS = ("mean", "sum", "sum_over_batch_size", "none")


def reduce(elements: jnp.ndarray, weights: jnp.ndarray | None, reduction: str) -> jnp.ndarray:
    rows = elements if elements.ndim == 1 else elements.mean(axis=1)
    s = jnp.ones_like(rows) if weights is None else weights
    if reduction == "mean":
        return (s * rows).sum() / s.sum()
    if reduction == "sum_over_batch_size":
        return (s * rows).sum() / rows.shape[0]
    return (s * rows).sum()  # 'sum', and the gradient of Σ wᵢ lᵢ for 'none'


def main() -> None:
    r = rng(20261124)
    cases = []
    anchor = f"optax {optax.__version__} (jax {jax.__version__})"
    combos = itertools.product([(9,), (5, 3)], REDUCTIONS, [False, True])
    for shape, reduction, weighted in combos:
        p, t = r.normal(size=shape) * 3, r.normal(size=shape)
        p.flat[0] = t.flat[0] + 1000.0  # log_cosh stays finite and exact far out
        p.flat[1] = t.flat[1] - 1000.0
        p.flat[2] = t.flat[2]
        w = r.uniform(0.1, 2.0, size=shape[0]) if weighted else None
        wj = None if w is None else jnp.asarray(w)
        tj = jnp.asarray(t)
        for name, params, fn in [
            ("log_cosh", {}, lambda x: optax.losses.log_cosh(x, tj)),
            ("huber", {"delta": 1.0}, lambda x: optax.losses.huber_loss(x, tj, delta=1.0)),
            ("huber", {"delta": 0.4}, lambda x: optax.losses.huber_loss(x, tj, delta=0.4)),
        ]:
            elements = np.asarray(fn(jnp.asarray(p)))
            per_sample = elements if elements.ndim == 1 else elements.mean(axis=1)
            total = lambda x: reduce(fn(x), wj, reduction)
            value = None if reduction == "none" else float(total(jnp.asarray(p)))
            gradient = np.asarray(jax.grad(total)(jnp.asarray(p)))
            cases.append(case(name, params, p, t, reduction, value, per_sample, gradient, anchor, w))
    write("optax_regression", anchor, cases)


if __name__ == "__main__":
    main()
