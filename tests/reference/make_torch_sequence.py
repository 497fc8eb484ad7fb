"""Reference values from PyTorch (CPU, float64) for ctc.

Run by hand: ``pip install torch==2.13.0`` (CPU build) then
``python -m tests.reference.make_torch_sequence``; writes torch_sequence.json.

torch's own ``ctc_loss(log_softmax(z, -1).transpose(0, 1), labels, input_lengths=[T] * N,
target_lengths=labels per row, blank=blank, reduction='none', zero_infinity=...)``, reduced as this
service defines the reductions and differentiated by autograd, on label sequences of random
lengths with repeated labels, an empty sequence, a frame of +-1000 logits and, in half the cases,
two sequences no alignment of the frames produces (loss +inf, or 0 with zero_infinity). Without
zero_infinity torch's gradient of such a row is not finite: the recorded gradient is torch's with
zero_infinity=True, equal elsewhere and 0 on those rows, as this service defines it. Last, torch's
reduction 'mean' (which divides each loss by its label length) against sum_over_batch_size with
weights 1 / max(length, 1).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .common import case, reduce, rng, write
from .inputs import REDUCTIONS, frame_logits, label_sequences


def torch_ctc(
    x: torch.Tensor, labels: np.ndarray, blank: int, zero_infinity: bool, reduction: str = "none"
) -> torch.Tensor:
    """torch's ctc_loss of the logits x (N, T, C) against labels padded with -1, every frame counting."""
    n, frames, _ = x.shape
    lengths = (labels >= 0).sum(axis=1)
    padded = torch.tensor(np.where(labels >= 0, labels, 0 if blank else 1).astype(np.int64))
    return F.ctc_loss(
        F.log_softmax(x, dim=-1).transpose(0, 1),
        padded,
        torch.full((n,), frames, dtype=torch.long),
        torch.tensor(lengths),
        blank=blank,
        reduction=reduction,
        zero_infinity=zero_infinity,
    )


def main() -> None:
    r = rng(20261207)
    anchor = f"torch {torch.__version__}"
    cases = []
    # Weighted and unweighted cases alternate, so that each reduction meets both without doubling
    # the file.
    combos = itertools.product([0, 4], [False, True], [False, True], REDUCTIONS)
    for i, (blank, zero_infinity, infeasible, reduction) in enumerate(combos):
        weighted = (i + i // len(REDUCTIONS)) % 2 == 1
        n, frames, classes = 7, 8, 5
        z = frame_logits(r, n, frames, classes)
        labels = label_sequences(r, n, frames, classes, blank, infeasible)
        w = r.uniform(0.2, 2.0, size=n) if weighted else None
        weights = None if w is None else torch.tensor(w)
        per_sample = torch_ctc(torch.tensor(z), labels, blank, zero_infinity).numpy()
        x = torch.tensor(z, requires_grad=True)
        reduce(torch_ctc(x, labels, blank, True), weights, reduction).backward()
        value = None if reduction == "none" else float(reduce(torch.tensor(per_sample), weights, reduction))
        params = {"blank": blank, "zero_infinity": zero_infinity}
        cases.append(case("ctc", params, z, labels, reduction, value, per_sample, x.grad.numpy(), anchor, w))
    # torch's own reduction 'mean' (each loss divided by its label length, at least 1, then averaged)
    # is this service's sum_over_batch_size with weights 1 / max(length, 1).
    for blank in (0, 4):
        n, frames, classes = 7, 8, 5
        z = frame_logits(r, n, frames, classes)
        labels = label_sequences(r, n, frames, classes, blank, infeasible=False)
        x = torch.tensor(z, requires_grad=True)
        out = torch_ctc(x, labels, blank, False, reduction="mean")
        out.backward()
        per_sample = torch_ctc(torch.tensor(z), labels, blank, False).numpy()
        params = {"blank": blank, "zero_infinity": False}
        w = 1.0 / np.maximum((labels >= 0).sum(axis=1), 1)
        cases.append(
            case(
                "ctc",
                params,
                z,
                labels,
                "sum_over_batch_size",
                float(out.detach()),
                per_sample,
                x.grad.numpy(),
                anchor,
                w,
            )
        )
    write("torch_sequence", anchor, cases)


if __name__ == "__main__":
    main()
