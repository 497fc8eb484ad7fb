"""Reference values from Optax (JAX, float64) for ctc.

Run by hand: ``pip install optax`` then ``python -m tests.reference.make_optax_sequence``; writes
optax_sequence.json.

``optax.losses.ctc_loss(z, jnp.zeros((N, T)), labels, labels == -1, blank_id=blank)`` per sequence (no
logit paddings: every frame counts), on label sequences of random lengths with repeated labels and
an empty sequence, and a frame of +-1000 logits. Only sequences some alignment produces: for the
others Optax's log 0 of -1e5 gives a large finite loss where this service gives +inf. Gradients are
``jax.grad`` of the reduced value (of sum w l for 'none').
"""

from __future__ import annotations

import itertools

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from .common import case, reduce, rng, write  # noqa: E402
from .inputs import REDUCTIONS, frame_logits, label_sequences  # noqa: E402


def main() -> None:
    r = rng(20261208)
    anchor = f"optax {optax.__version__} (jax {jax.__version__})"
    cases = []
    for blank, reduction, weighted in itertools.product([0, 2], REDUCTIONS, [False, True]):
        n, frames, classes = 6, 9, 4
        z = frame_logits(r, n, frames, classes)
        labels = label_sequences(r, n, frames, classes, blank, infeasible=False)
        w = r.uniform(0.2, 2.0, size=n) if weighted else None

        def per_sequence(x, labels=labels, blank=blank):
            paddings = jnp.asarray(labels == -1.0, dtype=x.dtype)
            return optax.losses.ctc_loss(
                x, jnp.zeros(x.shape[:2]), jnp.asarray(labels, dtype=jnp.int32), paddings, blank_id=blank
            )

        def reduced(x, w=w, reduction=reduction, per_sequence=per_sequence):
            return reduce(per_sequence(x), None if w is None else jnp.asarray(w), reduction)

        x = jnp.asarray(z)
        value = None if reduction == "none" else float(reduced(x))
        gradient = np.asarray(jax.grad(reduced)(x))
        params = {"blank": blank, "zero_infinity": False}
        cases.append(
            case("ctc", params, z, labels, reduction, value, np.asarray(per_sequence(x)), gradient, anchor, w)
        )
    write("optax_sequence", anchor, cases)


if __name__ == "__main__":
    main()
