"""Reference values from PyTorch (CPU, float64) for the metric-learning losses.

Run by hand: ``pip install torch==2.13.0`` (CPU build) then
``python -m tests.reference.make_torch_metric``; writes torch_metric.json.

cosine_embedding and triplet_margin are torch's own ``cosine_embedding_loss`` and
``triplet_margin_loss`` (reduction 'none', reduced as this service defines the reductions), with
zero embeddings, pairs at the kink, anchors equal to their positive (a distance where eps matters)
and, with swap, d(a, n) = d(p, n). contrastive has no torch function: it is the TensorFlow Addons
formula y d^2 + (1 - y) relu(margin - d)^2 written in torch and differentiated by autograd.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F  # noqa: N812

from .common import case, reduce, rng, write
from .inputs import REDUCTIONS, triplets


def record(cases, name, params, x, predictions, targets, per_sample, reduction, w, anchor) -> None:
    """Reduce torch's per-sample losses, differentiate, and append the case."""
    out = reduce(per_sample, None if w is None else torch.tensor(w), reduction)
    out.backward()
    value = None if reduction == "none" else float(out.detach())
    cases.append(
        case(
            name,
            params,
            predictions,
            targets,
            reduction,
            value,
            per_sample.detach().numpy(),
            x.grad.numpy(),
            anchor,
            w,
        )
    )


def main() -> None:
    r = rng(20261204)
    anchor = f"torch {torch.__version__}"
    cases: list = []
    for margin, reduction, weighted in itertools.product([1.0, 2.5, 0.0], REDUCTIONS, [False, True]):
        n = 9
        d = r.uniform(0.0, 3.0, size=n)
        d[0] = 0.0
        d[1] = margin  # the hinge's edge, where its square is flat
        y = r.integers(0, 2, size=n).astype(float)
        y[:2] = [1.0, 0.0]
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        x = torch.tensor(d, requires_grad=True)
        yt = torch.tensor(y)
        per_pair = yt * x**2 + (1.0 - yt) * torch.relu(margin - x) ** 2
        record(cases, "contrastive", {"margin": margin}, x, d, y, per_pair, reduction, w, anchor)
    for margin, reduction, weighted in itertools.product([0.0, 0.3, -0.5], REDUCTIONS, [False, True]):
        n, dim = 8, 4
        pairs = r.normal(size=(n, 2, dim)) * 2.0
        y = r.choice([-1.0, 1.0], size=n)
        pairs[0, 0] = 0.0  # a zero embedding: cosine 0 through torch's 1e-12
        pairs[1] = [[1000.0, -1000.0, 3.0, 0.0], [999.0, 1000.0, -2.0, 5.0]]
        pairs[2, 1] = pairs[2, 0] * 0.5
        y[2] = -1.0
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        x = torch.tensor(pairs, requires_grad=True)
        per_pair = F.cosine_embedding_loss(x[:, 0], x[:, 1], torch.tensor(y), margin=margin, reduction="none")
        record(cases, "cosine_embedding", {"margin": margin}, x, pairs, y, per_pair, reduction, w, anchor)
    settings = [
        {"margin": 1.0, "p": 2.0, "eps": 1e-6, "swap": False},
        {"margin": 1.0, "p": 2.0, "eps": 1e-6, "swap": True},
        {"margin": 0.5, "p": 1.0, "eps": 0.0, "swap": False},
        {"margin": 2.0, "p": 3.0, "eps": 0.5, "swap": True},
        {"margin": 1.5, "p": 1.5, "eps": 1e-6, "swap": False},
    ]
    for params, reduction, weighted in itertools.product(settings, REDUCTIONS, [False, True]):
        t = triplets(r, 8, 4)
        w = r.uniform(0.2, 2.0, size=len(t)) if weighted else None
        x = torch.tensor(t, requires_grad=True)
        per_triplet = F.triplet_margin_loss(x[:, 0], x[:, 1], x[:, 2], reduction="none", **params)
        record(cases, "triplet_margin", params, x, t, None, per_triplet, reduction, w, anchor)
    write("torch_metric", anchor, cases)


if __name__ == "__main__":
    main()
