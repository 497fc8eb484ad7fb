"""Reference values from Keras 3 (JAX backend, float64) for cosine_similarity, dice and tversky.

Run by hand: ``pip install keras jax`` then
``KERAS_BACKEND=jax python -m tests.reference.make_keras_similarity``; writes keras_similarity.json.

Calls ``keras.losses.CosineSimilarity(axis=-1)``, ``keras.losses.Dice(axis=-1)`` and
``keras.losses.Tversky(alpha, beta, axis=-1)``, with ``keras.config.set_epsilon(epsilon)`` for our
epsilon; gradients by ``jax.grad`` of the reduced loss. Reductions map as in make_keras_multiclass.py.
Cosine cases include a target row of zeros and a prediction row of norm below epsilon (not a zero
prediction row: there Keras's JAX gradient is nan, from rsqrt(0)).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import itertools  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402

from .common import case, rng, write  # noqa: E402
from .make_keras_multiclass import run_keras  # noqa: E402

keras.config.set_floatx("float64")

REDUCTIONS = ("mean", "sum", "sum_over_batch_size", "none")


def main() -> None:
    r = rng(20261125)
    anchor = f"keras {keras.__version__} (jax {jax.__version__})"
    cases = []
    n, d = 7, 5
    for reduction, weighted, epsilon in itertools.product(REDUCTIONS, [False, True], [1e-7, 1e-3]):
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        p, y = r.normal(size=(n, d)) * 2, r.normal(size=(n, d))
        y[1] = 0.0
        p[2] = [3e-8, -1e-8, 2e-8, 0.0, 1e-9] if epsilon == 1e-7 else [3e-4, -1e-4, 2e-4, 0.0, 1e-5]
        p[3] = -2.5 * y[3]
        keras.config.set_epsilon(epsilon)
        value, per_sample, grad = run_keras(
            lambda red: keras.losses.CosineSimilarity(axis=-1, reduction=red), y, p, w, reduction
        )
        params = {} if epsilon == 1e-7 else {"epsilon": epsilon}
        cases.append(case("cosine_similarity", params, p, y, reduction, value, per_sample, grad, anchor, w))
    overlap = [
        ("dice", {}, 1e-7),
        ("dice", {}, 0.5),
        ("tversky", {"alpha": 0.5, "beta": 0.5}, 1e-7),
        ("tversky", {"alpha": 0.7, "beta": 0.3}, 1e-7),
        ("tversky", {"alpha": 0.1, "beta": 2.0}, 0.5),
    ]
    for (name, params, epsilon), reduction, weighted in itertools.product(overlap, REDUCTIONS, [False, True]):
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        p = r.uniform(0.0, 1.0, size=(n, d))
        y = (r.uniform(size=(n, d)) > 0.5).astype(float)
        y[0] = 0.0  # empty target
        y[1] = [0.2, 0.9, 0.0, 1.0, 0.5]  # soft target
        p[2] = y[2]  # perfect prediction
        keras.config.set_epsilon(epsilon)
        if name == "dice":
            make = lambda red: keras.losses.Dice(axis=-1, reduction=red)  # noqa: E731
        else:
            make = lambda red, kw=params: keras.losses.Tversky(axis=-1, reduction=red, **kw)  # noqa: E731
        value, per_sample, grad = run_keras(make, y, p, w, reduction)
        ours = dict(params) | ({} if epsilon == 1e-7 else {"epsilon": epsilon})
        cases.append(case(name, ours, p, y, reduction, value, per_sample, grad, anchor, w))
    keras.config.set_epsilon(1e-7)
    write("keras_similarity", anchor, cases)


if __name__ == "__main__":
    main()
