"""Metric-learning losses (siamese and triplet networks): embeddings of pairs and triplets.

Rows are stacked parts: ``cosine_embedding`` takes predictions (N, 2, D) = a pair's embeddings
x₁, x₂ and ``triplet_margin`` (N, 3, D) = anchor, positive, negative; ``contrastive`` takes the
distance d ≥ 0 between a pair's embeddings, (N,). Pair labels say whether the two are the same.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Computed, Equivalent, InputMode, Params
from .checks import check_labels, check_layout, check_range
from .registry import register

# torch's cosine_embedding_loss adds 1e-12 to each squared norm, as a float32 constant: this is its
# float64 value (9.999999960041972e-13), which a zero embedding's gradient shows to 9 digits.
TORCH_COSINE_EPSILON = float(np.float32(1e-12))


class ContrastiveParams(Params):
    margin: float = Field(
        1.0, ge=0, description="Distance beyond which a pair labelled different costs nothing."
    )


@register(
    name="contrastive",
    params=ContrastiveParams,
    family="metric_learning",
    summary="Contrastive loss of a siamese pair's distance: pull same pairs together, push others apart.",
    formula="l_i = y_i d_i^2 + (1 - y_i) max(0, margin - d_i)^2, y = 1 for a same pair",
    modes=(
        InputMode(
            "distances",
            "nonnegative",
            ("binary_label",),
            (
                "predictions (N,) the distance d >= 0 between a pair's embeddings",
                "targets (N,) 1: same, 0: different",
            ),
        ),
    ),
    scalar_prediction=False,
    examples=({"margin": 2.5},),
    equivalents=(
        Equivalent(
            "TensorFlow Addons",
            "tfa.losses.contrastive_loss(y, d, margin=margin)",
            "same label convention (1 = same) and no 1/2; per pair",
        ),
    ),
    differences=(
        "Hadsell, Chopra & LeCun (2006) write (1 - Y) d^2 / 2 + Y max(0, m - d)^2 / 2 with Y = 0 "
        "for a similar pair: this loss is theirs without the 1/2 and with the label flipped, as "
        "TensorFlow Addons (1 = same, 0 = different). Halve the value for the paper's.",
        "Targets must be exactly 0 or 1 and distances >= 0 (a 422 otherwise).",
    ),
    notes=("The per-class breakdown groups rows by their label: 0 (different) and 1 (same).",),
)
def contrastive(
    predictions: np.ndarray, targets: np.ndarray, params: ContrastiveParams, want_gradient: bool
) -> Computed:
    """y d² + (1 − y) max(0, m − d)²; ∂l/∂d = 2y d − 2(1 − y) max(0, m − d)."""
    check_layout(predictions, "predictions", "(N,)", "one distance per pair")
    check_layout(targets, "targets", "(N,)", "one label per pair")
    check_range(predictions, "predictions", low=0.0, what="distances are >= 0")
    check_labels(targets, "targets", (0.0, 1.0), "1 for a pair of the same kind, 0 for a different one")
    short = np.maximum(params.margin - predictions, 0.0)
    same = targets == 1.0
    contribution = np.where(same, predictions * predictions, short * short)
    gradient = 2.0 * np.where(same, predictions, -short) if want_gradient else None
    return Computed(contribution, gradient, classes=targets.astype(np.int64))


class CosineEmbeddingParams(Params):
    margin: float = Field(
        0.0, ge=-1, le=1, description="Cosine above which a pair labelled -1 (different) costs."
    )


@register(
    name="cosine_embedding",
    params=CosineEmbeddingParams,
    family="metric_learning",
    summary="Cosine embedding loss of a pair: align same pairs, keep different ones below a cosine.",
    formula=(
        "l_i = 1 - cos(x1_i, x2_i) if y_i = 1, max(0, cos(x1_i, x2_i) - margin) if y_i = -1; "
        "cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))"
    ),
    modes=(
        InputMode(
            "pairs",
            "real",
            ("plus_minus_one",),
            ("predictions (N, 2, D) a pair's embeddings x1, x2", "targets (N,) 1: same, -1: different"),
        ),
    ),
    scalar_prediction=False,
    examples=({"margin": 0.3}, {"margin": -0.5}),
    equivalents=(
        Equivalent(
            "PyTorch",
            "torch.nn.functional.cosine_embedding_loss(x1, x2, y, margin=margin)",
            "x1 = predictions[:, 0], x2 = predictions[:, 1]; reduction as ours",
        ),
    ),
    differences=(
        "As torch, 1e-12 (torch's float32 constant, 9.999999960041972e-13) is added to each squared "
        "norm, so a zero embedding has cosine 0 and a finite gradient.",
        "Targets must be exactly -1 or +1 (a 422 otherwise); torch gives a target 0 the loss 0.",
        "At the kink (cos = margin for y = -1) the gradient is that of the cosine, as torch's clamp_min.",
    ),
    notes=("The per-class breakdown groups rows by their label: -1 (different) and 1 (same).",),
)
def cosine_embedding(
    predictions: np.ndarray, targets: np.ndarray, params: CosineEmbeddingParams, want_gradient: bool
) -> Computed:
    """With A = |x₁|² + ε, B = |x₂|² + ε, cos = x₁·x₂/√(AB):

    ∂cos/∂x₁ = x₂/√(AB) − cos x₁/A, ∂cos/∂x₂ = x₁/√(AB) − cos x₂/B; the loss is −cos + 1 for y = 1
    and cos − margin where that is ≥ 0 for y = −1.
    """
    check_layout(predictions, "predictions", "(N, 2, D)", "the two embeddings of each pair")
    check_layout(targets, "targets", "(N,)", "one label per pair")
    check_labels(targets, "targets", (-1.0, 1.0), "1 for a pair of the same kind, -1 for a different one")
    x1, x2 = predictions[:, 0], predictions[:, 1]
    a = np.einsum("nd,nd->n", x1, x1) + TORCH_COSINE_EPSILON
    b = np.einsum("nd,nd->n", x2, x2) + TORCH_COSINE_EPSILON
    root = np.sqrt(a * b)
    cosine = np.einsum("nd,nd->n", x1, x2) / root
    same = targets == 1.0
    contribution = np.where(same, 1.0 - cosine, np.maximum(cosine - params.margin, 0.0))
    gradient = None
    if want_gradient:
        # dl/dcos: -1 for a same pair, 1 for a different one where cos >= margin (torch's clamp_min).
        slope = np.where(same, -1.0, np.where(cosine >= params.margin, 1.0, 0.0))
        gradient = np.empty_like(predictions)
        over_root, scratch = (slope / root)[:, None], np.empty_like(x1)
        # Written in place through one scratch array: these are the largest arrays of the request.
        for part, mine, other, norm in ((0, x1, x2, a), (1, x2, x1, b)):
            np.multiply(other, over_root, out=gradient[:, part])
            np.multiply(mine, (slope * cosine / norm)[:, None], out=scratch)
            gradient[:, part] -= scratch
    return Computed(contribution, gradient, classes=targets.astype(np.int64))


class TripletMarginParams(Params):
    margin: float = Field(1.0, ge=0, description="How much nearer the positive must be than the negative.")
    p: float = Field(2.0, ge=1, description="The norm degree of the distances.")
    eps: float = Field(1e-6, ge=0, description="Added to every difference before its norm, as torch.")
    swap: bool = Field(
        False,
        description="Use the smaller of d(anchor, negative) and d(positive, negative) (Balntas et al.'s "
        "distance swap).",
    )


def distance(u: np.ndarray, p: float, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """‖u‖ₚ per row and its gradient sign(u)|u|^(p−1)/‖u‖ₚ^(p−1) (0 for a zero row, as torch).

    For p ≠ 2 each row is scaled by its largest |u| first, so |u|^p never overflows.
    """
    if p == 2.0:
        norm = np.sqrt(np.einsum("nd,nd->n", u, u))
        if not want_gradient:
            return norm, None
        return norm, u / np.where(norm > 0.0, norm, np.inf)[:, None]
    magnitude = np.abs(u)
    largest = magnitude.max(axis=1, keepdims=True)
    scaled = magnitude / np.where(largest > 0.0, largest, 1.0)
    # A row's largest element scales to 1, so total >= 1 except for a zero row (whose gradient is 0).
    total = np.maximum((scaled**p).sum(axis=1, keepdims=True), 1.0)
    norm = np.where(largest > 0.0, largest * total ** (1.0 / p), 0.0)[:, 0]
    if not want_gradient:
        return norm, None
    return norm, np.sign(u) * scaled ** (p - 1.0) / total ** ((p - 1.0) / p)


@register(
    name="triplet_margin",
    params=TripletMarginParams,
    family="metric_learning",
    summary="Triplet loss: the anchor must be nearer its positive than its negative by a margin.",
    formula=(
        "l_i = max(0, d(a_i, p_i) - d(a_i, n_i) + margin), d(x, z) = |x - z + eps|_p; swap: "
        "min(d(a_i, n_i), d(p_i, n_i)) in place of d(a_i, n_i)"
    ),
    modes=(
        InputMode(
            "triplets",
            "real",
            (),
            ("predictions (N, 3, D) the anchor, positive and negative embeddings", "targets none"),
        ),
    ),
    scalar_prediction=False,
    examples=({"p": 1.0, "eps": 0.0, "margin": 0.5}, {"p": 3.0, "swap": True}, {"swap": True, "margin": 2.0}),
    equivalents=(
        Equivalent(
            "PyTorch",
            "torch.nn.functional.triplet_margin_loss(a, p, n, margin=margin, p=p, eps=eps, swap=swap)",
            "a, p, n = predictions[:, 0], predictions[:, 1], predictions[:, 2]; reduction as ours",
        ),
        Equivalent(
            "Optax",
            "optax.losses.triplet_margin_loss(a, p, n, norm_degree=2, margin=margin, eps=0)",
            "p=2, eps=0 and swap=false only: Optax adds eps to the sum of powers, not to the differences",
        ),
    ),
    differences=(
        "eps goes where torch puts it, into every difference (|x - z + eps|_p), so two equal "
        "embeddings are eps * D^(1/p) apart and the gradient stays finite; Optax computes "
        "(sum |x - z|^p + eps)^(1/p) instead.",
        "No targets: a request whose losses all take none may omit them (or send null); targets "
        "sent for other losses of the request are not used here.",
        "At the kink (d(a, p) - d(a, n) + margin = 0) the gradient is that of the active side, as "
        "torch's clamp_min; with swap, equal d(a, n) and d(p, n) share the gradient half and half, "
        "as torch's minimum.",
    ),
    notes=(
        "Schroff et al., 'FaceNet' (CVPR 2015); Balntas et al., 'Learning local feature descriptors "
        "with triplets and shallow convolutional neural networks' (BMVC 2016) for the swap.",
    ),
)
def triplet_margin(
    predictions: np.ndarray, targets: np.ndarray, params: TripletMarginParams, want_gradient: bool
) -> Computed:
    """max(0, d(a, p) − d(a, n) + margin) with d(x, z) = ‖x − z + eps‖ₚ.

    With g_xz = ∂‖u‖ₚ/∂u at u = x − z + eps and the weight w ∈ {0, ½, 1} that the swap's minimum
    gives d(a, n) (1 without swap): ∂l/∂a = g_ap − w g_an, ∂l/∂p = −g_ap − (1 − w) g_pn,
    ∂l/∂n = w g_an + (1 − w) g_pn, where the hinge is active.
    """
    check_layout(
        predictions,
        "predictions",
        "(N, 3, D)",
        "the anchor, positive and negative embeddings of each triplet",
    )
    anchor, positive, negative = predictions[:, 0], predictions[:, 1], predictions[:, 2]
    p, eps = params.p, params.eps
    d_ap, g_ap = distance(anchor - positive + eps, p, want_gradient)
    d_an, g_an = distance(anchor - negative + eps, p, want_gradient)
    w_an = np.ones_like(d_an)
    d_negative = d_an
    g_pn = None
    if params.swap:
        d_pn, g_pn = distance(positive - negative + eps, p, want_gradient)
        d_negative = np.minimum(d_an, d_pn)
        w_an = np.where(d_an < d_pn, 1.0, np.where(d_an == d_pn, 0.5, 0.0))
    gap = d_ap - d_negative + params.margin
    gradient = None
    if want_gradient:
        assert g_ap is not None and g_an is not None
        active = (gap >= 0.0).astype(np.float64)[:, None]
        w = w_an[:, None] * active
        gradient = np.empty_like(predictions)
        gradient[:, 0] = active * g_ap - w * g_an
        gradient[:, 1] = -active * g_ap
        gradient[:, 2] = w * g_an
        if g_pn is not None:
            w_pn = active - w
            gradient[:, 1] -= w_pn * g_pn
            gradient[:, 2] += w_pn * g_pn
    return Computed(np.maximum(gap, 0.0), gradient)
