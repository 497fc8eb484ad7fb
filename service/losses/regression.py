"""Regression losses: real predictions and targets of shape (N,) or (N, D).

Each is element-wise: the per-sample loss is the mean over the D outputs of the element loss of the
error e = prediction − target, as Keras (mean over the last axis) and scikit-learn (uniform average
of the outputs) define it; the per-output breakdown is scikit-learn's ``multioutput="raw_values"``.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from .base import TORCH_REDUCTION, Computed, Equivalent, InputMode, NoParams, Params, elementwise
from .checks import check_ndim, check_same_shape
from .registry import register

REAL = (InputMode("default", "real", ("real",), ("(N,)", "(N, D)")),)


def _errors(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    check_ndim(predictions, "predictions", (1, 2))
    check_same_shape(predictions, targets)
    return predictions - targets


@register(
    name="mean_squared_error",
    aliases=("mse", "l2"),
    params=NoParams,
    family="regression",
    summary="Squared error, averaged over outputs.",
    formula="l_i = mean_j (p_ij - y_ij)^2",
    modes=REAL,
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.mse_loss(p, y)", TORCH_REDUCTION),
        Equivalent("Keras", "keras.losses.MeanSquaredError()", "reduction sum_over_batch_size"),
        Equivalent("scikit-learn", "sklearn.metrics.mean_squared_error(y, p, sample_weight=w)", "mean"),
    ),
)
def mean_squared_error(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """l = e², ∂l/∂p = 2e."""
    e = _errors(predictions, targets)
    return elementwise(e * e, 2.0 * e if want_gradient else None)


def _sqrt_transform(mean: float) -> tuple[float, float]:
    """RMSE = √MSE; d√m/dm = 1/(2√m), and 0 at m = 0 (the subgradient at the minimum)."""
    root = math.sqrt(mean) if mean >= 0 else math.nan
    return root, (0.5 / root if root > 0 else 0.0)


@register(
    name="root_mean_squared_error",
    aliases=("rmse",),
    params=NoParams,
    family="regression",
    summary="Square root of the weighted mean squared error.",
    formula="value = sqrt( sum_i w_i l_i / sum_i w_i ),  l_i = mean_j (p_ij - y_ij)^2",
    modes=REAL,
    reductions=("mean",),
    transform=_sqrt_transform,
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.root_mean_squared_error(y, p, sample_weight=w)",
            "1-D inputs; for (N, D) the breakdown equals multioutput='raw_values'",
        ),
        Equivalent("Keras", "keras.metrics.RootMeanSquaredError()", "1-D inputs"),
    ),
    differences=(
        "For (N, D) inputs the value is the square root of the mean over all samples and outputs; "
        "scikit-learn's default multioutput='uniform_average' averages the per-output RMSEs "
        "instead. The per-output RMSEs are in the breakdown.",
        "per_sample and stats describe the per-sample squared errors l_i (the quantity averaged "
        "under the root), so stats.mean is value squared.",
    ),
)
def root_mean_squared_error(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """Per-sample squared error; the engine takes the root of the weighted mean."""
    return mean_squared_error(predictions, targets, params, want_gradient)


@register(
    name="mean_absolute_error",
    aliases=("mae", "l1"),
    params=NoParams,
    family="regression",
    summary="Absolute error, averaged over outputs.",
    formula="l_i = mean_j |p_ij - y_ij|",
    modes=REAL,
    notes=("Gradient sign(e), with 0 at e = 0 as PyTorch's l1_loss.",),
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.l1_loss(p, y)", TORCH_REDUCTION),
        Equivalent("Keras", "keras.losses.MeanAbsoluteError()", "reduction sum_over_batch_size"),
        Equivalent("scikit-learn", "sklearn.metrics.mean_absolute_error(y, p, sample_weight=w)", "mean"),
    ),
)
def mean_absolute_error(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """l = |e|, ∂l/∂p = sign(e)."""
    e = _errors(predictions, targets)
    return elementwise(np.abs(e), np.sign(e) if want_gradient else None)


class HuberParams(Params):
    delta: float = Field(1.0, gt=0, description="Error size where the loss turns from quadratic to linear.")


@register(
    name="huber",
    params=HuberParams,
    family="regression",
    summary="Quadratic for small errors, linear for large ones.",
    formula="l = 0.5 e^2 if |e| <= delta else delta (|e| - 0.5 delta)",
    modes=REAL,
    examples=({"delta": 0.5}, {"delta": 3.0}),
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.huber_loss(p, y, delta=delta)", "same delta"),
        Equivalent("Keras", "keras.losses.Huber(delta=delta)", "reduction sum_over_batch_size"),
        Equivalent("Optax", "optax.losses.huber_loss(p, y, delta=delta)", "per element"),
    ),
)
def huber(predictions: np.ndarray, targets: np.ndarray, params: HuberParams, want_gradient: bool) -> Computed:
    """∂l/∂p = e inside the quadratic zone, δ·sign(e) outside it."""
    e = _errors(predictions, targets)
    delta = params.delta
    abs_e = np.abs(e)
    quadratic = abs_e <= delta
    values = np.where(quadratic, 0.5 * e * e, delta * (abs_e - 0.5 * delta))
    gradient = np.where(quadratic, e, delta * np.sign(e)) if want_gradient else None
    return elementwise(values, gradient)
