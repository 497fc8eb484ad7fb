"""Reference values from PyTorch (CPU, float64) for the ranking losses.

Run by hand: ``pip install torch==2.13.0`` (CPU build) then
``python -m tests.reference.make_torch_ranking``; writes torch_ranking.json.

margin_ranking is torch's own ``margin_ranking_loss`` (its reductions, and the per-pair losses of
reduction='none' reduced as this service defines the reductions for weighted cases), including pairs
at the kink. PyTorch has no list loss, so pairwise_logistic, pairwise_hinge and ranking_softmax are
their formulas written as torch expressions and differentiated by autograd: the mean over a row's
pairs with t_j > t_k of log(1 + exp(-(s_j - s_k))) (torch.logaddexp(0, -d), exact for any d) or
relu(margin - (s_j - s_k)), and
-sum t log_softmax(s) with the relevance divided by its row sum for normalize. Rows without a pair
(or without relevance, for normalize) are left out of the reductions, as this service counts them
nowhere. Scores include rows of +-1000.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .common import case, reduce, rng, write
from .inputs import REDUCTIONS, relevance, scores


def pairwise(s: torch.Tensor, t: np.ndarray, phi) -> tuple[torch.Tensor, np.ndarray]:
    """Per-row mean of phi(s_j - s_k) over pairs with t_j > t_k, and which rows have a pair."""
    pairs = torch.tensor(t[:, :, None] > t[:, None, :])
    count = pairs.sum(dim=(1, 2))
    values = torch.where(pairs, phi(s[:, :, None] - s[:, None, :]), torch.zeros(()))
    return values.sum(dim=(1, 2)) / count.clamp_min(1), (count > 0).numpy()


def softmax_rows(s: torch.Tensor, t: np.ndarray, normalize: bool) -> tuple[torch.Tensor, np.ndarray]:
    q = torch.tensor(t)
    counted = np.ones(len(t), dtype=bool)
    if normalize:
        total = q.sum(dim=1, keepdim=True)
        counted = (total[:, 0] > 0).numpy()
        q = q / torch.where(total > 0, total, torch.ones(()))
    return -(q * F.log_softmax(s, dim=1)).sum(dim=1), counted


def main() -> None:
    r = rng(20261202)
    anchor = f"torch {torch.__version__}"
    cases = []
    # margin_ranking: torch's function and reductions, then weighted reductions of its 'none'.
    for margin, reduction, weighted in itertools.product([0.0, 0.5, -0.25], REDUCTIONS, [False, True]):
        n = 9
        pair = r.normal(size=(n, 2)) * 2.0
        y = r.choice([-1.0, 1.0], size=n)
        pair[0] = [0.5, 0.5 + margin * y[0]]  # -y (s1 - s2) + margin = 0: the kink
        pair[1] = [1000.0, -1000.0]
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        x = torch.tensor(pair, requires_grad=True)
        yt = torch.tensor(y)
        per_pair = F.margin_ranking_loss(x[:, 0], x[:, 1], yt, margin=margin, reduction="none")
        if w is None and reduction in ("mean", "sum"):
            out = F.margin_ranking_loss(x[:, 0], x[:, 1], yt, margin=margin, reduction=reduction)
        else:
            out = reduce(per_pair, None if w is None else torch.tensor(w), reduction)
        out.backward()
        value = None if reduction == "none" else float(out.detach())
        cases.append(
            case(
                "margin_ranking",
                {"margin": margin},
                pair,
                y,
                reduction,
                value,
                per_pair.detach().numpy(),
                x.grad.numpy(),
                anchor,
                w,
            )
        )
    # The list losses.
    losses = [
        (
            "pairwise_logistic",
            {},
            lambda s, t: pairwise(s, t, lambda d: torch.logaddexp(torch.zeros_like(d), -d)),
        ),
        ("pairwise_hinge", {"margin": 1.0}, lambda s, t: pairwise(s, t, lambda d: torch.relu(1.0 - d))),
        ("pairwise_hinge", {"margin": 0.3}, lambda s, t: pairwise(s, t, lambda d: torch.relu(0.3 - d))),
        ("ranking_softmax", {"normalize": False}, lambda s, t: softmax_rows(s, t, False)),
        ("ranking_softmax", {"normalize": True}, lambda s, t: softmax_rows(s, t, True)),
    ]
    for (name, params, loss), reduction, weighted in itertools.product(losses, REDUCTIONS, [False, True]):
        n, length = 7, 5
        s, t = scores(r, n, length), relevance(r, n, length)
        t[4] = [0.5, 0.0, 2.5, 0.0, 0.0]  # relevance need not be an integer
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        x = torch.tensor(s, requires_grad=True)
        per_row, counted = loss(x, t)
        out = reduce(per_row, None if w is None else torch.tensor(w), reduction, counted)
        out.backward()
        value = None if reduction == "none" else float(out.detach())
        per_sample = np.where(counted, per_row.detach().numpy(), 0.0)
        cases.append(case(name, params, s, t, reduction, value, per_sample, x.grad.numpy(), anchor, w))
    write("torch_ranking", anchor, cases)


if __name__ == "__main__":
    main()
