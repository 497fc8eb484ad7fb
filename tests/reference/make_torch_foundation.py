"""Reference values from PyTorch (CPU, float64) for the foundation losses.

Run by hand: ``pip install torch==2.13.0`` (CPU build) then
``python -m tests.reference.make_torch_foundation``; writes torch_foundation.json.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .common import case, rng, write

REDUCTIONS = ("mean", "sum", "none")


def autograd(fn, p: np.ndarray, reduction: str) -> tuple[float | None, np.ndarray, np.ndarray]:
    """(reduced value, torch reduction='none' output, gradient of the reduced value)."""
    x = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    out = fn(x, reduction)
    (out if reduction != "none" else out.sum()).backward()
    none = fn(torch.tensor(p, dtype=torch.float64), "none").detach().numpy()
    value = None if reduction == "none" else float(out.detach())
    return value, none, x.grad.numpy()


def row_mean(none: np.ndarray) -> np.ndarray:
    return none if none.ndim == 1 else none.mean(axis=1)


def per_row(value, grad, shape, reduction):
    """torch sums (N, D) element losses; our sum (and 'none''s Σ l_i) runs over row means: / D."""
    if len(shape) == 2 and reduction in ("sum", "none"):
        return (None if value is None else value / shape[1]), grad / shape[1]
    return value, grad


def main() -> None:
    r = rng(20261122)
    cases = []
    anchor = f"torch {torch.__version__}"
    # Regression: element-wise, per-sample = mean over outputs.
    for shape, reduction in itertools.product([(7,), (5, 3)], REDUCTIONS):
        p, t = r.normal(size=shape) * 2, r.normal(size=shape)
        tt = torch.tensor(t)
        for name, params, fn in [
            ("mean_squared_error", {}, lambda x, red: F.mse_loss(x, tt, reduction=red)),
            ("mean_absolute_error", {}, lambda x, red: F.l1_loss(x, tt, reduction=red)),
            ("huber", {"delta": 1.0}, lambda x, red: F.huber_loss(x, tt, reduction=red, delta=1.0)),
            ("huber", {"delta": 0.3}, lambda x, red: F.huber_loss(x, tt, reduction=red, delta=0.3)),
        ]:
            value, none, grad = autograd(fn, p, reduction)
            value, grad = per_row(value, grad, shape, reduction)
            cases.append(case(name, params, p, t, reduction, value, row_mean(none), grad, anchor))
    # Binary cross-entropy from logits, with pos_weight and multi-label inputs.
    for shape, reduction, pos_weight in itertools.product([(8,), (6, 3)], REDUCTIONS, [None, 2.5]):
        x = r.normal(size=shape) * 4
        x.flat[0], x.flat[1] = 1000.0, -1000.0  # stable at extreme logits
        y = (r.uniform(size=shape) > 0.5).astype(float)
        y.flat[2] = 0.3  # a soft target
        yt = torch.tensor(y)
        pw = None if pos_weight is None else torch.tensor(pos_weight, dtype=torch.float64)
        fn = lambda v, red: F.binary_cross_entropy_with_logits(v, yt, pos_weight=pw, reduction=red)  # noqa: E731
        value, none, grad = autograd(fn, x, reduction)
        value, grad = per_row(value, grad, shape, reduction)
        params = {"from_logits": True} | ({} if pos_weight is None else {"pos_weight": pos_weight})
        cases.append(
            case("binary_cross_entropy", params, x, y, reduction, value, row_mean(none), grad, anchor)
        )
    # Cross-entropy on logits / nll on log-probabilities, every combination of the options.
    C = 4  # noqa: N806
    combos = itertools.product(
        ["index", "probabilities"], [None, [0.5, 2.0, 1.0, 0.0]], [0.0, 0.15], [None, 2], REDUCTIONS
    )
    for target_kind, weight, smoothing, ignore, reduction in combos:
        if target_kind == "probabilities" and ignore is not None:
            continue  # torch applies ignore_index to class-index targets only
        n = 7
        x = r.normal(size=(n, C)) * 3
        x[0] = [1000.0, -1000.0, 0.0, 999.0]
        if target_kind == "index":
            y = r.integers(0, C, size=n)
            y[:4] = [0, 1, 2, 3]
            if weight is not None:
                y[5] = 3  # a sample whose class has weight 0
            yt = torch.tensor(y)
        else:
            y = np.exp(r.normal(size=(n, C)))
            y /= y.sum(axis=1, keepdims=True)
            y[1] = [0.0, 1.0, 0.0, 0.0]
            yt = torch.tensor(y)
        w = None if weight is None else torch.tensor(weight, dtype=torch.float64)
        kwargs = {"weight": w, "label_smoothing": smoothing}
        if ignore is not None:
            kwargs["ignore_index"] = ignore
        fn = lambda v, red: F.cross_entropy(v, yt, reduction=red, **kwargs)  # noqa: E731
        value, none, grad = autograd(fn, x, reduction)
        per_sample = none
        if target_kind == "index" and weight is not None:
            factor = np.asarray(weight)[y]
            per_sample = np.where(factor > 0, none / np.where(factor > 0, factor, 1), none)
        params = {"input": "logits", "label_smoothing": smoothing}
        if weight is not None:
            params["class_weights"] = weight
        if ignore is not None:
            params["ignore_index"] = ignore
        cases.append(case("cross_entropy", params, x, y, reduction, value, per_sample, grad, anchor))
        if smoothing == 0.0 and target_kind == "index":
            logp = torch.log_softmax(torch.tensor(x), dim=1).numpy()
            nll_kwargs = {"weight": w} | ({} if ignore is None else {"ignore_index": ignore})
            fn = lambda v, red: F.nll_loss(v, yt, reduction=red, **nll_kwargs)  # noqa: E731
            value, none, grad = autograd(fn, logp, reduction)
            params = dict(params, input="log_probabilities")
            cases.append(case("cross_entropy", params, logp, y, reduction, value, per_sample, grad, anchor))
    write("torch_foundation", anchor, cases)


if __name__ == "__main__":
    main()
