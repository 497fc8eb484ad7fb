"""Probabilistic regression: predictions are a distribution per sample, scored by its likelihood.

``gaussian_nll`` takes predictions (N, 2) = the mean μ and the variance σ² of a normal distribution
per sample, and targets (N,).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from .base import Computed, Equivalent, InputMode, Params
from .checks import check_layout, fmt
from .errors import InvalidInput
from .registry import register

HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


class GaussianNLLParams(Params):
    full: bool = Field(False, description="Add the constant 1/2 log(2 pi).")
    eps: float = Field(1e-6, gt=0, description="Variances below eps are clamped to eps.")


@register(
    name="gaussian_nll",
    aliases=("gaussian_nll_loss",),
    params=GaussianNLLParams,
    family="probabilistic",
    summary="Negative log-likelihood of the target under a normal of predicted mean and variance.",
    formula="l_i = 1/2 (log v_i + (y_i - mu_i)^2 / v_i) (+ 1/2 log(2 pi) with full), v_i = max(var_i, eps)",
    modes=(
        InputMode(
            "mean_and_variance",
            "mean_variance",
            ("real",),
            ("predictions (N, 2) the mean mu and the variance var >= 0", "targets (N,)"),
        ),
    ),
    scalar_prediction=False,
    nonnegative=False,
    examples=({"full": True, "eps": 0.01},),
    equivalents=(
        Equivalent(
            "PyTorch",
            "torch.nn.functional.gaussian_nll_loss(mu, y, var, full=full, eps=eps)",
            "mu = predictions[:, 0], var = predictions[:, 1]; reduction as ours",
        ),
    ),
    differences=(
        "Below eps the variance's gradient is 0: the clamp makes the value constant there. torch "
        "clamps under no_grad, so its autograd gives the derivative at eps instead. At and above "
        "eps, and for the mean everywhere, the gradients are torch's.",
        "A negative variance is a 422 naming the element (torch raises a ValueError).",
    ),
)
def gaussian_nll(
    predictions: np.ndarray, targets: np.ndarray, params: GaussianNLLParams, want_gradient: bool
) -> Computed:
    """½(log v + (y − μ)²/v), v = max(σ², eps); ∂l/∂μ = (μ − y)/v, ∂l/∂σ² = ½(1/v − (y − μ)²/v²)
    where σ² ≥ eps, else 0."""
    check_layout(predictions, "predictions", "(N, 2)", "the mean and the variance of each sample")
    check_layout(targets, "targets", "(N,)", "one target per sample")
    mean, variance = predictions[:, 0], predictions[:, 1]
    negative = variance < 0.0
    if negative.any():
        i = int(np.argmax(negative))
        raise InvalidInput(
            f"predictions[{i}][1] = {fmt(variance[i])} is a negative variance: column 1 holds "
            "variances, which are >= 0.",
            ("predictions", i, 1),
        )
    clamped = np.maximum(variance, params.eps)
    error = targets - mean
    ratio = error * error / clamped
    contribution = 0.5 * (np.log(clamped) + ratio)
    if params.full:
        contribution += HALF_LOG_TWO_PI
    gradient = None
    if want_gradient:
        gradient = np.empty_like(predictions)
        gradient[:, 0] = -error / clamped
        gradient[:, 1] = np.where(variance >= params.eps, 0.5 * (1.0 - ratio) / clamped, 0.0)
    return Computed(contribution, gradient)
