"""Binary and multi-label losses: predictions (N,) or (N, L) as probabilities or logits.

Targets are probabilities of the positive class in [0, 1] (hard 0/1 labels or soft targets). With
(N, L) inputs the per-sample loss is the mean over the L labels, as Keras and PyTorch's element mean.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .base import TORCH_REDUCTION, Computed, Equivalent, InputMode, Params, elementwise
from .checks import (
    check_class_indices,
    check_ndim,
    check_range,
    check_same_shape,
    check_simplex,
    check_vector_param,
)
from .errors import InvalidInput
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
        values, gradient = _bce_logits(predictions, y, pw, want_gradient)
    else:
        values, gradient, clipped = _bce_probabilities(predictions, y, pw, params.epsilon, want_gradient)
    result = elementwise(values, gradient)
    result.clipped = clipped
    result.classes = binary_classes(targets)
    return result


def _bce_logits(
    x: np.ndarray, y: np.ndarray, pw: np.ndarray | float, want_gradient: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """pw·y·softplus(−x) + (1 − y)·softplus(x) and its gradient (1 − y)σ(x) − pw·y·σ(−x).

    One exponential serves everything: with e = e^−|x|, softplus(±x) = max(±x, 0) + log1p(e), and
    σ(|x|) = 1/(1 + e), σ(−|x|) = e/(1 + e); exact for logits of any size.
    """
    e = np.exp(-np.abs(x))
    log1p_e = np.log1p(e)
    positive = x >= 0
    values = pw * y * (np.maximum(-x, 0.0) + log1p_e) + (1.0 - y) * (np.maximum(x, 0.0) + log1p_e)
    if not want_gradient:
        return values, None
    near = 1.0 / (1.0 + e)  # σ(|x|)
    far = e * near  # σ(−|x|)
    return values, (1.0 - y) * np.where(positive, near, far) - pw * y * np.where(positive, far, near)


def _bce_probabilities(
    predictions: np.ndarray, y: np.ndarray, pw: np.ndarray | float, eps: float, want_gradient: bool
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """−[pw·y·log p + (1 − y)·log(1 − p)] with p and 1 − p each clipped to [eps, 1 − eps].

    As scikit-learn, neither log sees 0; the gradient is 0 where a clip is active. When nothing needs
    clipping (the usual case, seen from the extremes alone) no clipped copies or masks are made.
    """
    p = predictions
    q = 1.0 - predictions
    low, high = float(p.min()), float(p.max())
    # x -> 1 − x is monotone in floating point, so the extremes of q are 1 − high and 1 − low.
    needs_clip = low < eps or high > 1.0 - eps or 1.0 - high < eps or 1.0 - low > 1.0 - eps
    inside_p = inside_q = None
    clipped = 0
    if needs_clip:
        p = np.clip(p, eps, 1.0 - eps)
        q_raw = q
        q = np.clip(q_raw, eps, 1.0 - eps)
        inside_p = p == predictions
        inside_q = q == q_raw
        clipped = int(np.count_nonzero(~(inside_p & inside_q)))
    # p, q >= eps > 0 here, so 0·log p = 0 needs no special case.
    values = -(pw * y * np.log(p) + (1.0 - y) * np.log(q))
    if not want_gradient:
        return values, None, clipped
    toward_p = -pw * y / p
    toward_q = (1.0 - y) / q
    if inside_p is not None and inside_q is not None:
        toward_p = np.where(inside_p, toward_p, 0.0)
        toward_q = np.where(inside_q, toward_q, 0.0)
    return values, toward_p + toward_q, clipped


class BinaryFocalParams(Params):
    gamma: float = Field(2.0, ge=0, description="Focusing exponent of the factor (1 - p_t)^gamma.")
    alpha: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Class balance: the loss is weighted alpha where y = 1 and 1 - alpha where y = 0 "
        "(null: no weighting).",
    )
    from_logits: bool = Field(False, description="Predictions are logits rather than probabilities.")
    label_smoothing: float = Field(
        0.0, ge=0, le=1, description="Targets become y(1 - label_smoothing) + label_smoothing/2."
    )
    epsilon: float = Field(
        FLOAT64_EPS,
        gt=0,
        lt=0.5,
        description="Probabilities are clipped to [epsilon, 1 - epsilon] (probabilities only).",
    )


def _log_mix(y: np.ndarray, log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """log(y·e^log_a + (1 − y)·e^log_b) for y in [0, 1], without leaving log space."""
    # log 0 = −inf where a weight is 0; logaddexp(−inf, t) = t exactly, and both weights are never 0.
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(y) + log_a, np.log1p(-y) + log_b)


@register(
    name="binary_focal",
    params=BinaryFocalParams,
    family="binary",
    summary="Binary cross-entropy scaled down by (1 - p_t)^gamma for well-classified examples.",
    formula=(
        "l = a_t (1 - p_t)^gamma bce, bce = -[y log p + (1 - y) log(1 - p)], "
        "1 - p_t = y (1 - p) + (1 - y) p, a_t = alpha y + (1 - alpha)(1 - y) (1 when alpha is null); "
        "from logits x: bce = y softplus(-x) + (1 - y) softplus(x), "
        "log(1 - p_t) = log(y sigmoid(-x) + (1 - y) sigmoid(x)) in log space"
    ),
    modes=PROBABILITY_MODES,
    examples=(
        {"gamma": 0.0},
        {"gamma": 0.5},
        {"alpha": 0.25},
        {"label_smoothing": 0.1, "alpha": 0.75},
        {"from_logits": True, "alpha": 0.25, "gamma": 1.5},
        {"from_logits": True, "label_smoothing": 0.2, "gamma": 0.5},
        {"from_logits": True, "gamma": 0.0},
    ),
    equivalents=(
        Equivalent(
            "Keras",
            "keras.losses.BinaryFocalCrossentropy(apply_class_balancing=alpha is not None, "
            "alpha=alpha, gamma=gamma, from_logits=..., label_smoothing=s)",
            "alpha=null is apply_class_balancing=False (Keras's own alpha default 0.25 is then unused); "
            "reduction sum_over_batch_size (Keras's default), sum as ours",
        ),
        Equivalent(
            "Optax",
            "optax.losses.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)",
            "from_logits=true; per element (the row mean over L is our per-sample loss); Optax has no "
            "label smoothing: pass it y(1 - s) + s/2",
        ),
    ),
    differences=(
        "Keras applies the sigmoid to logits and then clips the probability at 1e-7, so from logits "
        "its loss saturates at -log(1e-7) ~ 16.1 and its gradient vanishes for |x| beyond ~16; this "
        "service (like Optax >= 0.2.5) stays in log space and is exact for logits of any size.",
        "On probabilities Keras clips at 1e-7 inside the log only and computes p_t from the unclipped "
        "probability. Here p and 1 - p are clipped to [epsilon, 1 - epsilon] as binary_cross_entropy "
        "does (scikit-learn's convention, epsilon = float64 machine epsilon by default) and p_t is "
        "computed from the clipped values, so the loss is flat and the gradient 0 where the clip is "
        "active, and `clipped` counts those elements. The two agree for probabilities in "
        "[1e-7, 1 - 1e-7].",
    ),
    notes=(
        "With gamma = 0 and alpha null this is binary_cross_entropy exactly (same clip, same gradient).",
        "Label smoothing is applied first, as Keras: the smoothed target enters bce, p_t and the alpha "
        "weight alike.",
        "Soft targets are accepted: 1 - p_t = y(1 - p) + (1 - y)p is then a mixture (Keras's and "
        "Optax's definition).",
    ),
)
def binary_focal(
    predictions: np.ndarray,
    targets: np.ndarray,
    params: BinaryFocalParams,
    want_gradient: bool,
) -> Computed:
    """Element-wise focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection").

    With u = 1 − p_t the loss is a_t·u^γ·bce, and ∂l/∂z = a_t·(γ·u^(γ−1)·∂u/∂z·bce + u^γ·∂bce/∂z)
    for z the probability or the logit.
    """
    y = binary_targets(predictions, targets, params.from_logits, params.label_smoothing)
    gamma = params.gamma
    weight = 1.0 if params.alpha is None else params.alpha * y + (1.0 - params.alpha) * (1.0 - y)
    gradient = None
    clipped = 0
    if params.from_logits:
        x = predictions
        log_p, log_q = -softplus(-x), -softplus(x)  # log σ(x), log(1 − σ(x)) = log σ(−x)
        bce = -(y * log_p + (1.0 - y) * log_q)
        log_u = _log_mix(y, log_q, log_p)  # log(1 − p_t), finite: log σ is finite for finite x
        factor = np.exp(gamma * log_u)
        values = weight * factor * bce
        if want_gradient:
            # ∂u/∂x = (1 − 2y)·σ(x)σ(−x); u^(γ−1)·σ(x)σ(−x) = u^γ·r with r = σ(x)σ(−x)/u in [0, 1].
            r = np.exp(log_p + log_q - log_u)
            gradient = weight * factor * (gamma * (1.0 - 2.0 * y) * r * bce + sigmoid(x) - y)
    else:
        eps = params.epsilon
        # As binary_cross_entropy: p and 1 − p clipped separately; u >= eps as a mixture of the two.
        p = np.clip(predictions, eps, 1.0 - eps)
        q = np.clip(1.0 - predictions, eps, 1.0 - eps)
        inside_p = p == predictions
        inside_q = q == 1.0 - predictions
        clipped = int(np.count_nonzero(~(inside_p & inside_q)))
        bce = -(xlogy(y, p) + xlogy(1.0 - y, q))
        u = y * q + (1.0 - y) * p
        factor = u**gamma
        values = weight * factor * bce
        if want_gradient:
            du = np.where(inside_p, 1.0 - y, 0.0) - np.where(inside_q, y, 0.0)
            dbce = np.where(inside_p, -y / p, 0.0) + np.where(inside_q, (1.0 - y) / q, 0.0)
            gradient = weight * (gamma * u ** (gamma - 1.0) * du * bce + factor * dbce)
    result = elementwise(values, gradient)
    result.clipped = clipped
    result.classes = binary_classes(targets)
    return result


# Chosen by the shape of the predictions, not by a parameter.
BRIER_MODES = (
    InputMode(
        "classes",
        "simplex",
        ("class_index", "simplex"),
        ("predictions (N, C), C >= 2", "targets (N,) class indices or (N, C) class probabilities"),
    ),
    InputMode("binary", "unit_interval", ("unit_interval",), ("(N,)",)),
)


class BrierParams(Params):
    scale_by_half: Literal["auto"] | bool = Field(
        "auto",
        description="Halve the sum of squares over classes: 'auto' halves for binary (N,) and two-class "
        "(N, 2) inputs, not for three or more classes (scikit-learn's scale_by_half).",
    )


def _brier_layout(predictions: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate; return the (N, C) target distribution, or (N,) targets and None for the binary form."""
    check_ndim(predictions, "predictions", (1, 2))
    if predictions.ndim == 1:
        check_same_shape(predictions, targets)
        check_range(
            targets,
            "targets",
            low=0.0,
            high=1.0,
            what="binary targets are 0/1 labels (or probabilities) of the positive class",
        )
        check_range(
            predictions,
            "predictions",
            low=0.0,
            high=1.0,
            what="predictions of shape (N,) are probabilities of the positive class",
        )
        return targets, None
    n, n_classes = predictions.shape
    if n_classes < 2:
        raise InvalidInput(
            f"predictions of shape (N, C) need C >= 2 classes; got shape {tuple(predictions.shape)}. "
            "Send the probabilities of the positive class with shape (N,) instead.",
            ("predictions",),
        )
    check_simplex(predictions, "predictions", "predictions of shape (N, C) are class probabilities")
    if targets.ndim == 1:
        index = check_class_indices(targets, n_classes)
        return np.eye(n_classes)[index], index
    if targets.shape != predictions.shape:
        raise InvalidInput(
            f"targets must be class indices of shape ({n},) or class probabilities of shape "
            f"{tuple(predictions.shape)}; got shape {tuple(targets.shape)}.",
            ("targets",),
        )
    check_simplex(targets, "targets", "targets of shape (N, C) are class probabilities")
    return targets, np.argmax(targets, axis=1)


@register(
    name="brier",
    params=BrierParams,
    family="binary",
    summary="Squared error between predicted probabilities and the outcome (a strictly proper score).",
    formula=(
        "l = h sum_c (p_c - q_c)^2 over the C classes (binary (N,): the two columns 1 - p and p, so "
        "l = 2h (p - y)^2); h = 1/2 when scale_by_half is true, or 'auto' with C <= 2; h = 1 otherwise"
    ),
    modes=BRIER_MODES,
    examples=({"scale_by_half": False}, {"scale_by_half": True}),
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.brier_score_loss(y, p, sample_weight=w, labels=range(C), "
            "scale_by_half=scale_by_half)",
            "(N,) probabilities of the positive class with 0/1 targets, or (N, C) with class-index "
            "targets (labels=range(C)); reduction mean",
        ),
    ),
    differences=(
        "scikit-learn takes labels only; this service also accepts soft targets: binary targets in "
        "[0, 1] and (N, C) class-probability targets (rows validated to sum to 1), with the same "
        "formula.",
        "scikit-learn infers the positive label (e.g. from {-1, 1}); here binary targets are 0/1 (or "
        "in [0, 1]) and (N, 1) predictions are refused: send the positive-class probabilities as (N,).",
        "(N, C) predictions are validated to sum to 1 within 1e-6 (scikit-learn only warns).",
    ),
    notes=(
        "With the default scale_by_half='auto', two-column input [1 - p, p] gives exactly the binary "
        "value (p - y)^2, as scikit-learn; three or more classes keep the [0, 2] range.",
        "(N, L) multi-label probabilities are not a Brier input here: a 2-D prediction is one "
        "distribution over C classes per row.",
        "Gradient: 2h(p_c - q_c) per class; for the binary form 4h(p - y).",
    ),
)
def brier(predictions: np.ndarray, targets: np.ndarray, params: BrierParams, want_gradient: bool) -> Computed:
    """The Brier score (Brier 1950), scaled as scikit-learn's brier_score_loss.

    Binary predictions p (N,) stand for the two columns [1 − p, p], so that the sum over classes is
    2(p − y)²; with the default scaling by half this is the usual (p − y)².
    """
    q, index = _brier_layout(predictions, targets)
    n_classes = 2 if predictions.ndim == 1 else predictions.shape[1]
    auto = params.scale_by_half == "auto"
    half = n_classes < 3 if auto else bool(params.scale_by_half)
    scale = 0.5 if half else 1.0
    error = predictions - q
    if predictions.ndim == 1:
        values = 2.0 * scale * error * error
        gradient = 4.0 * scale * error if want_gradient else None
        classes = binary_classes(targets)
    else:
        values = scale * np.sum(error * error, axis=1)
        gradient = 2.0 * scale * error if want_gradient else None
        classes = index
    return Computed(values, gradient, classes=classes)
