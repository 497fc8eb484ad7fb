"""Margin losses: real scores f, targets in {-1, +1} (or {0, 1}, mapped to ±1), margin v = y·f.

Predictions are scores (decision values, logits) of shape (N,) or (N, L); targets have the same
shape. Targets are either all in {-1, +1} or all in {0, 1} (0 is then the negative label, -1): a batch
mixing -1 and 0 is refused, since 0 would mean "negative" in one encoding and nothing in the other.
With (N, L) inputs the per-sample loss is the mean over the L outputs, as Keras. Each loss is a
function φ(v) of the margin; ∂l/∂f = y·φ'(v).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .base import TORCH_REDUCTION, Computed, Equivalent, InputMode, NoParams, elementwise
from .checks import check_ndim, check_same_shape, first_index, fmt
from .errors import InvalidInput
from .numerics import sigmoid, softplus
from .registry import register

MODES = (InputMode("scores", "real", ("sign",), ("(N,)", "(N, L)")),)
LABELS = "margin losses take targets in {-1, +1} or in {0, 1} (0 is the negative label)"
# e^(−v) is the largest float64 or less exactly when −v <= log(max float64) ~ 709.78.
LOG_FLOAT64_MAX = math.log(np.finfo(np.float64).max)

Phi = Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]


def signs(targets: np.ndarray) -> np.ndarray:
    """Targets as ±1, after checking they are labels of one encoding."""
    not_label = (targets != -1.0) & (targets != 0.0) & (targets != 1.0)
    if not_label.any():
        index = first_index(not_label)
        where = "".join(f"[{i}]" for i in index)
        raise InvalidInput(
            f"targets{where} = {fmt(targets[index])} is not a label: {LABELS}.", ("targets", *index)
        )
    minus, zero = targets == -1.0, targets == 0.0
    if minus.any() and zero.any():
        index = first_index(zero)
        where = "".join(f"[{i}]" for i in index)
        other = "".join(f"[{i}]" for i in first_index(minus))
        raise InvalidInput(
            f"targets{where} = 0 but targets{other} = -1: the targets mix the encodings {{-1, +1}} and "
            "{0, 1}. Send one encoding per request.",
            ("targets", *index),
        )
    return np.where(targets > 0.0, 1.0, -1.0)


def margin_loss(predictions: np.ndarray, targets: np.ndarray, phi: Phi, want_gradient: bool) -> Computed:
    """Per-element φ(y·f) and y·φ'(y·f), reduced over the last axis as every element-wise loss."""
    check_ndim(predictions, "predictions", (1, 2))
    check_same_shape(predictions, targets)
    y = signs(targets)
    values, slope = phi(y * predictions, want_gradient)
    result = elementwise(values, None if slope is None else y * slope)
    if targets.ndim == 1:
        result.classes = targets.astype(np.int64)  # the label as sent: -1/+1 or 0/1
    return result


def _hinge(v: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    return np.maximum(1.0 - v, 0.0), (np.where(v < 1.0, -1.0, 0.0) if want_gradient else None)


@register(
    name="hinge",
    params=NoParams,
    family="margin",
    summary="Hinge loss of a linear SVM: zero once the margin reaches 1.",
    formula="l = max(0, 1 - v), v = y f",
    modes=MODES,
    equivalents=(
        Equivalent("Keras", "keras.losses.Hinge()", "0/1 or ±1 targets; reduction sum_over_batch_size"),
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.hinge_loss(y, f, sample_weight=w)",
            "(N,) scores with both labels present; reduction mean",
        ),
        Equivalent("Optax", "optax.losses.hinge_loss(f, y)", "±1 targets; per element"),
    ),
    differences=(
        "scikit-learn maps the two labels present to -1/+1 with a LabelBinarizer: a batch whose "
        "targets are all one label maps them all to -1 there, while here +1 (or 1) stays positive.",
        "At the kink v = 1 the gradient is 0 (as torch.relu(1 - v)); torch.clamp(1 - v, min=0) gives "
        "-y there and Keras on JAX -y/2. Elsewhere the gradient is -y where v < 1, else 0.",
        "Keras converts 0/1 labels only when the whole batch is 0/1 and leaves other values as they "
        "are; here a batch mixing -1 and 0, or any other value, is refused with 422.",
    ),
)
def hinge(predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool) -> Computed:
    """max(0, 1 − v); ∂l/∂f = −y where v < 1, else 0."""
    return margin_loss(predictions, targets, _hinge, want_gradient)


def _squared_hinge(v: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    gap = np.maximum(1.0 - v, 0.0)
    return gap * gap, (-2.0 * gap if want_gradient else None)


@register(
    name="squared_hinge",
    params=NoParams,
    family="margin",
    summary="Squared hinge loss: a smooth hinge, zero once the margin reaches 1.",
    formula="l = max(0, 1 - v)^2, v = y f",
    modes=MODES,
    equivalents=(
        Equivalent(
            "Keras", "keras.losses.SquaredHinge()", "0/1 or ±1 targets; reduction sum_over_batch_size"
        ),
    ),
    differences=(
        "Keras converts 0/1 labels only when the whole batch is 0/1; here a batch mixing -1 and 0 is "
        "refused with 422.",
    ),
)
def squared_hinge(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """max(0, 1 − v)²; ∂l/∂f = −2y·max(0, 1 − v)."""
    return margin_loss(predictions, targets, _squared_hinge, want_gradient)


def _soft_margin(v: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    # log(1 + e^−v) = softplus(−v), finite for every v; its slope −σ(−v) never overflows either.
    return softplus(-v), (-sigmoid(-v) if want_gradient else None)


@register(
    name="soft_margin",
    aliases=("logistic",),
    params=NoParams,
    family="margin",
    summary="Logistic loss of the margin, computed stably.",
    formula="l = log(1 + e^(-v)) = softplus(-v), v = y f",
    modes=MODES,
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.soft_margin_loss(f, y)", "±1 targets; " + TORCH_REDUCTION),
        Equivalent(
            "Optax",
            "optax.losses.sigmoid_binary_cross_entropy(f, (y + 1) / 2)",
            "±1 targets mapped to 0/1; per element",
        ),
    ),
    notes=(
        "Equal to binary_cross_entropy(from_logits=true) with 0/1 targets: -log sigmoid(v) = softplus(-v).",
    ),
    differences=(
        "torch's soft_margin_loss computes log(1 + exp(-v)) directly and returns inf for v < -709.78; "
        "here softplus keeps it exact (= -v for large negative v).",
    ),
)
def soft_margin(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """softplus(−v); ∂l/∂f = −y·σ(−v)."""
    return margin_loss(predictions, targets, _soft_margin, want_gradient)


def _exponential(v: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    overflow = -v > LOG_FLOAT64_MAX
    if overflow.any():
        index = first_index(overflow)
        where = "".join(f"[{i}]" for i in index)
        raise InvalidInput(
            f"predictions{where}: the margin v = y*f = {fmt(v[index])} makes e^(-v) larger than the "
            f"largest float64 (v must be >= {-LOG_FLOAT64_MAX:.2f} for the exponential loss). Rescale "
            "the scores, or use soft_margin, which grows only linearly.",
            ("predictions", *index),
        )
    values = np.exp(-v)
    return values, (-values if want_gradient else None)


@register(
    name="exponential",
    params=NoParams,
    family="margin",
    summary="Exponential (AdaBoost) loss of the margin.",
    formula="l = e^(-v), v = y f",
    modes=MODES,
    equivalents=(),
    notes=(
        "Same numbers as scikit-learn's private sklearn._loss.loss.ExponentialLoss (the loss of "
        "GradientBoostingClassifier(loss='exponential')) with 0/1 targets and raw_prediction = f.",
        "e^(-v) exceeds the largest float64 for v < -709.78: such inputs are refused with 422 naming "
        "the element, rather than returning an infinite loss.",
    ),
)
def exponential(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """e^(−v); ∂l/∂f = −y·e^(−v) (Freund & Schapire 1997; Friedman, Hastie & Tibshirani 2000)."""
    return margin_loss(predictions, targets, _exponential, want_gradient)


def _savage(v: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    # 1/(1 + e^v) = σ(−v), computed without exp overflow for any v.
    s = sigmoid(-v)
    values = s * s
    return values, (-2.0 * values * sigmoid(v) if want_gradient else None)


@register(
    name="savage",
    params=NoParams,
    family="margin",
    summary="Savage loss: a bounded, non-convex margin loss robust to outliers.",
    formula="l = 1 / (1 + e^v)^2 = sigmoid(-v)^2, v = y f",
    modes=MODES,
    equivalents=(),
    notes=(
        "Masnadi-Shirazi & Vasconcelos, 'On the design of loss functions for classification' "
        "(NeurIPS 2008). Bounded by 1; gradient -2y sigmoid(-v)^2 sigmoid(v).",
    ),
)
def savage(predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool) -> Computed:
    """σ(−v)²; ∂l/∂f = −2y·σ(−v)²·σ(v)."""
    return margin_loss(predictions, targets, _savage, want_gradient)


def _inverse_one_plus_square(v: np.ndarray) -> np.ndarray:
    """1/(1 + v²) without overflowing v² for |v| > 1e154: (1/v)²/(1 + (1/v)²) there."""
    a = np.abs(v)
    small = a <= 1.0
    inverse = 1.0 / np.where(small, 1.0, a)
    return np.where(
        small, 1.0 / (1.0 + np.minimum(a, 1.0) ** 2), inverse * inverse / (1.0 + inverse * inverse)
    )


def _tangent(v: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    inner = 2.0 * np.arctan(v) - 1.0
    slope = 4.0 * inner * _inverse_one_plus_square(v) if want_gradient else None
    return inner * inner, slope


@register(
    name="tangent",
    params=NoParams,
    family="margin",
    summary="Tangent loss: bounded, non-convex, penalising both wrong and overly confident margins.",
    formula="l = (2 arctan(v) - 1)^2, v = y f",
    modes=MODES,
    equivalents=(),
    notes=(
        "Masnadi-Shirazi, Mahadevan & Vasconcelos, 'On the design of robust classifiers for computer "
        "vision' (CVPR 2010, TangentBoost). Its minimum 0 is at v = tan(1/2) ~ 0.5463, not at large "
        "margins; it tends to (pi - 1)^2 as v -> +inf and (pi + 1)^2 as v -> -inf.",
    ),
)
def tangent(predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool) -> Computed:
    """(2·arctan(v) − 1)²; ∂l/∂f = 4y·(2·arctan(v) − 1)/(1 + v²)."""
    return margin_loss(predictions, targets, _tangent, want_gradient)


def _square_margin(v: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    gap = 1.0 - v
    return gap * gap, (-2.0 * gap if want_gradient else None)


@register(
    name="square_margin",
    params=NoParams,
    family="margin",
    summary="Squared loss of the margin: (1 - v)^2, which for ±1 targets is (y - f)^2.",
    formula="l = (1 - v)^2, v = y f",
    modes=MODES,
    equivalents=(
        Equivalent("PyTorch", "torch.nn.functional.mse_loss(f, y)", "±1 targets; " + TORCH_REDUCTION),
        Equivalent("Keras", "keras.losses.MeanSquaredError()", "±1 targets; reduction sum_over_batch_size"),
    ),
    notes=(
        "For ±1 targets y^2 = 1, so (1 - y f)^2 = (y - f)^2: mean_squared_error against the ±1 targets.",
        "Unlike the hinge it also penalises margins beyond 1; its minimum 0 is at v = 1.",
    ),
)
def square_margin(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """(1 − v)²; ∂l/∂f = −2y·(1 − v)."""
    return margin_loss(predictions, targets, _square_margin, want_gradient)


def _zero_one(v: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    return (v <= 0.0).astype(np.float64), (np.zeros_like(v) if want_gradient else None)


@register(
    name="zero_one",
    params=NoParams,
    family="margin",
    summary="Misclassification indicator of the margin: 1 if v <= 0, else 0.",
    formula="l = 1[v <= 0], v = y f",
    modes=MODES,
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.zero_one_loss(y, np.where(f > 0, 1, -1), sample_weight=w)",
            "(N,) scores, ±1 targets, no score exactly 0; reduction mean",
        ),
    ),
    differences=(
        "A score of exactly 0 counts as an error for both labels here (v = 0 <= 0); thresholding "
        "f > 0 into a label, as with scikit-learn above, counts it as correct for y = -1.",
    ),
    notes=(
        "has_gradient is true and the gradient is 0 everywhere: the derivative of a step function "
        "away from its jump (and the subgradient chosen at v = 0). It carries no training signal.",
    ),
)
def zero_one(predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool) -> Computed:
    """1[v ≤ 0]; ∂l/∂f = 0."""
    return margin_loss(predictions, targets, _zero_one, want_gradient)
