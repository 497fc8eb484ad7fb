"""Reference values from Keras 3 (JAX backend, float64) for categorical_focal.

Run by hand: ``pip install keras jax optax`` then
``KERAS_BACKEND=jax python -m tests.reference.make_keras_multiclass``; writes keras_multiclass.json.

Calls ``keras.losses.CategoricalFocalCrossentropy(alpha, gamma, from_logits, label_smoothing,
reduction=...)``; gradients by ``jax.grad`` of the reduced loss. Our reductions map to Keras's:
mean -> "mean_with_sample_weight", sum -> "sum", sum_over_batch_size -> the same, none -> None (the
gradient of 'none' is that of Σ w l, Keras's "sum"). Class-index targets are given to Keras one-hot.

"cases" are logits (from_logits=True), where Keras's renormalisation of the softmax output changes
no gradient; logits are kept moderate so that Keras's 1e-7 clip is inactive. Probability inputs are
in "probability_cases" (read by tests/losses/test_multiclass.py): Keras's values equal ours with
epsilon=1e-7, but its gradient is the projection g - (g.p) 1 of ours, because it renormalises rows.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import itertools  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from .common import HERE, case, rng, write  # noqa: E402

keras.config.set_floatx("float64")

KERAS_REDUCTION = {
    "mean": "mean_with_sample_weight",
    "sum": "sum",
    "sum_over_batch_size": "sum_over_batch_size",
}
REDUCTIONS = ("mean", "sum", "sum_over_batch_size", "none")


def run_keras(make_loss, y_true, p, weights, reduction):
    """(value, per-sample losses, gradient) of a Keras loss class built by make_loss(reduction)."""
    y_true = jnp.asarray(y_true)
    sw = None if weights is None else jnp.asarray(weights)
    grad_reduction = "sum" if reduction == "none" else KERAS_REDUCTION[reduction]

    def reduced(x):
        return make_loss(grad_reduction)(y_true, x, sample_weight=sw)

    per_sample = np.asarray(make_loss(None)(y_true, jnp.asarray(p)))
    value = None if reduction == "none" else float(reduced(jnp.asarray(p)))
    gradient = np.asarray(jax.grad(reduced)(jnp.asarray(p)))
    return value, per_sample, gradient


def targets(r, kind: str, n: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """(our targets, Keras's y_true): class indices and their one-hot, or class probabilities."""
    if kind == "index":
        y = r.integers(0, c, size=n)
        y[:c] = np.arange(c)
        return y.astype(float), np.eye(c)[y]
    q = np.exp(r.normal(size=(n, c)))
    q /= q.sum(axis=1, keepdims=True)
    q[1] = [0.0, 1.0, 0.0, 0.0]
    return q, q


def main() -> None:
    r = rng(20261124)
    anchor = f"keras {keras.__version__} (jax {jax.__version__})"
    n, c = 7, 4
    cases, probability_cases = [], []
    settings = [
        {"gamma": 2.0, "alpha": 0.25},
        {"gamma": 0.0, "alpha": 1.0},
        {"gamma": 0.5, "alpha": [0.5, 2.0, 1.0, 0.1]},
        {"gamma": 3.0, "alpha": 0.7, "label_smoothing": 0.1},
        {"gamma": 2.0, "alpha": [1.0, 0.25, 3.0, 0.5], "label_smoothing": 0.3},
    ]
    combos = itertools.product(settings, ["index", "probabilities"], REDUCTIONS, [False, True])
    for setting, kind, reduction, weighted in combos:
        ours, y_true = targets(r, kind, n, c)
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        keras_kwargs = {
            "alpha": setting["alpha"],
            "gamma": setting["gamma"],
            "label_smoothing": setting.get("label_smoothing", 0.0),
        }
        params = dict(setting)

        # Logits: clip inactive (all softmax outputs within [1e-7, 1 - 1e-7]).
        x = r.normal(size=(n, c)) * 2.0

        def logits_loss(red, kw=keras_kwargs):
            return keras.losses.CategoricalFocalCrossentropy(from_logits=True, reduction=red, **kw)

        value, per_sample, grad = run_keras(logits_loss, y_true, x, w, reduction)
        cases.append(
            case(
                "categorical_focal",
                params | {"input": "logits"},
                x,
                ours,
                reduction,
                value,
                per_sample,
                grad,
                anchor,
                w,
            )
        )

        # Probabilities, rows summing to 1 up to rounding; one exact 0 to exercise the clip.
        p = np.exp(r.normal(size=(n, c)))
        p /= p.sum(axis=1, keepdims=True)
        p[2] = [0.0, 0.5, 0.25, 0.25]

        def probability_loss(red, kw=keras_kwargs):
            return keras.losses.CategoricalFocalCrossentropy(from_logits=False, reduction=red, **kw)

        value, per_sample, grad = run_keras(probability_loss, y_true, p, w, reduction)
        params_p = params | {"input": "probabilities", "epsilon": 1e-7}
        probability_cases.append(
            case("categorical_focal", params_p, p, ours, reduction, value, per_sample, grad, anchor, w)
        )
    write("keras_multiclass", anchor, cases)
    path = HERE / "keras_multiclass.json"
    document = json.loads(path.read_text())
    document["probability_cases"] = probability_cases
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"added {len(probability_cases)} probability cases (Keras's projected gradient) to {path}")


if __name__ == "__main__":
    main()
