"""Reference values from Optax (JAX, float64) for triplet_margin.

Run by hand: ``pip install optax`` then ``python -m tests.reference.make_optax_metric``; writes
optax_metric.json.

``optax.losses.triplet_margin_loss(a, p, n, norm_degree=2, margin=margin, eps=0)`` per triplet: Optax
adds eps to the sum of squares, not to the differences as torch and this service do, so the two
agree for p=2, eps=0 and no swap only (and no anchor equal to its positive, where Optax's gradient
is not finite). Gradients are ``jax.grad`` of the reduced value (of sum w l for 'none').
"""

from __future__ import annotations

import itertools

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from .common import case, reduce, rng, write  # noqa: E402
from .inputs import REDUCTIONS, triplets  # noqa: E402


def main() -> None:
    r = rng(20261205)
    anchor = f"optax {optax.__version__} (jax {jax.__version__})"
    cases = []
    for margin, reduction, weighted in itertools.product([1.0, 0.2, 3.0], REDUCTIONS, [False, True]):
        t = triplets(r, 8, 5)
        t[0, 1] += 1e-3  # near the anchor, not on it
        w = r.uniform(0.2, 2.0, size=len(t)) if weighted else None

        def per_triplet(x, margin=margin):
            return optax.losses.triplet_margin_loss(x[:, 0], x[:, 1], x[:, 2], margin=margin, eps=0.0)

        def reduced(x, w=w, reduction=reduction, per_triplet=per_triplet):
            return reduce(per_triplet(x), None if w is None else jnp.asarray(w), reduction)

        x = jnp.asarray(t)
        value = None if reduction == "none" else float(reduced(x))
        gradient = np.asarray(jax.grad(reduced)(x))
        params = {"margin": margin, "p": 2.0, "eps": 0.0, "swap": False}
        cases.append(
            case(
                "triplet_margin",
                params,
                t,
                None,
                reduction,
                value,
                np.asarray(per_triplet(x)),
                gradient,
                anchor,
                w,
            )
        )
    write("optax_metric", anchor, cases)


if __name__ == "__main__":
    main()
