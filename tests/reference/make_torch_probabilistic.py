"""Reference values from PyTorch (CPU, float64) for gaussian_nll.

Run by hand: ``pip install torch==2.13.0`` (CPU build) then
``python -m tests.reference.make_torch_probabilistic``; writes torch_probabilistic.json.

torch's own ``gaussian_nll_loss(mu, y, var, full=full, eps=eps, reduction='none')``, reduced as this
service defines the reductions, and differentiated by autograd, with variances of 0, below eps and
at eps. The one documented difference is applied here, visibly: torch clamps the variance under
no_grad, so its autograd gives the variance the derivative at eps even below eps, where the value
is constant; this service's gradient there is 0, and so is the recorded one.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .common import case, reduce, rng, write
from .inputs import REDUCTIONS


def main() -> None:
    r = rng(20261206)
    anchor = f"torch {torch.__version__}"
    cases = []
    settings = [{"full": False, "eps": 1e-6}, {"full": True, "eps": 1e-6}, {"full": False, "eps": 0.25}]
    for params, reduction, weighted in itertools.product(settings, REDUCTIONS, [False, True]):
        n = 9
        mean = r.normal(size=n) * 2.0
        variance = r.uniform(0.05, 3.0, size=n)
        variance[:3] = [0.0, params["eps"] / 10.0, params["eps"]]
        y = mean + r.normal(size=n) * 1.5
        y[3] = mean[3]  # a perfect mean
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        x = torch.tensor(np.stack([mean, variance], axis=1), requires_grad=True)
        per_sample = F.gaussian_nll_loss(x[:, 0], torch.tensor(y), x[:, 1], reduction="none", **params)
        out = reduce(per_sample, None if w is None else torch.tensor(w), reduction)
        out.backward()
        gradient = x.grad.numpy().copy()
        gradient[variance < params["eps"], 1] = 0.0  # the documented difference (see above)
        value = None if reduction == "none" else float(out.detach())
        predictions = np.stack([mean, variance], axis=1)
        cases.append(
            case(
                "gaussian_nll",
                params,
                predictions,
                y,
                reduction,
                value,
                per_sample.detach().numpy(),
                gradient,
                anchor,
                w,
            )
        )
    write("torch_probabilistic", anchor, cases)


if __name__ == "__main__":
    main()
