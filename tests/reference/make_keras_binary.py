"""Reference values from Keras 3 (JAX backend, float64) for binary_focal, hinge and squared_hinge.

Run by hand: ``pip install keras jax`` then
``KERAS_BACKEND=jax python -m tests.reference.make_keras_binary``; writes keras_binary.json.

Values come from the Keras loss objects with Keras's reductions and sample weights (Keras
"mean_with_sample_weight" is our "mean", "sum" and "sum_over_batch_size" are ours; "none" is the
per-sample output), gradients from ``jax.grad`` of the same call. (N,) inputs are given to Keras as
(N, 1), whose mean over the last axis is the sample's loss. Focal cases keep probabilities within
[1e-6, 1 - 1e-6] and logits within |x| <= 12, where Keras's clip at 1e-7 is inactive.

One patch, for precision only: Keras 3.15's ``ops.mean`` computes in
``result_type(x.dtype, "float32")``, which Keras resolves to float32 even for float64 inputs, so
every loss's mean over the last axis is rounded to float32 (relative errors ~5e-8, on the JAX and
the torch backends alike). The generator replaces the JAX backend's ``mean`` by ``jnp.mean`` in
float64; the formulas are Keras's, untouched.
"""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402
import keras.src.backend.jax.numpy as keras_jax_numpy  # noqa: E402
import numpy as np  # noqa: E402

from .common import case, rng, write  # noqa: E402

keras.config.set_floatx("float64")
keras_jax_numpy.mean = lambda x, axis=None, keepdims=False: jax.numpy.mean(
    jax.numpy.asarray(x), axis=axis, keepdims=keepdims
)
REDUCTIONS = {"mean": "mean_with_sample_weight", "sum": "sum", "sum_over_batch_size": "sum_over_batch_size"}


def run(make, y: np.ndarray, p: np.ndarray, w: np.ndarray | None, reduction: str):
    """(value, per-sample, gradient) of a Keras loss, in this service's conventions."""
    column = p.ndim == 1
    y2, p2 = (y[:, None], p[:, None]) if column else (y, p)
    sw = None if w is None else jax.numpy.asarray(w)
    none = np.asarray(make("none")(y2, p2))
    keras_reduction = "sum" if reduction == "none" else REDUCTIONS[reduction]
    loss = make(keras_reduction)
    value, gradient = jax.value_and_grad(lambda x: loss(y2, x, sample_weight=sw))(jax.numpy.asarray(p2))
    gradient = np.asarray(gradient)
    return (
        None if reduction == "none" else float(value),
        none,
        gradient[:, 0] if column else gradient,
    )


def main() -> None:
    r = rng(20261124)
    anchor = f"keras {keras.__version__} (jax {jax.__version__})"
    cases = []
    focal_params = [
        {},
        {"gamma": 0.0},
        {"gamma": 0.5, "alpha": 0.25},
        {"gamma": 3.0, "alpha": 0.8, "label_smoothing": 0.1},
        {"from_logits": True},
        {"from_logits": True, "gamma": 1.5, "alpha": 0.25},
        {"from_logits": True, "gamma": 0.7, "label_smoothing": 0.2},
    ]
    for params, shape, reduction, weighted in itertools.product(
        focal_params, [(8,), (5, 3)], ["mean", "sum", "sum_over_batch_size", "none"], [False, True]
    ):
        y = (r.uniform(size=shape) > 0.5).astype(float)
        y.flat[2] = 0.3  # a soft target
        if params.get("from_logits"):
            p = np.clip(r.normal(size=shape) * 4.0, -12.0, 12.0)
            p.flat[0], p.flat[1] = 12.0, -12.0
        else:
            p = r.uniform(0.01, 0.99, size=shape)
            p.flat[0], p.flat[1] = 1e-6, 1.0 - 1e-6
        w = r.uniform(0.2, 2.0, size=shape[0]) if weighted else None
        alpha = params.get("alpha")
        kwargs = {
            "apply_class_balancing": alpha is not None,
            "alpha": 0.25 if alpha is None else alpha,
            "gamma": params.get("gamma", 2.0),
            "from_logits": params.get("from_logits", False),
            "label_smoothing": params.get("label_smoothing", 0.0),
        }

        def make(red, kwargs=kwargs):
            return keras.losses.BinaryFocalCrossentropy(reduction=red, **kwargs)

        value, none, gradient = run(make, y, p, w, reduction)
        cases.append(case("binary_focal", params, p, y, reduction, value, none, gradient, anchor, w))
    hinges = {"hinge": keras.losses.Hinge, "squared_hinge": keras.losses.SquaredHinge}
    for (name, cls), shape, encoding, reduction, weighted in itertools.product(
        hinges.items(),
        [(8,), (5, 3)],
        ["sign", "binary"],
        ["mean", "sum", "sum_over_batch_size", "none"],
        [False, True],
    ):
        signs = r.choice([-1.0, 1.0], size=shape)
        y = signs if encoding == "sign" else (signs + 1.0) / 2.0
        f = r.normal(size=shape) * 1.5
        f.flat[0] = 3.0 * signs.flat[0]  # a margin beyond 1
        w = r.uniform(0.2, 2.0, size=shape[0]) if weighted else None

        def make(red, cls=cls):
            return cls(reduction=red)

        value, none, gradient = run(make, y, f, w, reduction)
        cases.append(case(name, {}, f, y, reduction, value, none, gradient, anchor, w))
    write("keras_binary", anchor, cases)


if __name__ == "__main__":
    main()
