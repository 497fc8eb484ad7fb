"""Reference values from Optax and rax (JAX, float64) for the list ranking losses.

Run by hand: ``pip install optax rax`` then ``python -m tests.reference.make_optax_ranking``; writes
optax_ranking.json.

- pairwise_logistic, pairwise_hinge (margin 1, rax's): ``rax.pairwise_logistic_loss`` /
  ``rax.pairwise_hinge_loss`` with ``reduce_fn=None`` give per-pair losses (N, L * L), zero for pairs
  that do not count; a row's loss is their sum divided by its number of pairs with t_j > t_k.
- ranking_softmax: ``optax.losses.ranking_softmax_loss(s, t, reduce_fn=None)`` (normalize=false),
  and ``rax.softmax_loss(s, t, label_fn=rax.utils.normalize_probabilities, reduce_fn=None)``
  (normalize=true), whose rows of zero relevance this service does not count.

Rows that do not count are left out of the reductions; gradients are ``jax.grad`` of the reduced
value (of sum w l for 'none').
"""

from __future__ import annotations

import itertools

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import rax  # noqa: E402

from .common import case, reduce, rng, write  # noqa: E402
from .inputs import REDUCTIONS, relevance, scores  # noqa: E402


def per_pair_mean(losses, t: np.ndarray):
    pairs = (t[:, :, None] > t[:, None, :]).sum(axis=(1, 2))
    return losses.sum(axis=-1) / np.maximum(pairs, 1), pairs > 0


def pairwise_logistic(s, t):
    return per_pair_mean(rax.pairwise_logistic_loss(s, jnp.asarray(t), reduce_fn=None), t)


def pairwise_hinge(s, t):
    return per_pair_mean(rax.pairwise_hinge_loss(s, jnp.asarray(t), reduce_fn=None), t)


def ranking_softmax(s, t):
    return optax.losses.ranking_softmax_loss(s, jnp.asarray(t), reduce_fn=None), np.ones(len(t), dtype=bool)


def listnet(s, t):
    losses = rax.softmax_loss(s, jnp.asarray(t), label_fn=rax.utils.normalize_probabilities, reduce_fn=None)
    return losses, t.sum(axis=1) > 0


def main() -> None:
    r = rng(20261203)
    anchor = f"optax {optax.__version__}, rax {rax.__version__} (jax {jax.__version__})"
    cases = []
    losses = [
        ("pairwise_logistic", {}, pairwise_logistic),
        ("pairwise_hinge", {"margin": 1.0}, pairwise_hinge),
        ("ranking_softmax", {"normalize": False}, ranking_softmax),
        ("ranking_softmax", {"normalize": True}, listnet),
    ]
    for (name, params, loss), reduction, weighted in itertools.product(losses, REDUCTIONS, [False, True]):
        n, length = 8, 5
        s, t = scores(r, n, length), relevance(r, n, length)
        w = r.uniform(0.2, 2.0, size=n) if weighted else None

        def reduced(x, t=t, w=w, reduction=reduction, loss=loss):
            per_row, counted = loss(x, t)
            return reduce(per_row, None if w is None else jnp.asarray(w), reduction, counted)

        x = jnp.asarray(s)
        per_row, counted = loss(x, t)
        value = None if reduction == "none" else float(reduced(x))
        gradient = np.asarray(jax.grad(reduced)(x))
        per_sample = np.where(counted, np.asarray(per_row), 0.0)
        cases.append(case(name, params, s, t, reduction, value, per_sample, gradient, anchor, w))
    write("optax_ranking", anchor, cases)


if __name__ == "__main__":
    main()
