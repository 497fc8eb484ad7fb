"""Binary and multi-label losses: predictions (N,) or (N, L) as probabilities or logits.

Targets are probabilities of the positive class in [0, 1] (hard 0/1 labels or soft targets). With
(N, L) inputs the per-sample loss is the mean over the L labels, as Keras and PyTorch's element mean.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from .base import TORCH_REDUCTION, Computed, Equivalent, InputMode, Params, elementwise
from .checks import check_ndim, check_range, check_same_shape, check_vector_param
from .numerics import FLOAT64_EPS, sigmoid, softplus, xlogy
from .registry import register

BINARY_SHAPES = ("(N,)", "(N, L)")
PROBABILITY_MODES = (
    InputMode("probabilities", "unit_interval", ("unit_interval",), BINARY_SHAPES, {"from_logits": False}),
    InputMode("logits", "real", ("unit_interval",), BINARY_SHAPES, {"from_logits": True}),
)

NonNegative = Annotated[float, Field(ge=0)]


def binary_targets(
    predictions: np.ndarray, targets: np.ndarray, from_logits: bool, label_smoothing: float
) -> np.ndarray:
    """Check shapes and spaces; return the targets smoothed as Keras does: y(1 − α) + α/2."""
    check_ndim(predictions, "predictions", (1, 2))
    check_same_shape(predictions, targets)
    check_range(
        targets,
        "targets",
        low=0.0,
        high=1.0,
        what="targets are probabilities of the positive class (0/1 labels or soft targets)",
    )
    if not from_logits:
        check_range(
            predictions,
            "predictions",
            low=0.0,
            high=1.0,
            what="probabilities are expected (set from_logits=true to send logits)",
        )
    if label_smoothing:
        return targets * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return targets


def binary_classes(targets: np.ndarray) -> np.ndarray | None:
    """The class of each (N,) sample for the per-class breakdown: 1 where the target is ≥ 0.5."""
    return (targets >= 0.5).astype(np.int64) if targets.ndim == 1 else None


class BinaryCrossEntropyParams(Params):
    from_logits: bool = Field(False, description="Predictions are logits rather than probabilities.")
    label_smoothing: float = Field(
        0.0, ge=0, le=1, description="Targets become y(1 - label_smoothing) + label_smoothing/2."
    )
    pos_weight: NonNegative | tuple[NonNegative, ...] | None = Field(
        None,
        description="Weight of the positive term: one number, or one per label for (N, L) inputs.",
    )
    epsilon: float = Field(
        FLOAT64_EPS,
        gt=0,
        lt=0.5,
        description="Probabilities are clipped to [epsilon, 1 - epsilon] (probabilities only).",
    )


def _pos_weight(params: BinaryCrossEntropyParams, predictions: np.ndarray) -> np.ndarray | float:
    if params.pos_weight is None:
        return 1.0
    if isinstance(params.pos_weight, float):
        return params.pos_weight
    width = predictions.shape[1] if predictions.ndim == 2 else 1
    weights = check_vector_param(params.pos_weight, width, "pos_weight", "labels")
    assert weights is not None
    return weights if predictions.ndim == 2 else float(weights[0])


@register(
    name="binary_cross_entropy",
    aliases=("bce", "log_loss"),
    params=BinaryCrossEntropyParams,
    family="binary",
    summary="Log loss of independent binary events, from probabilities or logits.",
    formula=(
        "l = -[pw y log p + (1 - y) log(1 - p)]; probabilities clipped to [eps, 1 - eps]; "
        "from logits x: pw y softplus(-x) + (1 - y) softplus(x)"
    ),
    modes=PROBABILITY_MODES,
    examples=(
        {"label_smoothing": 0.1},
        {"from_logits": True, "pos_weight": 2.5},
        {"from_logits": True, "label_smoothing": 0.2},
        {"pos_weight": 0.5},
    ),
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.log_loss(y, p, sample_weight=w)",
            "probabilities, (N,), 0/1 targets, label_smoothing 0, pos_weight null; reduction mean",
        ),
        Equivalent(
            "PyTorch",
            "torch.nn.functional.binary_cross_entropy_with_logits(x, y, pos_weight=pw)",
            "from_logits=true; " + TORCH_REDUCTION,
        ),
        Equivalent(
            "Keras",
            "keras.losses.BinaryCrossentropy(from_logits=..., label_smoothing=a)",
            "from_logits=true (Keras clips probabilities at 1e-7); sum_over_batch_size",
        ),
    ),
    differences=(
        "On probabilities, PyTorch's binary_cross_entropy clamps log at -100 instead of clipping "
        "at machine epsilon, and Keras clips at 1e-7: they differ for predictions within 1e-7 of "
        "0 or 1. Clipping follows scikit-learn: p and 1 - p are each clipped to [eps, 1 - eps], "
        "the gradient is 0 where the clip is active, and `clipped` counts those elements.",
    ),
)
def binary_cross_entropy(
    predictions: np.ndarray,
    targets: np.ndarray,
    params: BinaryCrossEntropyParams,
    want_gradient: bool,
) -> Computed:
    """Element-wise log loss; the gradient is −pw·y/p + (1 − y)/(1 − p), or σ-form from logits."""
    y = binary_targets(predictions, targets, params.from_logits, params.label_smoothing)
    pw = _pos_weight(params, predictions)
    gradient = None
    clipped = 0
    if params.from_logits:
        x = predictions
        # log σ(x) = −softplus(−x), log(1 − σ(x)) = −softplus(x): exact for |x| of any size.
        values = pw * y * softplus(-x) + (1.0 - y) * softplus(x)
        if want_gradient:
            gradient = (1.0 - y) * sigmoid(x) - pw * y * sigmoid(-x)
    else:
        eps = params.epsilon
        # As scikit-learn: p and 1 − p are clipped separately, so neither log sees 0.
        p = np.clip(predictions, eps, 1.0 - eps)
        q = np.clip(1.0 - predictions, eps, 1.0 - eps)
        values = -(pw * xlogy(y, p) + xlogy(1.0 - y, q))
        inside_p = p == predictions
        inside_q = q == 1.0 - predictions
        clipped = int(np.count_nonzero(~(inside_p & inside_q)))
        if want_gradient:
            gradient = np.where(inside_p, -pw * y / p, 0.0) + np.where(inside_q, (1.0 - y) / q, 0.0)
    result = elementwise(values, gradient)
    result.clipped = clipped
    result.classes = binary_classes(targets)
    return result
