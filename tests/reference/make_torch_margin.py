"""Reference values from PyTorch (CPU, float64) for the margin losses.

Run by hand: ``pip install torch==2.13.0`` (CPU build) then
``python -m tests.reference.make_torch_margin``; writes torch_margin.json.

soft_margin is torch's own ``soft_margin_loss`` with torch's reductions. PyTorch has no other margin
loss, so the rest are the formulas written as torch expressions and differentiated by autograd:
hinge = relu(1 - v) (whose gradient at the kink v = 1 is 0, our convention), squared_hinge,
exponential, savage = sigmoid(-v)^2, tangent, square_margin; zero_one's value is (v <= 0) and its
gradient 0. Weighted cases reduce the per-row losses in torch as this service defines the reductions.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .common import case, rng, write

EXPRESSIONS = {
    "hinge": lambda v: torch.relu(1.0 - v),
    "squared_hinge": lambda v: torch.relu(1.0 - v) ** 2,
    "soft_margin": lambda v: F.softplus(-v),
    "exponential": lambda v: torch.exp(-v),
    "savage": lambda v: torch.sigmoid(-v) ** 2,
    "tangent": lambda v: (2.0 * torch.atan(v) - 1.0) ** 2,
    "square_margin": lambda v: (1.0 - v) ** 2,
    "zero_one": lambda v: (v <= 0).to(v.dtype),
}


def reduce(elements: torch.Tensor, weights: np.ndarray | None, reduction: str) -> torch.Tensor:
    """This service's reductions of the per-row losses (the mean over the last axis of (N, L))."""
    rows = elements if elements.ndim == 1 else elements.mean(dim=1)
    w = torch.ones_like(rows) if weights is None else torch.tensor(weights, dtype=torch.float64)
    if reduction == "mean":
        return (w * rows).sum() / w.sum()
    if reduction == "sum_over_batch_size":
        return (w * rows).sum() / rows.shape[0]
    return (w * rows).sum()  # "sum", and "none"'s gradient of sum_i w_i l_i


def row_mean(none: np.ndarray) -> np.ndarray:
    return none if none.ndim == 1 else none.mean(axis=1)


def scores(r: np.random.Generator, shape: tuple[int, ...], signs: np.ndarray) -> np.ndarray:
    f = r.normal(size=shape) * 2.0
    flat = f.reshape(-1)
    s = signs.reshape(-1)
    flat[0] = 1.0 * s[0]  # v = 1: the hinge's kink
    flat[1] = 0.0  # v = 0: zero_one counts it as an error
    flat[2] = float(np.tan(0.5)) * s[2]  # tangent's minimum
    return f


def main() -> None:
    r = rng(20261123)
    cases = []
    anchor = f"torch {torch.__version__}"
    reductions = ("mean", "sum", "sum_over_batch_size", "none")
    for shape, encoding, weighted in itertools.product([(8,), (5, 3)], ["sign", "binary"], [False, True]):
        y = r.choice([-1.0, 1.0], size=shape)
        f = scores(r, shape, y)
        targets = y if encoding == "sign" else (y + 1.0) / 2.0
        weights = r.uniform(0.2, 2.0, size=shape[0]) if weighted else None
        yt = torch.tensor(y)
        for (name, expression), reduction in itertools.product(EXPRESSIONS.items(), reductions):
            x = torch.tensor(f, requires_grad=True)
            elements = expression(yt * x)
            out = reduce(elements, weights, reduction)
            if name == "zero_one":
                gradient = np.zeros_like(f)
            else:
                out.backward()
                gradient = x.grad.numpy()
            value = None if reduction == "none" else float(out.detach())
            per_sample = row_mean(elements.detach().numpy())
            cases.append(case(name, {}, f, targets, reduction, value, per_sample, gradient, anchor, weights))
    # torch's own soft_margin_loss and its reductions, out to margins of +-1000 (torch overflows to inf
    # for v < -709.78, so the most negative margin here is -700).
    for shape, reduction in itertools.product([(9,), (4, 3)], ("mean", "sum", "none")):
        y = r.choice([-1.0, 1.0], size=shape)
        f = r.normal(size=shape) * 3.0
        f.flat[0], f.flat[1] = 1000.0 * y.flat[0], -700.0 * y.flat[1]
        yt = torch.tensor(y)
        x = torch.tensor(f, requires_grad=True)
        out = F.soft_margin_loss(x, yt, reduction=reduction)
        (out if reduction != "none" else out.sum()).backward()
        none = F.soft_margin_loss(torch.tensor(f), yt, reduction="none").numpy()
        value = None if reduction == "none" else float(out.detach())
        gradient = x.grad.numpy()
        if len(shape) == 2 and reduction in ("sum", "none"):
            # torch sums element losses; our sum runs over row means: / L.
            value = None if value is None else value / shape[1]
            gradient = gradient / shape[1]
        cases.append(case("soft_margin", {}, f, y, reduction, value, row_mean(none), gradient, anchor))
    write("torch_margin", anchor, cases)


if __name__ == "__main__":
    main()
