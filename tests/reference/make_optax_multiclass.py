"""Reference values from Optax (JAX, float64) for poly1_cross_entropy and kl_divergence.

Run by hand: ``pip install optax`` then ``python -m tests.reference.make_optax_multiclass``; writes
optax_multiclass.json.

Calls ``optax.losses.poly_loss_cross_entropy(logits, labels, epsilon=epsilon)`` (per example) with
labels one-hot for our class indices or our target probabilities; the reductions (Σ w l / Σ w, Σ w l,
Σ w l / N) are applied in JAX and gradients are ``jax.grad`` of the reduced value (of Σ w l for
'none'). Logits include a row of ±1000.

kl_divergence: ``optax.losses.kl_divergence(jax.nn.log_softmax(x), q)`` and
``optax.losses.kl_divergence_with_log_targets(jax.nn.log_softmax(x), log_q)`` (our input='logits').
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


def reduce(losses, weights, reduction):
    w = jnp.ones(losses.shape[0]) if weights is None else jnp.asarray(weights)
    total = jnp.sum(w * losses)
    if reduction == "mean":
        return total / jnp.sum(w)
    if reduction == "sum_over_batch_size":
        return total / losses.shape[0]
    return total


def main() -> None:
    r = rng(20261126)
    anchor = f"optax {optax.__version__} (jax {jax.__version__})"
    cases = []
    n, c = 7, 4
    combos = itertools.product([2.0, -1.0, 0.5, 0.0], ["index", "probabilities"], REDUCTIONS, [False, True])
    for epsilon, kind, reduction, weighted in combos:
        x = r.normal(size=(n, c)) * 2
        x[0] = [1000.0, -1000.0, 0.0, 999.0]
        if kind == "index":
            y = r.integers(0, c, size=n)
            y[:c] = np.arange(c)
            ours, labels = y.astype(float), np.eye(c)[y]
        else:
            q = np.exp(r.normal(size=(n, c)))
            q /= q.sum(axis=1, keepdims=True)
            q[1] = [0.0, 1.0, 0.0, 0.0]
            ours, labels = q, q
        w = r.uniform(0.2, 2.0, size=n) if weighted else None

        def per_example(v, labels=labels, epsilon=epsilon):
            return optax.losses.poly_loss_cross_entropy(v, jnp.asarray(labels), epsilon=epsilon)

        def reduced(v, w=w, reduction=reduction, per_example=per_example):
            return reduce(per_example(v), w, reduction)

        value = None if reduction == "none" else float(reduced(jnp.asarray(x)))
        gradient = np.asarray(jax.grad(reduced)(jnp.asarray(x)))
        per_sample = np.asarray(per_example(jnp.asarray(x)))
        params = {"epsilon": epsilon, "input": "logits"}
        cases.append(
            case("poly1_cross_entropy", params, x, ours, reduction, value, per_sample, gradient, anchor, w)
        )
    for log_target, reduction, weighted in itertools.product([False, True], REDUCTIONS, [False, True]):
        x = r.normal(size=(n, c)) * 2
        x[0] = [1000.0, -1000.0, 0.0, 999.0]
        q = np.exp(r.normal(size=(n, c)))
        q /= q.sum(axis=1, keepdims=True)
        if not log_target:
            q[1] = [0.0, 0.5, 0.5, 0.0]
        targets = np.log(q) if log_target else q
        w = r.uniform(0.2, 2.0, size=n) if weighted else None

        def kl(v, targets=targets, log_target=log_target):
            log_p = jax.nn.log_softmax(v)
            if log_target:
                return optax.losses.kl_divergence_with_log_targets(log_p, jnp.asarray(targets))
            return optax.losses.kl_divergence(log_p, jnp.asarray(targets))

        def reduced_kl(v, w=w, reduction=reduction, kl=kl):
            return reduce(kl(v), w, reduction)

        value = None if reduction == "none" else float(reduced_kl(jnp.asarray(x)))
        gradient = np.asarray(jax.grad(reduced_kl)(jnp.asarray(x)))
        params = {"input": "logits", "log_target": log_target}
        per_sample = np.asarray(kl(jnp.asarray(x)))
        cases.append(
            case("kl_divergence", params, x, targets, reduction, value, per_sample, gradient, anchor, w)
        )
    write("optax_multiclass", anchor, cases)


if __name__ == "__main__":
    main()
