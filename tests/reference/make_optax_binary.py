"""Reference values from Optax (JAX, float64) for binary_focal from logits.

Run by hand: ``pip install optax jax`` then ``python -m tests.reference.make_optax_binary``; writes
optax_binary.json.

``optax.losses.sigmoid_focal_loss`` (log-space since Optax 0.2.5) gives the element losses, at logits
up to ±1000; the per-sample loss is their mean over the last axis and the reductions are this
service's, written in jax.numpy; gradients come from ``jax.grad``. Optax has no label smoothing: the
label_smoothing cases pass Optax the smoothed targets y(1 - s) + s/2, as the catalogue's mapping says.
"""

from __future__ import annotations

import itertools

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from .common import case, rng, write  # noqa: E402


def reduce(elements: jax.Array, weights: np.ndarray | None, reduction: str) -> jax.Array:
    rows = elements if elements.ndim == 1 else elements.mean(axis=1)
    w = jnp.ones_like(rows) if weights is None else jnp.asarray(weights)
    if reduction == "mean":
        return (w * rows).sum() / w.sum()
    if reduction == "sum_over_batch_size":
        return (w * rows).sum() / rows.shape[0]
    return (w * rows).sum()  # "sum", and "none"'s gradient of sum_i w_i l_i


def main() -> None:
    r = rng(20261125)
    anchor = f"optax {optax.__version__} (jax {jax.__version__})"
    cases = []
    param_sets = [
        {},
        {"gamma": 0.0},
        {"gamma": 0.5, "alpha": 0.25},
        {"gamma": 3.0, "alpha": 0.9},
        {"gamma": 1.0, "label_smoothing": 0.1},
    ]
    reductions = ("mean", "sum", "sum_over_batch_size", "none")
    for params, shape, reduction, weighted in itertools.product(
        param_sets, [(9,), (5, 3)], reductions, [False, True]
    ):
        x = r.normal(size=shape) * 5.0
        y = (r.uniform(size=shape) > 0.5).astype(float)
        x.flat[0], x.flat[1], x.flat[2], x.flat[3] = 1000.0, -1000.0, 1000.0, -1000.0
        y.flat[0], y.flat[1], y.flat[2], y.flat[3] = 1.0, 1.0, 0.0, 0.0  # right and wrong, extreme
        y.flat[4] = 0.3  # a soft target
        s = params.get("label_smoothing", 0.0)
        labels = jnp.asarray(y * (1.0 - s) + 0.5 * s)
        w = r.uniform(0.2, 2.0, size=shape[0]) if weighted else None
        kwargs = {"alpha": params.get("alpha"), "gamma": params.get("gamma", 2.0)}

        def elements(v, labels=labels, kwargs=kwargs):
            return optax.losses.sigmoid_focal_loss(v, labels, **kwargs)

        value, gradient = jax.value_and_grad(lambda v: reduce(elements(v), w, reduction))(jnp.asarray(x))
        none = np.asarray(elements(jnp.asarray(x)))
        per_sample = none if none.ndim == 1 else none.mean(axis=1)
        params = {"from_logits": True, **params}
        cases.append(
            case(
                "binary_focal",
                params,
                x,
                y,
                reduction,
                None if reduction == "none" else float(value),
                per_sample,
                np.asarray(gradient),
                anchor,
                w,
            )
        )
    write("optax_binary", anchor, cases)


if __name__ == "__main__":
    main()
