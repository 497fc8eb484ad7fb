"""Overlap and similarity losses: predictions and targets of shape (N, D), one loss per row.

Each loss reduces the D axis of a row as its formula says (a sum inside a ratio), never by a mean.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Computed, Equivalent, InputMode, Params
from .checks import check_ndim, check_range, check_same_shape
from .registry import register

SHAPES = ("(N, D)",)
REAL = (InputMode("default", "real", ("real",), SHAPES),)
OVERLAP = (InputMode("default", "unit_interval", ("unit_interval",), SHAPES),)
KERAS_EPSILON = 1e-7  # keras.config.epsilon()


def _rows(predictions: np.ndarray, targets: np.ndarray) -> None:
    check_ndim(predictions, "predictions", (2,))
    check_same_shape(predictions, targets)


def _overlap_rows(predictions: np.ndarray, targets: np.ndarray) -> None:
    """Rows of soft masks: predictions and targets in [0, 1] (so every denominator is >= epsilon)."""
    _rows(predictions, targets)
    check_range(targets, "targets", low=0.0, high=1.0, what="targets are (soft) masks in [0, 1]")
    check_range(predictions, "predictions", low=0.0, high=1.0, what="predictions are probabilities in [0, 1]")


class CosineSimilarityParams(Params):
    epsilon: float = Field(
        KERAS_EPSILON,
        gt=0,
        description="Row norms below epsilon are replaced by epsilon (Keras's l2_normalize).",
    )


@register(
    name="cosine_similarity",
    aliases=("cosine",),
    params=CosineSimilarityParams,
    family="similarity",
    summary="Negative cosine of the angle between each prediction row and its target row.",
    formula="l_i = -(p_i . y_i) / (max(|p_i|, eps) max(|y_i|, eps)), in [-1, 1]",
    modes=REAL,
    scalar_prediction=False,
    nonnegative=False,
    examples=({"epsilon": 1e-3},),
    equivalents=(
        Equivalent(
            "Keras",
            "keras.losses.CosineSimilarity(axis=-1)",
            "epsilon = keras.config.epsilon() (1e-7); reduction sum_over_batch_size, or mean with "
            "reduction='mean_with_sample_weight'",
        ),
        Equivalent(
            "PyTorch",
            "-torch.nn.functional.cosine_similarity(p, y, dim=1, eps=epsilon)",
            "per row (our per_sample); torch clamps each norm at eps separately, as ours",
        ),
    ),
    differences=(
        "A zero row (or a row of norm below epsilon) is not an error: as Keras, its norm is "
        "replaced by epsilon, so a zero prediction or target row has loss 0, and the gradient "
        "with respect to a prediction row of norm below epsilon is -y_hat/epsilon (large, finite). "
        "A row of norm exactly epsilon takes the gradient through the norm, as torch's clamp.",
        "Below epsilon torch's value is the same, but its gradient is not the derivative of that "
        "value: it still differentiates the norm it clamped (adding (p.y_hat)/eps^2 p/|p|). This "
        "service gives the derivative, -y_hat/epsilon, as Keras (JAX) autodiff does.",
    ),
)
def cosine_similarity(
    predictions: np.ndarray, targets: np.ndarray, params: CosineSimilarityParams, want_gradient: bool
) -> Computed:
    """l = −p̂·ŷ with x̂ = x / max(‖x‖, ε); ∂l/∂p = −(ŷ − (p̂·ŷ) p̂)/‖p‖ where ‖p‖ ≥ ε, else −ŷ/ε."""
    _rows(predictions, targets)
    eps = params.epsilon
    p_norm = np.linalg.norm(predictions, axis=1, keepdims=True)
    y_hat = targets / np.maximum(np.linalg.norm(targets, axis=1, keepdims=True), eps)
    through_norm = p_norm >= eps
    p_hat = predictions / np.maximum(p_norm, eps)
    cosine = (p_hat * y_hat).sum(axis=1, keepdims=True)
    gradient = None
    if want_gradient:
        gradient = np.where(
            through_norm,
            -(y_hat - cosine * p_hat) / np.where(through_norm, p_norm, 1.0),
            -y_hat / eps,
        )
    return Computed(-cosine[:, 0], gradient)


class DiceParams(Params):
    epsilon: float = Field(
        KERAS_EPSILON, gt=0, description="Added to the denominator (keras.config.epsilon())."
    )


@register(
    name="dice",
    aliases=("dice_loss",),
    params=DiceParams,
    family="similarity",
    summary="One minus the (soft) Dice coefficient of each prediction row and its target row.",
    formula="l_i = 1 - 2 sum_j p_ij y_ij / (sum_j p_ij + sum_j y_ij + epsilon)",
    modes=OVERLAP,
    scalar_prediction=False,
    examples=({"epsilon": 0.5},),
    equivalents=(
        Equivalent(
            "Keras",
            "keras.losses.Dice(axis=-1)",
            "epsilon = keras.config.epsilon() (1e-7); axis=-1 is needed (Keras's default "
            "axis=None computes one Dice over the whole batch); reduction sum_over_batch_size, "
            "or mean with reduction='mean_with_sample_weight'",
        ),
    ),
    differences=(
        "Predictions and targets must lie in [0, 1] (a 422 otherwise); Keras accepts any values.",
        "dice(epsilon) equals tversky(alpha=0.5, beta=0.5, epsilon=epsilon/2): with the same "
        "epsilon the two differ in the epsilon term, although Keras's docstring calls them "
        "equivalent.",
    ),
)
def dice(predictions: np.ndarray, targets: np.ndarray, params: DiceParams, want_gradient: bool) -> Computed:
    """l = 1 − 2I/S with I = Σ p y, S = Σ p + Σ y + ε; ∂l/∂p_j = −2 (y_j S − I)/S²."""
    _overlap_rows(predictions, targets)
    intersection = (predictions * targets).sum(axis=1, keepdims=True)
    total = predictions.sum(axis=1, keepdims=True) + targets.sum(axis=1, keepdims=True) + params.epsilon
    gradient = -2.0 * (targets * total - intersection) / total**2 if want_gradient else None
    return Computed(1.0 - 2.0 * intersection[:, 0] / total[:, 0], gradient)


class TverskyParams(Params):
    alpha: float = Field(
        0.5, ge=0, description="Weight of sum (1 - p) y, the target mass the prediction misses (as Keras)."
    )
    beta: float = Field(
        0.5, ge=0, description="Weight of sum p (1 - y), the predicted mass outside the target (as Keras)."
    )
    epsilon: float = Field(
        KERAS_EPSILON, gt=0, description="Added to the denominator (keras.config.epsilon())."
    )


@register(
    name="tversky",
    aliases=("tversky_loss",),
    params=TverskyParams,
    family="similarity",
    summary="One minus the Tversky index: Dice with separate weights for missed and extra mass.",
    formula=(
        "l_i = 1 - I / (I + alpha sum_j (1 - p_ij) y_ij + beta sum_j p_ij (1 - y_ij) + epsilon), "
        "I = sum_j p_ij y_ij"
    ),
    modes=OVERLAP,
    scalar_prediction=False,
    examples=({"alpha": 0.7, "beta": 0.3}, {"alpha": 0.1, "beta": 2.0, "epsilon": 0.5}),
    equivalents=(
        Equivalent(
            "Keras",
            "keras.losses.Tversky(alpha=alpha, beta=beta, axis=-1)",
            "same alpha and beta; epsilon = keras.config.epsilon() (1e-7); reduction "
            "sum_over_batch_size, or mean with reduction='mean_with_sample_weight'",
        ),
    ),
    differences=(
        "alpha weighs sum (1 - p) y, the false negatives in Salehi et al.'s terms, as Keras's "
        "code does (Keras's docstring says alpha controls false positives; its code names y_true "
        "'inputs' and y_pred 'targets', which swaps the two). For the paper's alpha (weight of "
        "false positives, sum p (1 - y)) pass it as beta here.",
        "Predictions and targets must lie in [0, 1] (a 422 otherwise); Keras accepts any values.",
        "tversky(0.5, 0.5, epsilon) equals dice(2 epsilon), not dice(epsilon).",
    ),
)
def tversky(
    predictions: np.ndarray, targets: np.ndarray, params: TverskyParams, want_gradient: bool
) -> Computed:
    """l = 1 − I/T, T = I + α Σ(1 − p)y + β Σ p(1 − y) + ε; ∂l/∂p_j = −(y_j T − I ∂T/∂p_j)/T².

    ∂T/∂p_j = y_j − α y_j + β (1 − y_j).
    """
    _overlap_rows(predictions, targets)
    a, b = params.alpha, params.beta
    intersection = (predictions * targets).sum(axis=1, keepdims=True)
    missed = ((1.0 - predictions) * targets).sum(axis=1, keepdims=True)
    extra = (predictions * (1.0 - targets)).sum(axis=1, keepdims=True)
    total = intersection + a * missed + b * extra + params.epsilon
    gradient = None
    if want_gradient:
        d_total = (1.0 - a) * targets + b * (1.0 - targets)
        gradient = -(targets * total - intersection * d_total) / total**2
    return Computed(1.0 - intersection[:, 0] / total[:, 0], gradient)
