"""Reference values from PyTorch (CPU, float64) for the multi-class losses and cosine similarity.

Run by hand: ``pip install torch==2.13.0`` (CPU build) then
``python -m tests.reference.make_torch_multiclass``; writes torch_multiclass.json and
torch_similarity.json.

- multiclass_hinge, weston_watkins: ``F.multi_margin_loss(z, y, p=1, margin=m)``.
- multiclass_hinge, crammer_singer: torch autograd of relu(margin + max_{c != y} z_c - z_y), with the
  maximum by ``torch.max(dim=1)`` (torch has no such loss; scikit-learn's values are checked in
  tests/losses/test_multiclass.py).
- kl_divergence: ``F.kl_div(log_p, q, reduction="batchmean", log_target=...)`` with log_p from each of
  our input spaces (log-probabilities as given, log_softmax of logits, log of probabilities).
- cosine_similarity: ``-F.cosine_similarity(p, y, dim=1, eps=1e-7)``, on rows of norm >= eps.

Sample weights, where a case has them, are applied to torch's reduction='none' output in torch
(Σ w l / Σ w for our mean), so the gradient is still torch autograd's.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .common import case, rng, write

REDUCTIONS = ("mean", "sum", "sum_over_batch_size", "none")


def reduce(none: torch.Tensor, weights: np.ndarray | None, reduction: str) -> torch.Tensor:
    """Our reductions of per-sample losses, in torch (so autograd sees them)."""
    w = torch.ones(none.shape[0], dtype=torch.float64) if weights is None else torch.tensor(weights)
    total = (w * none).sum()
    if reduction == "mean":
        return total / w.sum()
    if reduction == "sum_over_batch_size":
        return total / none.shape[0]
    return total  # sum, and 'none' (whose gradient is that of Σ w l)


def autograd(per_sample, p: np.ndarray, weights: np.ndarray | None, reduction: str):
    """(value, per-sample losses, gradient) of ``per_sample``: torch tensor (N, C) -> (N,)."""
    x = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    none = per_sample(x)
    out = reduce(none, weights, reduction)
    out.backward()
    value = None if reduction == "none" else float(out.detach())
    return value, none.detach().numpy(), x.grad.numpy()


def scores(r: np.random.Generator, n: int, c: int) -> np.ndarray:
    z = r.normal(size=(n, c)) * 2
    z[0] = [-0.5, -1.5, -2.0, -0.7]  # every wrong score negative (where Keras's CategoricalHinge differs)
    z[1] = [1000.0, -1000.0, 0.0, 999.0]
    return z


def hinge_cases(r: np.random.Generator, anchor: str) -> list[dict]:
    cases = []
    n, c = 8, 4
    for margin, reduction, weighted in itertools.product([1.0, 0.5, 2.5], REDUCTIONS, [False, True]):
        z = scores(r, n, c)
        y = r.integers(0, c, size=n)
        y[:2] = [0, 3]
        yt = torch.tensor(y)
        w = r.uniform(0.2, 2.0, size=n) if weighted else None

        def ww(x, m=margin, yt=yt):
            return F.multi_margin_loss(x, yt, p=1, margin=m, reduction="none")

        if not weighted and reduction in ("mean", "sum"):
            # Without weights the reduction is torch's own.
            x = torch.tensor(z, requires_grad=True)
            out = F.multi_margin_loss(x, yt, p=1, margin=margin, reduction=reduction)
            out.backward()
            none = ww(torch.tensor(z)).numpy()
            value, grad = float(out.detach()), x.grad.numpy()
        else:
            value, none, grad = autograd(ww, z, w, reduction)
        params = {"variant": "weston_watkins", "margin": margin}
        cases.append(case("multiclass_hinge", params, z, y, reduction, value, none, grad, anchor, w))

        def cs(x, m=margin, y=y):
            rows = torch.arange(x.shape[0])
            mask = torch.zeros_like(x, dtype=torch.bool)
            mask[rows, torch.tensor(y)] = True
            rival = x.masked_fill(mask, -torch.inf).max(dim=1).values
            return torch.relu(m + rival - x[rows, torch.tensor(y)])

        value, none, grad = autograd(cs, z, w, reduction)
        params = {"variant": "crammer_singer", "margin": margin}
        cases.append(case("multiclass_hinge", params, z, y, reduction, value, none, grad, anchor, w))
    return cases


def kl_cases(r: np.random.Generator, anchor: str) -> list[dict]:
    cases = []
    n, c = 7, 4
    spaces = ["probabilities", "logits", "log_probabilities"]
    for space, log_target, reduction in itertools.product(spaces, [False, True], REDUCTIONS):
        x = r.normal(size=(n, c)) * 2
        if space == "logits":
            x[0] = [1000.0, -1000.0, 0.0, 999.0]
        predictions = {
            "probabilities": torch.softmax(torch.tensor(x), dim=1).numpy(),
            "logits": x,
            "log_probabilities": torch.log_softmax(torch.tensor(x), dim=1).numpy(),
        }[space]
        q = torch.softmax(torch.tensor(r.normal(size=(n, c)) * 1.5), dim=1).numpy()
        if not log_target:
            q[1] = [0.0, 0.25, 0.75, 0.0]  # zero targets contribute 0
            q[2] = [1.0, 0.0, 0.0, 0.0]
        targets = np.log(q) if log_target else q
        tt = torch.tensor(targets)

        def log_p(v, space=space):
            if space == "logits":
                return torch.log_softmax(v, dim=1)
            return torch.log(v) if space == "probabilities" else v

        def kl(v, log_p=log_p, tt=tt, log_target=log_target):
            return F.kl_div(log_p(v), tt, reduction="none", log_target=log_target).sum(dim=1)

        if reduction in ("mean", "sum"):
            # torch's batchmean is our mean without weights; its sum is ours.
            v = torch.tensor(predictions, requires_grad=True)
            torch_reduction = "batchmean" if reduction == "mean" else "sum"
            out = F.kl_div(log_p(v), tt, reduction=torch_reduction, log_target=log_target)
            out.backward()
            value, grad = float(out.detach()), v.grad.numpy()
            none = kl(torch.tensor(predictions)).numpy()
        else:
            value, none, grad = autograd(kl, predictions, None, reduction)
        params = {"input": space, "log_target": log_target}
        cases.append(
            case("kl_divergence", params, predictions, targets, reduction, value, none, grad, anchor)
        )
    # Weighted mean: Σ w l / Σ w of torch's per-sample sums.
    x = r.normal(size=(6, 3))
    q = torch.softmax(torch.tensor(r.normal(size=(6, 3))), dim=1).numpy()
    w = r.uniform(0.2, 2.0, size=6)
    tq = torch.tensor(q)

    def kl_logits(v):
        return F.kl_div(torch.log_softmax(v, dim=1), tq, reduction="none").sum(dim=1)

    value, none, grad = autograd(kl_logits, x, w, "mean")
    params = {"input": "logits", "log_target": False}
    cases.append(case("kl_divergence", params, x, q, "mean", value, none, grad, anchor, w))
    return cases


def cosine_cases(r: np.random.Generator, anchor: str) -> list[dict]:
    cases = []
    for reduction, weighted in itertools.product(REDUCTIONS, [False, True]):
        n, d = 7, 4
        p, y = r.normal(size=(n, d)) * 2, r.normal(size=(n, d))
        y[1] = 0.0  # a zero target row: loss 0
        # No prediction row of norm below epsilon: there torch's gradient still differentiates the
        # norm it clamped (keras_similarity.json covers such rows).
        p[3] = -2.5 * y[3]  # opposite: loss 1
        yt = torch.tensor(y)
        w = r.uniform(0.2, 2.0, size=n) if weighted else None

        def cosine(v, yt=yt):
            return -F.cosine_similarity(v, yt, dim=1, eps=1e-7)

        value, none, grad = autograd(cosine, p, w, reduction)
        cases.append(case("cosine_similarity", {}, p, y, reduction, value, none, grad, anchor, w))
    return cases


def main() -> None:
    r = rng(20261123)
    anchor = f"torch {torch.__version__}"
    write("torch_multiclass", anchor, hinge_cases(r, anchor) + kl_cases(r, anchor))
    write("torch_similarity", anchor, cosine_cases(r, anchor))


if __name__ == "__main__":
    main()
