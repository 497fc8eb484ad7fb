"""Reference values from PyTorch (CPU, float64) for smooth_l1, poisson and quantile.

Run by hand: ``pip install torch==2.13.0`` (CPU build) then
``python -m tests.reference.make_torch_regression``; writes torch_regression.json.

smooth_l1 and poisson are torch's own functions. quantile has no torch function: its cases are torch
autograd of scikit-learn's mean_pinball_loss formula, written out below, which fixes the subgradient at
p = y (where the rows include exact ties).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F  # noqa: N812

from .common import case, rng, write
from .make_torch_foundation import REDUCTIONS, autograd, per_row, row_mean


def pinball(x: torch.Tensor, y: torch.Tensor, alpha: float, reduction: str) -> torch.Tensor:
    """scikit-learn's formula: alpha s (y - p) - (1 - alpha)(1 - s)(y - p), s = [y - p >= 0]."""
    diff = y - x
    sign = (diff >= 0).to(diff.dtype)
    loss = alpha * sign * diff - (1 - alpha) * (1 - sign) * diff
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def main() -> None:
    r = rng(20261123)
    cases = []
    anchor = f"torch {torch.__version__}"
    for shape, reduction in itertools.product([(9,), (5, 3)], REDUCTIONS):
        # smooth_l1: errors on both sides of beta, one exactly 0 and one exactly at beta = 1.
        p, t = r.normal(size=shape) * 2, r.normal(size=shape)
        p.flat[0] = t.flat[0]
        p.flat[1] = t.flat[1] + 1.0
        tt = torch.tensor(t)
        for beta in (1.0, 0.5, 2.5, 0.0):
            fn = lambda x, red: F.smooth_l1_loss(x, tt, reduction=red, beta=beta)
            value, none, grad = autograd(fn, p, reduction)
            value, grad = per_row(value, grad, shape, reduction)
            cases.append(
                case("smooth_l1", {"beta": beta}, p, t, reduction, value, row_mean(none), grad, anchor)
            )
        # poisson: counts including 0 and 1 (the Stirling mask is y > 1), rates including 0.
        y = r.poisson(2.5, size=shape).astype(float)
        y.flat[0], y.flat[1], y.flat[2] = 0.0, 1.0, 7.0
        yt = torch.tensor(y)
        rates = r.gamma(2.0, 1.5, size=shape)
        rates.flat[3] = 0.0
        log_rates = r.normal(size=shape) * 3
        log_rates.flat[3], log_rates.flat[4] = 50.0, -50.0
        for log_input, full, eps in [
            (False, False, 1e-8),
            (False, True, 1e-8),
            (True, False, 1e-8),
            (True, True, 1e-8),
            (False, False, 0.01),
        ]:
            x = log_rates if log_input else rates
            fn = lambda v, red: F.poisson_nll_loss(
                v, yt, log_input=log_input, full=full, eps=eps, reduction=red
            )
            value, none, grad = autograd(fn, x, reduction)
            value, grad = per_row(value, grad, shape, reduction)
            params = {"log_input": log_input, "full": full, "epsilon": eps}
            cases.append(case("poisson", params, x, y, reduction, value, row_mean(none), grad, anchor))
        # quantile: ties p = y in the first two elements.
        p, t = r.normal(size=shape), r.normal(size=shape)
        p.flat[0], p.flat[1] = t.flat[0], t.flat[1]
        tt = torch.tensor(t)
        for alpha in (0.5, 0.1, 0.9):
            fn = lambda x, red: pinball(x, tt, alpha, red)
            value, none, grad = autograd(fn, p, reduction)
            value, grad = per_row(value, grad, shape, reduction)
            label = anchor + " autograd of sklearn's mean_pinball_loss formula"
            cases.append(
                case("quantile", {"quantile": alpha}, p, t, reduction, value, row_mean(none), grad, label)
            )
    write("torch_regression", anchor, cases)


if __name__ == "__main__":
    main()
