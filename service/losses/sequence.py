"""Sequence losses: Connectionist Temporal Classification (CTC).

Predictions (N, T, C) are logits per frame (a log-softmax over the C classes is applied; every frame
counts); targets (N, S) are label indices in [0, C) other than the blank, padded at the end with −1.
The loss of a row is −log P(labels | frames), summed over every alignment of the T frames that
collapses to the labels (repeats merged, then blanks removed), by the forward–backward recursion in
log space, vectorised over the samples.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Computed, Equivalent, InputMode, Params
from .checks import check_cells, check_layout, first_index, fmt
from .errors import InvalidInput, TooLarge
from .numerics import log_softmax
from .registry import register

PADDING = -1.0
# log 0 in the lattice. Finite, so that a state no path reaches stays a number: the log-sum of three
# such states never computes inf − inf, and a term this small vanishes next to any reachable path.
LOG_ZERO = -1e250
# The recursions take one Python-level step per frame (~20 µs at the least, twice with the gradient):
# this bounds a request's time whatever its lattice, at about a second.
MAX_FRAMES = 2**15


class CTCParams(Params):
    blank: int = Field(0, ge=0, description="The class index of the blank.")
    zero_infinity: bool = Field(
        False,
        description="A label sequence that no alignment of the frames produces gets the loss 0 (and a "
        "zero gradient) instead of +inf.",
    )


class Labels:
    """Validated label sequences: ``index`` (N, S) as integers (padding −1), ``lengths`` (N,)."""

    def __init__(self, targets: np.ndarray, n_classes: int, blank: int) -> None:
        check_layout(
            targets, "targets", "(N, S)", "label indices per row, padded at the end with -1", empty=True
        )
        padding = targets == PADDING
        not_integer = targets != np.floor(targets)
        if not_integer.any():
            self._refuse(targets, not_integer, "is not a label index: labels are integers")
        outside = ~padding & ((targets < 0) | (targets >= n_classes))
        if outside.any():
            self._refuse(
                targets,
                outside,
                f"is not a label: predictions have {n_classes} classes, so labels are in "
                f"[0, {n_classes - 1}] other than the blank ({blank}), and -1 pads the end of a row",
            )
        if (targets == blank).any():
            self._refuse(
                targets, targets == blank, f"is the blank (blank={blank}): a label sequence cannot hold it"
            )
        # A label after padding: padding seen earlier in the row, and this element is a label.
        after = (np.cumsum(padding, axis=1) > 0) & ~padding
        if after.any():
            self._refuse(targets, after, "follows padding: -1 pads the end of a label sequence only")
        self.index = targets.astype(np.int64)
        self.lengths = np.count_nonzero(~padding, axis=1)
        repeats = (self.index[:, 1:] == self.index[:, :-1]) & ~padding[:, 1:]
        # Each repeated label needs a blank between its two frames.
        self.frames_needed = self.lengths + np.count_nonzero(repeats, axis=1)
        self.changes = ~repeats  # at label k >= 1: whether it differs from label k - 1

    @staticmethod
    def _refuse(targets: np.ndarray, mask: np.ndarray, reason: str) -> None:
        index = first_index(mask)
        where = "".join(f"[{i}]" for i in index)
        raise InvalidInput(f"targets{where} = {fmt(targets[index])} {reason}.", ("targets", *index))


def _log_add3(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, out: np.ndarray, m: np.ndarray, scratch: np.ndarray
) -> None:
    """out = log(e^a + e^b + e^c), shifted by the element-wise maximum m (so one term is e^0)."""
    np.maximum(a, b, out=m)
    np.maximum(m, c, out=m)
    np.subtract(a, m, out=out)
    np.exp(out, out=out)
    np.subtract(b, m, out=scratch)
    np.exp(scratch, out=scratch)
    out += scratch
    np.subtract(c, m, out=scratch)
    np.exp(scratch, out=scratch)
    out += scratch
    np.log(out, out=out)
    out += m


class Lattice:
    """The CTC lattice of a batch: W = 2S + 1 states per row (blank, label 1, blank, ..., blank).

    ``emissions`` (T, N, W): log p of each state's class at each frame; ``skip`` (N, W): 0 where a
    state may be entered from two states back (a label that differs from the previous label),
    LOG_ZERO elsewhere.
    """

    def __init__(self, log_p: np.ndarray, labels: Labels, blank: int) -> None:
        n, frames, _ = log_p.shape
        s = labels.index.shape[1]
        self.width = 2 * s + 1
        self.lengths = labels.lengths
        self.emissions = np.empty((frames, n, self.width))
        self.emissions[:, :, 0::2] = log_p[:, :, blank].T[:, :, None]
        classes = np.where(labels.index >= 0, labels.index, blank)
        self.emissions[:, :, 1::2] = np.take_along_axis(log_p, classes[:, None, :], axis=2).transpose(1, 0, 2)
        # log p below LOG_ZERO (logits beyond ~1e250 apart) counts as log 0.
        np.maximum(self.emissions, LOG_ZERO, out=self.emissions)
        self.skip = np.full((n, self.width), LOG_ZERO)
        self.skip[:, 3::2] = np.where(labels.changes, 0.0, LOG_ZERO)

    def forward(self, keep: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """log P per row, and log α (T, N, W + 2; two leading LOG_ZERO columns) when ``keep``.

        α_t(s) = log Σ of α_{t−1}(s), α_{t−1}(s − 1) and, where skip allows, α_{t−1}(s − 2), plus the
        emission at t. Without ``keep`` two frames of α are kept at a time.
        """
        frames, n, width = self.emissions.shape
        alpha = np.empty((frames if keep else 2, n, width + 2))
        alpha[:, :, :2] = LOG_ZERO
        first = alpha[0, :, 2:]
        first.fill(LOG_ZERO)
        first[:, :2] = self.emissions[0, :, :2]  # a path starts with the blank or the first label
        m, scratch, skipped = np.empty((n, width)), np.empty((n, width)), np.empty((n, width))
        for t in range(1, frames):
            previous = alpha[t - 1 if keep else (t - 1) % 2]
            current = alpha[t if keep else t % 2, :, 2:]
            np.add(previous[:, :-2], self.skip, out=skipped)
            _log_add3(previous[:, 2:], previous[:, 1:-1], skipped, current, m, scratch)
            current += self.emissions[t]
        last = alpha[frames - 1 if keep else (frames - 1) % 2]
        rows = np.arange(n)
        # A path ends in the last label or the blank after it (columns shifted by the 2 pads).
        log_p = np.logaddexp(last[rows, 2 * self.lengths + 2], last[rows, 2 * self.lengths + 1])
        return log_p, alpha if keep else None

    def backward(self) -> np.ndarray:
        """log β (T, N, W + 2; two trailing LOG_ZERO columns): β_t(s) = log P(frames after t | s at t).

        β_t(s) = log Σ over s' of s, s + 1 and, where skip allows, s + 2 of β_{t+1}(s') plus the
        emission of s' at t + 1.
        """
        frames, n, width = self.emissions.shape
        beta = np.empty((frames, n, width + 2))
        beta[:, :, width:] = LOG_ZERO
        last = beta[frames - 1, :, :width]
        last.fill(LOG_ZERO)
        rows = np.arange(n)
        last[rows, 2 * self.lengths] = 0.0
        labelled = self.lengths > 0
        last[rows[labelled], 2 * self.lengths[labelled] - 1] = 0.0
        skip_back = np.full((n, width), LOG_ZERO)
        skip_back[:, : width - 2] = self.skip[:, 2:]
        ahead = np.empty((n, width + 2))
        ahead[:, width:] = LOG_ZERO
        m, scratch, skipped = np.empty((n, width)), np.empty((n, width)), np.empty((n, width))
        for t in range(frames - 2, -1, -1):
            np.add(beta[t + 1, :, :width], self.emissions[t + 1], out=ahead[:, :width])
            np.add(ahead[:, 2:], skip_back, out=skipped)
            _log_add3(ahead[:, :width], ahead[:, 1 : width + 1], skipped, beta[t, :, :width], m, scratch)
        return beta


def occupancy(
    alpha: np.ndarray, beta: np.ndarray, log_p: np.ndarray, labels: Labels, n_classes: int, blank: int
) -> np.ndarray:
    """(N, T, C): the posterior probability that frame t emits class k, Σ over states of class k of
    exp(α_t(s) + β_t(s) − log P). Computed in place of ``alpha``."""
    frames, n, _ = alpha.shape
    width = alpha.shape[2] - 2
    gamma = alpha[:, :, 2:]
    gamma += beta[:, :, :width]
    gamma -= log_p[None, :, None]
    np.exp(gamma, out=gamma)
    result = np.zeros((n, frames, n_classes))
    result[:, :, blank] = gamma[:, :, 0::2].sum(axis=2).T
    onehot = np.zeros((n, labels.index.shape[1], n_classes))
    rows, positions = np.nonzero(labels.index >= 0)
    onehot[rows, positions, labels.index[rows, positions]] = 1.0
    result += np.matmul(gamma[:, :, 1::2].transpose(1, 0, 2), onehot)
    return result


@register(
    name="ctc",
    aliases=("connectionist_temporal_classification",),
    params=CTCParams,
    family="sequence",
    summary="Connectionist Temporal Classification: -log P(label sequence | frames), over all alignments.",
    formula=(
        "l_i = -log sum over alignments pi of the T frames with B(pi) = labels_i of "
        "prod_t softmax(z_it)_(pi_t); B merges repeats, then removes blanks"
    ),
    modes=(
        InputMode(
            "logits",
            "real",
            ("label_sequence",),
            (
                "predictions (N, T, C) logits per frame, blank included",
                "targets (N, S) label indices, padded at the end with -1",
            ),
        ),
    ),
    scalar_prediction=False,
    examples=({"zero_infinity": True}, {"blank": 2}),
    equivalents=(
        Equivalent(
            "PyTorch",
            "torch.nn.functional.ctc_loss(log_softmax(z, -1).transpose(0, 1), labels, "
            "input_lengths=[T] * N, target_lengths=labels per row, blank=blank, reduction='none', "
            "zero_infinity=zero_infinity)",
            "per sample; torch's reduction 'mean' divides each loss by its label length (at least 1) "
            "before averaging: send weights 1 / max(length, 1) with reduction sum_over_batch_size "
            "for that number",
        ),
        Equivalent(
            "Optax",
            "optax.losses.ctc_loss(z, jnp.zeros((N, T)), labels, labels == -1, blank_id=blank)",
            "per sample, for label sequences some alignment produces",
        ),
    ),
    differences=(
        "Per-sample values are not divided by the label length (torch's reduction 'mean' does "
        "that); reductions work as for every loss.",
        "Every frame counts: there are no input lengths.",
        "A label sequence no alignment of T frames produces (more labels plus repeats than "
        "frames) has the loss +inf (null in JSON) and a zero gradient row, whatever nan_policy "
        "says (which concerns non-finite inputs); with zero_infinity its loss is 0. torch's "
        "gradient there is not finite without zero_infinity; Optax returns a large finite number "
        "(its log 0 is -1e5).",
        "A repeated label needs a blank frame between its two occurrences; an empty label "
        "sequence (a row of only -1) is allowed: its loss is -sum_t log p_t(blank).",
    ),
    notes=(
        "The lattice holds N x T x (2S + 1) states; more than 4,194,304 in one request, or more than "
        "32,768 frames, is refused with 413.",
        "Graves et al., 'Connectionist temporal classification' (ICML 2006).",
    ),
)
def ctc(predictions: np.ndarray, targets: np.ndarray, params: CTCParams, want_gradient: bool) -> Computed:
    """−log P(labels | frames) by the forward recursion; the gradient with respect to the logits,
    softmax(z)_tk Σ_k' γ_tk' − γ_tk with γ the posterior class occupancy, by forward–backward."""
    check_layout(predictions, "predictions", "(N, T, C)", "logits per frame, blank included")
    n, frames, n_classes = predictions.shape
    if params.blank >= n_classes:
        raise InvalidInput(
            f"blank = {params.blank} is not a class: the predictions have {n_classes} classes, "
            f"so the blank is in [0, {n_classes - 1}].",
            ("params", "blank"),
        )
    labels = Labels(targets, n_classes, params.blank)
    if frames > MAX_FRAMES:
        raise TooLarge(
            f"predictions have {frames} frames; the CTC recursions step through them one at a time, "
            f"and one request may have at most {MAX_FRAMES}.",
            ("predictions",),
        )
    check_cells(
        n * frames * (2 * targets.shape[1] + 1),
        f"The CTC lattice of {n} rows, {frames} frames and {targets.shape[1]} labels",
        "predictions",
    )
    log_p = log_softmax(predictions)
    lattice = Lattice(log_p, labels, params.blank)
    log_likelihood, alpha = lattice.forward(keep=want_gradient)
    infinite = labels.frames_needed > frames
    # −log P >= 0; rounding of a path of probability ~1 can leave it a few ulps below 0.
    contribution = np.maximum(-log_likelihood, 0.0)
    contribution[infinite] = 0.0 if params.zero_infinity else np.inf
    gradient = None
    if want_gradient:
        assert alpha is not None
        finite_log_p = np.where(infinite, 0.0, log_likelihood)
        gamma = occupancy(alpha, lattice.backward(), finite_log_p, labels, n_classes, params.blank)
        gradient = np.exp(log_p) * gamma.sum(axis=2, keepdims=True) - gamma
        gradient[infinite] = 0.0
    return Computed(contribution, gradient)
