"""Ranking losses: the scores of a pair, or of a list, per row.

``margin_ranking`` takes pairs: predictions (N, 2) = the scores (s₁, s₂) and targets y ∈ {−1, +1}
(N,), +1 when s₁ should rank above s₂. The list losses take predictions (N, L) = the scores of one
list of L items per row and targets (N, L) = the items' graded relevance (≥ 0, ties allowed).

A row that "does not count" (a list with no pair of different relevance for the pairwise losses, a
list of zero relevance for ``ranking_softmax`` with ``normalize``) is dropped as a row with
``ignore_index`` is: per-sample loss 0, gradient 0, counted in ``ignored`` and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pydantic import Field

from .base import Computed, Equivalent, InputMode, NoParams, Params
from .checks import check_cells, check_labels, check_layout, check_range, check_same_shape
from .numerics import log_softmax, sigmoid, softmax, softplus
from .registry import register

PAIR_MODES = (
    InputMode(
        "pairs",
        "real",
        ("plus_minus_one",),
        ("predictions (N, 2) the scores (s1, s2) of a pair", "targets (N,) +1: s1 ranks above s2, -1: below"),
    ),
)
LIST_SHAPES = ("predictions (N, L) the scores of a list of L items", "targets (N, L) graded relevance >= 0")
LIST_MODES = (InputMode("lists", "real", ("relevance",), LIST_SHAPES),)
RELEVANCE = "relevance is graded, >= 0"
# A pair loss φ(d) of the score difference d = sᵢ − sⱼ, and its derivative φ'(d) when asked.
PairLoss = Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]


def uncounted(contribution: np.ndarray, gradient: np.ndarray | None, ignored: np.ndarray) -> Computed:
    """Rows where ``ignored`` holds count nowhere: loss 0, gradient 0, factor 0 (as ignore_index)."""
    if not ignored.any():
        return Computed(contribution, gradient)
    contribution = np.where(ignored, 0.0, contribution)
    if gradient is not None:
        gradient[ignored] = 0.0
    return Computed(contribution, gradient, factor=(~ignored).astype(np.float64), ignored=ignored)


class MarginRankingParams(Params):
    margin: float = Field(0.0, description="The score gap the preferred item must win by (any real).")


@register(
    name="margin_ranking",
    params=MarginRankingParams,
    family="ranking",
    summary="Hinge on the score difference of a pair: the preferred item must win by a margin.",
    formula="l_i = max(0, -y_i (s1_i - s2_i) + margin)",
    modes=PAIR_MODES,
    scalar_prediction=False,
    examples=({"margin": 0.5}, {"margin": -0.25}),
    equivalents=(
        Equivalent(
            "PyTorch",
            "torch.nn.functional.margin_ranking_loss(s1, s2, y, margin=margin)",
            "s1 = predictions[:, 0], s2 = predictions[:, 1]; reduction as ours",
        ),
    ),
    differences=(
        "Targets must be exactly -1 or +1 (a 422 otherwise); torch takes any number, so that a "
        "target 0 gives max(0, margin) with no gradient there.",
        "At the kink (-y (s1 - s2) + margin = 0) the gradient is that of the active side, "
        "(-y, +y), as torch's clamp_min.",
    ),
    notes=("The per-class breakdown groups rows by their target, -1 or +1.",),
)
def margin_ranking(
    predictions: np.ndarray, targets: np.ndarray, params: MarginRankingParams, want_gradient: bool
) -> Computed:
    """max(0, −y(s₁ − s₂) + margin); ∂l/∂s₁ = −y, ∂l/∂s₂ = y where that is ≥ 0, else 0."""
    check_layout(predictions, "predictions", "(N, 2)", "the scores (s1, s2) of each pair")
    check_layout(targets, "targets", "(N,)", "one label per pair")
    check_labels(targets, "targets", (-1.0, 1.0), "+1 when s1 should rank above s2, -1 when below")
    gap = -targets * (predictions[:, 0] - predictions[:, 1]) + params.margin
    gradient = None
    if want_gradient:
        # torch's clamp_min passes the gradient where its input is >= 0: at the kink too.
        slope = np.where(gap >= 0.0, -targets, 0.0)
        gradient = np.stack([slope, -slope], axis=1)
    return Computed(np.maximum(gap, 0.0), gradient, classes=targets.astype(np.int64))


def _list_rows(predictions: np.ndarray, targets: np.ndarray) -> None:
    check_layout(predictions, "predictions", "(N, L)", "the scores of one list per row")
    check_same_shape(predictions, targets)
    check_range(targets, "targets", low=0.0, what=RELEVANCE)


def pairwise(predictions: np.ndarray, targets: np.ndarray, phi: PairLoss, want_gradient: bool) -> Computed:
    """The mean of φ(sᵢ − sⱼ) over a row's pairs with tᵢ > tⱼ; a row without such a pair does not count.

    With P the row's pair count and G_ij = 1[tᵢ > tⱼ] φ'(sᵢ − sⱼ) / P, ∂l/∂s_k = Σⱼ G_kj − Σᵢ G_ik.
    """
    _list_rows(predictions, targets)
    n, length = predictions.shape
    check_cells(
        n * length * length, f"{n} lists of {length} items, {length}x{length} pairs each", "predictions"
    )
    pairs = targets[:, :, None] > targets[:, None, :]
    count = np.count_nonzero(pairs, axis=(1, 2))
    per_pair = np.where(pairs, 1.0, 0.0) / np.maximum(count, 1)[:, None, None]
    values, slope = phi(predictions[:, :, None] - predictions[:, None, :], want_gradient)
    contribution = np.einsum("nij,nij->n", per_pair, values)
    gradient = None
    if slope is not None:
        weighted = per_pair * slope
        gradient = weighted.sum(axis=2) - weighted.sum(axis=1)
    return uncounted(contribution, gradient, count == 0)


def _logistic(d: np.ndarray, want_gradient: bool) -> tuple[np.ndarray, np.ndarray | None]:
    # log(1 + e^−d) = softplus(−d), and its slope −σ(−d), finite for scores of any size.
    return softplus(-d), (-sigmoid(-d) if want_gradient else None)


@register(
    name="pairwise_logistic",
    aliases=("ranknet",),
    params=NoParams,
    family="ranking",
    summary="RankNet: the logistic loss of every pair of items a list orders by relevance, per list.",
    formula="l_i = mean over pairs (j, k) with t_ij > t_ik of log(1 + exp(-(s_ij - s_ik)))",
    modes=LIST_MODES,
    scalar_prediction=False,
    equivalents=(
        Equivalent(
            "rax",
            "rax.pairwise_logistic_loss(s, t, reduce_fn=None).sum(axis=-1) / number of pairs",
            "per list: rax's per-pair losses (zero for pairs that do not count) summed over the "
            "row's pairs with t_j > t_k and divided by their number",
        ),
    ),
    notes=(
        "A list whose items all share one relevance has no pair: it does not count (ignored, "
        "per-sample loss 0), as a row with ignore_index.",
        "Burges et al., 'Learning to rank using gradient descent' (ICML 2005).",
    ),
)
def pairwise_logistic(
    predictions: np.ndarray, targets: np.ndarray, params: NoParams, want_gradient: bool
) -> Computed:
    """Mean over the row's ordered pairs of softplus(−(sⱼ − s_k)); φ'(d) = −σ(−d)."""
    return pairwise(predictions, targets, _logistic, want_gradient)


class PairwiseHingeParams(Params):
    margin: float = Field(1.0, ge=0, description="The score gap a more relevant item must win by.")


@register(
    name="pairwise_hinge",
    params=PairwiseHingeParams,
    family="ranking",
    summary="The hinge on the score difference of every pair of items a list orders by relevance.",
    formula="l_i = mean over pairs (j, k) with t_ij > t_ik of max(0, margin - (s_ij - s_ik))",
    modes=LIST_MODES,
    scalar_prediction=False,
    examples=({"margin": 0.25},),
    equivalents=(
        Equivalent(
            "rax",
            "rax.pairwise_hinge_loss(s, t, reduce_fn=None).sum(axis=-1) / number of pairs",
            "margin=1 (rax's is fixed at 1); per list as pairwise_logistic",
        ),
    ),
    notes=(
        "A list whose items all share one relevance has no pair: it does not count (ignored, "
        "per-sample loss 0), as a row with ignore_index.",
        "At the kink (s_j - s_k = margin) the gradient is 0, as rax's relu.",
    ),
)
def pairwise_hinge(
    predictions: np.ndarray, targets: np.ndarray, params: PairwiseHingeParams, want_gradient: bool
) -> Computed:
    """Mean over the row's ordered pairs of max(0, margin − d); φ'(d) = −1 where margin − d > 0."""
    margin = params.margin

    def hinge(d: np.ndarray, want: bool) -> tuple[np.ndarray, np.ndarray | None]:
        gap = margin - d
        return np.maximum(gap, 0.0), (np.where(gap > 0.0, -1.0, 0.0) if want else None)

    return pairwise(predictions, targets, hinge, want_gradient)


class RankingSoftmaxParams(Params):
    normalize: bool = Field(
        False,
        description="Divide each row's relevance by its sum first (ListNet); a row of zero relevance "
        "then does not count.",
    )


@register(
    name="ranking_softmax",
    params=RankingSoftmaxParams,
    family="ranking",
    summary="Softmax cross-entropy of a list's scores against its relevance (ListNet when normalised).",
    formula="l_i = -sum_j t_ij log softmax(s_i)_j; normalize: t_i / sum_j t_ij in place of t_i",
    modes=LIST_MODES,
    scalar_prediction=False,
    examples=({"normalize": True},),
    equivalents=(
        Equivalent(
            "Optax",
            "optax.losses.ranking_softmax_loss(s, t, reduce_fn=None)",
            "normalize=false; per list",
        ),
        Equivalent(
            "rax",
            "rax.softmax_loss(s, t, label_fn=rax.utils.normalize_probabilities, reduce_fn=None)",
            "normalize=true, on rows with some relevance",
        ),
    ),
    differences=(
        "Without normalize the relevance is used as it is (Optax's convention): the loss scales "
        "with the row's total relevance, and a row of zero relevance gives 0 and counts.",
        "With normalize a row of zero relevance does not count (ignored, per-sample loss 0); rax's "
        "normalize_probabilities would make it uniform instead and give it a loss.",
    ),
    notes=("Cao et al., 'Learning to rank: from pairwise approach to listwise approach' (ICML 2007).",),
)
def ranking_softmax(
    predictions: np.ndarray, targets: np.ndarray, params: RankingSoftmaxParams, want_gradient: bool
) -> Computed:
    """−Σⱼ tⱼ log softmax(s)ⱼ; ∂l/∂s_k = (Σⱼ tⱼ) softmax(s)_k − t_k.

    log softmax is finite for finite scores, so a zero relevance contributes exactly 0.
    """
    _list_rows(predictions, targets)
    relevance = targets
    ignored = np.zeros(targets.shape[0], dtype=bool)
    if params.normalize:
        total = targets.sum(axis=1, keepdims=True)
        ignored = total[:, 0] == 0.0
        relevance = targets / np.where(total > 0.0, total, 1.0)
    contribution = -np.einsum("nj,nj->n", relevance, log_softmax(predictions))
    gradient = None
    if want_gradient:
        gradient = relevance.sum(axis=1, keepdims=True) * softmax(predictions) - relevance
    return uncounted(contribution, gradient, ignored)
