"""Multi-class losses: predictions (N, C) as probabilities, logits or log-probabilities.

Targets are class indices (N,) or class probabilities (N, C). Every loss here reduces the class axis
inside the per-sample loss (a sum over classes), never by a mean.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .base import Computed, Equivalent, InputMode, Params, Space
from .checks import (
    SIMPLEX_ATOL,
    check_class_indices,
    check_ndim,
    check_range,
    check_simplex,
    check_vector_param,
)
from .errors import InvalidInput
from .numerics import FLOAT64_EPS, log_softmax, logsumexp, softmax, xlogy
from .registry import register

InputSpace = Literal["probabilities", "logits", "log_probabilities"]
TARGETS: tuple[Space, ...] = ("class_index", "simplex")
SHAPES = ("predictions (N, C)", "targets (N,) class indices or (N, C) class probabilities")
MODES = (
    InputMode("probabilities", "simplex", TARGETS, SHAPES, {"input": "probabilities"}),
    InputMode("logits", "real", TARGETS, SHAPES, {"input": "logits"}),
    InputMode("log_probabilities", "log_simplex", TARGETS, SHAPES, {"input": "log_probabilities"}),
)

NonNegative = Annotated[float, Field(ge=0)]
DEFAULT_INPUT: InputSpace = "probabilities"
INPUT_FIELD = Field(
    DEFAULT_INPUT, description="What the predictions are: probabilities, logits or log-probabilities."
)


class ClassTargets:
    """Targets of a multi-class loss, resolved to one form.

    index: the class index of each row (None for probability targets); ignored rows hold 0.
    probabilities: the (N, C) target distribution (one-hot for index targets).
    ignored: rows whose target equals ignore_index (None if there are none).
    """

    def __init__(self, predictions: np.ndarray, targets: np.ndarray, ignore_index: int | None = None) -> None:
        check_ndim(predictions, "predictions", (2,))
        n, n_classes = predictions.shape
        self.n_classes = n_classes
        self.ignored: np.ndarray | None = None
        if targets.ndim == 1 and targets.shape[0] == n:
            index = check_class_indices(targets, n_classes, ignore_index)
            if ignore_index is not None:
                ignored = index == ignore_index
                if ignored.any():
                    self.ignored = ignored
                    index = np.where(ignored, 0, index)
            self.index: np.ndarray | None = index
        elif targets.shape == predictions.shape:
            if ignore_index is not None:
                raise InvalidInput(
                    "ignore_index applies to class-index targets only; these targets are class "
                    "probabilities.",
                    ("params", "ignore_index"),
                )
            check_simplex(targets, "targets", "targets of shape (N, C) are class probabilities")
            self.index = None
            self.__dict__["probabilities"] = targets
        else:
            raise InvalidInput(
                f"targets must be class indices of shape ({n},) or class probabilities of shape "
                f"{tuple(predictions.shape)}; got shape {tuple(targets.shape)}.",
                ("targets",),
            )

    @cached_property
    def probabilities(self) -> np.ndarray:
        """The (N, C) target distribution: one-hot rows for class-index targets."""
        assert self.index is not None
        onehot = np.zeros((self.index.size, self.n_classes))
        onehot[np.arange(self.index.size), self.index] = 1.0
        return onehot

    @property
    def classes(self) -> np.ndarray:
        """The class of each row: its index, or the most probable class of a target distribution."""
        return self.index if self.index is not None else np.argmax(self.probabilities, axis=1)


class LogProbabilities:
    """log p of predictions given in any input space, and how to map ∂/∂log p back to that space.

    For probabilities, p is clipped to [eps, 1 − eps] (as scikit-learn's log_loss); the gradient is
    0 where the clip is active, and ``clipped`` counts those elements.
    """

    def __init__(self, predictions: np.ndarray, space: InputSpace, epsilon: float) -> None:
        self.space = space
        self.predictions = predictions
        self.clipped = 0
        if space == "probabilities":
            check_simplex(
                predictions,
                "predictions",
                "probabilities are expected (set input to 'logits' or 'log_probabilities' for other inputs)",
            )
            p = np.clip(predictions, epsilon, 1.0 - epsilon)
            self.inside = p == predictions
            self.clipped = int(predictions.size - np.count_nonzero(self.inside))
            self.p = p
        elif space == "log_probabilities":
            check_range(predictions, "predictions", high=0.0, what="log-probabilities are at most 0")
            lse = logsumexp(predictions)[:, 0]
            bad = np.abs(lse) > SIMPLEX_ATOL
            if bad.any():
                row = int(np.argmax(bad))
                raise InvalidInput(
                    f"predictions[{row}] are not normalised log-probabilities: logsumexp = "
                    f"{float(lse[row])!r}, not 0 (tolerance {SIMPLEX_ATOL}). Send logits with "
                    "input='logits' instead.",
                    ("predictions", row),
                )

    @cached_property
    def log_p(self) -> np.ndarray:
        """log p for every class, (N, C)."""
        if self.space == "probabilities":
            return np.log(self.p)
        if self.space == "logits":
            return log_softmax(self.predictions)
        return self.predictions

    def at(self, classes: np.ndarray) -> np.ndarray:
        """log p of one class per row, (N,), without the whole matrix where the space allows.

        Equal, bit for bit, to ``log_p[rows, classes]``: log of the clipped probability, the
        log-probability itself, or x_y − logsumexp(x) as log_softmax computes it.
        """
        rows = np.arange(classes.size)
        if "log_p" in self.__dict__ or self.space == "log_probabilities":
            return self.log_p[rows, classes]
        if self.space == "probabilities":
            return np.log(self.p[rows, classes])
        return self.predictions[rows, classes] - logsumexp(self.predictions)[:, 0]

    def gradient_of_linear(self, coef: np.ndarray) -> np.ndarray:
        """∂/∂predictions of −Σ_c coef_c log p_c (coef independent of the predictions)."""
        if self.space == "logits":
            # ∂(−log softmax_c)/∂x_k = softmax_k − δ_ck.
            return coef.sum(axis=1, keepdims=True) * softmax(self.predictions) - coef
        if self.space == "log_probabilities":
            return -coef
        return np.where(self.inside, -coef / self.p, 0.0)


class CrossEntropyParams(Params):
    input: InputSpace = INPUT_FIELD
    class_weights: tuple[NonNegative, ...] | None = Field(
        None, description="One non-negative weight per class (PyTorch's `weight`)."
    )
    label_smoothing: float = Field(
        0.0, ge=0, le=1, description="Target q becomes q(1 - label_smoothing) + label_smoothing/C."
    )
    ignore_index: int | None = Field(
        None, description="Rows whose class-index target equals this count nowhere."
    )
    epsilon: float = Field(
        FLOAT64_EPS,
        gt=0,
        lt=0.5,
        description="Probabilities are clipped to [epsilon, 1 - epsilon] (input 'probabilities').",
    )


@register(
    name="cross_entropy",
    aliases=("categorical_cross_entropy", "sparse_categorical_cross_entropy", "nll"),
    params=CrossEntropyParams,
    family="multiclass",
    summary="Negative log-likelihood of the target class (or distribution) under the predictions.",
    formula=(
        "a_i = -sum_c k_ic log p_ic; index targets: k = (1 - s) w_y onehot(y) + (s/C) w, "
        "f_i = w_y; probability targets: k = w * (q (1 - s) + s/C), f_i = 1; l_i = a_i / f_i"
    ),
    modes=MODES,
    scalar_prediction=False,
    examples=(
        {"input": "logits", "label_smoothing": 0.1},
        {"input": "logits", "class_weights": (0.5, 2.0, 1.0)},
        {"input": "logits", "class_weights": (0.5, 2.0, 1.0), "label_smoothing": 0.2},
        {"input": "log_probabilities", "class_weights": (1.0, 0.25, 3.0)},
        {"input": "logits", "ignore_index": 1},
    ),
    equivalents=(
        Equivalent(
            "PyTorch",
            "torch.nn.functional.cross_entropy(x, y, weight=class_weights, "
            "label_smoothing=s, ignore_index=i)",
            "input='logits'; reduction as ours; torch's reduction='none' output is our per_sample "
            "times class_weights[y] for index targets",
        ),
        Equivalent(
            "PyTorch",
            "torch.nn.functional.nll_loss(log_p, y, weight=class_weights, ignore_index=i)",
            "input='log_probabilities', label_smoothing 0",
        ),
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.log_loss(y, p, sample_weight=w, labels=range(C))",
            "input='probabilities', index targets, no class weights or smoothing; reduction mean",
        ),
        Equivalent(
            "Keras",
            "keras.losses.CategoricalCrossentropy / SparseCategoricalCrossentropy",
            "input='logits' with from_logits=True; reduction sum_over_batch_size",
        ),
    ),
    differences=(
        "Probabilities are validated (rows sum to 1 within 1e-6) and never renormalised, as "
        "scikit-learn: the gradient in probability space is -q/p inside the clip and 0 outside "
        "it. Keras renormalises probability rows, so its gradient differs (its value does not), "
        "and it clips at 1e-7 rather than machine epsilon.",
        "For input 'log_probabilities' the gradient is nll_loss's (-k), not that of "
        "cross_entropy applied to log-probabilities (which adds a softmax term).",
        "With class weights, label smoothing and a target class of weight 0, PyTorch's mean "
        "keeps the smoothing term of such rows in the numerator only; so does this service "
        "(a_i counts, f_i = 0), and per_sample then reports a_i.",
    ),
)
def cross_entropy(
    predictions: np.ndarray,
    targets: np.ndarray,
    params: CrossEntropyParams,
    want_gradient: bool,
) -> Computed:
    """Softmax / negative log-likelihood cross-entropy in every PyTorch combination."""
    t = ClassTargets(predictions, targets, params.ignore_index)
    log_p = LogProbabilities(predictions, params.input, params.epsilon)
    n_classes = t.n_classes
    weights = check_vector_param(params.class_weights, n_classes, "class_weights", "classes")
    s = params.label_smoothing
    factor = None
    if t.index is not None and not s:
        # One class per row carries all the target mass: only its log p is needed.
        if weights is not None:
            factor = weights[t.index]
        if t.ignored is not None:
            factor = np.where(t.ignored, 0.0, 1.0 if factor is None else factor)
        contribution = -log_p.at(t.index) if factor is None else -(factor * log_p.at(t.index))
        gradient = None
        if want_gradient:
            coef = np.zeros(predictions.shape)
            coef[np.arange(t.index.size), t.index] = 1.0 if factor is None else factor
            gradient = log_p.gradient_of_linear(coef)
        return Computed(
            contribution, gradient, factor=factor, ignored=t.ignored, clipped=log_p.clipped, classes=t.classes
        )
    if t.index is not None:
        coef = (1.0 - s) * t.probabilities
        if weights is not None:
            factor = weights[t.index]
            coef *= factor[:, None]
        coef += (s / n_classes) * (weights if weights is not None else 1.0)
        if t.ignored is not None:
            coef[t.ignored] = 0.0
            factor = np.where(t.ignored, 0.0, 1.0 if factor is None else factor)
    else:
        coef = t.probabilities * (1.0 - s) + s / n_classes if s else t.probabilities
        if weights is not None:
            coef = coef * weights
    # 0·log p = 0 where a class has no target mass; log p is finite here, so the product is exact.
    contribution = -(coef * log_p.log_p).sum(axis=1)
    return Computed(
        contribution,
        log_p.gradient_of_linear(coef) if want_gradient else None,
        factor=factor,
        ignored=t.ignored,
        clipped=log_p.clipped,
        classes=t.classes,
    )


def _alpha(alpha: float | tuple[float, ...], n_classes: int) -> np.ndarray | float:
    """Keras's alpha: one number for every class, or one per class."""
    if isinstance(alpha, tuple):
        weights = check_vector_param(alpha, n_classes, "alpha", "classes")
        assert weights is not None
        return weights
    return alpha


def _one_minus_p(log_p: np.ndarray) -> np.ndarray:
    """1 − p from log p: −expm1(log p) keeps its digits when p is close to 1."""
    return -np.expm1(log_p)


class CategoricalFocalParams(Params):
    gamma: float = Field(2.0, ge=0, description="Focusing parameter: terms are scaled by (1 - p_c)^gamma.")
    alpha: NonNegative | tuple[NonNegative, ...] = Field(
        0.25, description="Balancing weight: one number for every class, or one per class (as Keras)."
    )
    input: InputSpace = INPUT_FIELD
    label_smoothing: float = Field(
        0.0, ge=0, le=1, description="Target q becomes q(1 - label_smoothing) + label_smoothing/C."
    )
    epsilon: float = Field(
        FLOAT64_EPS,
        gt=0,
        lt=0.5,
        description="Probabilities are clipped to [epsilon, 1 - epsilon] (input 'probabilities'); "
        "Keras clips at 1e-7.",
    )


@register(
    name="categorical_focal",
    aliases=("categorical_focal_cross_entropy",),
    params=CategoricalFocalParams,
    family="multiclass",
    summary="Cross-entropy whose class terms are down-weighted by (1 - p)^gamma, balanced by alpha.",
    formula=(
        "l_i = -sum_c alpha_c q_ic (1 - p_ic)^gamma log p_ic, q = onehot(y) or the target "
        "distribution, smoothed as q (1 - s) + s/C; alpha scalar or per class"
    ),
    modes=MODES,
    scalar_prediction=False,
    examples=(
        {"input": "logits", "gamma": 0.5, "alpha": 1.0},
        {"input": "logits", "alpha": (0.5, 2.0, 1.0), "label_smoothing": 0.1},
        {"input": "log_probabilities", "gamma": 3.0, "alpha": (1.0, 0.25, 3.0)},
        {"gamma": 0.0, "alpha": 1.0, "label_smoothing": 0.2},
    ),
    equivalents=(
        Equivalent(
            "Keras",
            "keras.losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=gamma, from_logits=..., "
            "label_smoothing=s)",
            "input='logits' with from_logits=True, or input='probabilities' with epsilon=1e-7 "
            "(keras.config.epsilon()); one-hot targets for our class indices; alpha scalar or list "
            "as ours; reduction sum_over_batch_size, or mean with reduction='mean_with_sample_weight'",
        ),
    ),
    differences=(
        "Keras renormalises probability rows and clips them at 1e-7; this service validates rows "
        "(sum 1 within 1e-6), never renormalises, and clips at epsilon (machine epsilon by "
        "default). With epsilon=1e-7 the values agree; the gradient in probability space is the "
        "unconstrained one here, while Keras's is its projection g - (g.p) 1 (the renormalisation).",
        "From logits Keras computes softmax then clips at 1e-7, so it saturates where a class with "
        "target mass has probability below 1e-7; this service works in log space and is exact for "
        "logits of any size (a term's loss can exceed Keras's cap of -log 1e-7).",
        "alpha acts inside the per-sample loss, as Keras (for every class with target mass), not "
        "as PyTorch-style class weights in a weighted mean: the reduction 'mean' divides by the "
        "sample weights only.",
    ),
    notes=("gamma=0 and alpha=1 give cross_entropy with the same label_smoothing and epsilon.",),
)
def categorical_focal(
    predictions: np.ndarray,
    targets: np.ndarray,
    params: CategoricalFocalParams,
    want_gradient: bool,
) -> Computed:
    """Keras's categorical focal cross-entropy, in log space.

    With u = log p, each class term is t_c = −α_c q_c (1 − e^u)^γ u, and
    ∂t_c/∂u = −α_c q_c (1 − p)^γ (1 − γ p u/(1 − p)); the engine maps ∂/∂u back to the input space.
    """
    t = ClassTargets(predictions, targets)
    log_p = LogProbabilities(predictions, params.input, params.epsilon)
    alpha = _alpha(params.alpha, t.n_classes)
    s = params.label_smoothing
    q = t.probabilities * (1.0 - s) + s / t.n_classes if s else t.probabilities
    u = log_p.log_p
    one_minus_p = _one_minus_p(u)
    # 0^0 = 1 in NumPy, so gamma = 0 gives the cross-entropy exactly, even where p = 1.
    modulation = one_minus_p**params.gamma
    weight = alpha * q
    contribution = -(weight * modulation * u).sum(axis=1)
    gradient = None
    if want_gradient:
        p = np.exp(u)
        # u/(1 − p) → −1 as p → 1; evaluated as that limit where 1 − p is exactly 0.
        safe = np.where(one_minus_p > 0, one_minus_p, 1.0)
        ratio = np.where(one_minus_p > 0, u / safe, -1.0)
        # ∂(Σ t_c)/∂u_c = −coef_c: the same shape as a cross-entropy with coefficients coef.
        coef = weight * modulation * (1.0 - params.gamma * p * ratio)
        gradient = log_p.gradient_of_linear(coef)
    return Computed(contribution, gradient, clipped=log_p.clipped, classes=t.classes)


class MulticlassHingeParams(Params):
    variant: Literal["crammer_singer", "weston_watkins"] = Field(
        "crammer_singer",
        description="crammer_singer: the largest wrong score; weston_watkins: every wrong score, / C.",
    )
    margin: float = Field(1.0, ge=0, description="Required gap between the true score and a wrong one.")


SCORE_MODES = (
    InputMode(
        "scores",
        "real",
        ("class_index", "one_hot"),
        ("predictions (N, C) scores", "targets (N,) class indices or (N, C) one-hot class probabilities"),
    ),
)


def one_hot_index(targets: np.ndarray) -> np.ndarray:
    """The class of each one-hot row of (N, C) targets; 422 naming the first row that is not one-hot."""
    hot = targets == 1.0
    one_hot = (hot.sum(axis=1) == 1) & (hot | (targets == 0.0)).all(axis=1)
    if not one_hot.all():
        row = int(np.argmin(one_hot))
        raise InvalidInput(
            f"targets[{row}] is not one-hot: multiclass_hinge needs one true class per sample, as a "
            "class index or a row of class probabilities with a single 1.",
            ("targets", row),
        )
    return np.argmax(hot, axis=1)


@register(
    name="multiclass_hinge",
    params=MulticlassHingeParams,
    family="multiclass",
    summary="Hinge loss of class scores: the true class must beat the wrong ones by a margin.",
    formula=(
        "crammer_singer: l_i = max(0, margin + max_{c != y} z_ic - z_iy); "
        "weston_watkins: l_i = sum_{c != y} max(0, margin - z_iy + z_ic) / C"
    ),
    modes=SCORE_MODES,
    scalar_prediction=False,
    examples=(
        {"variant": "weston_watkins"},
        {"variant": "crammer_singer", "margin": 2.5},
        {"variant": "weston_watkins", "margin": 0.5},
    ),
    equivalents=(
        Equivalent(
            "scikit-learn",
            "sklearn.metrics.hinge_loss(y, z, labels=range(C), sample_weight=w)",
            "variant='crammer_singer', margin=1; reduction mean",
        ),
        Equivalent(
            "PyTorch",
            "torch.nn.functional.multi_margin_loss(z, y, p=1, margin=margin)",
            "variant='weston_watkins'; reduction mean, sum or none as ours (no class weight)",
        ),
    ),
    differences=(
        "Keras CategoricalHinge computes max(0, 1 + max_c (1 - onehot_c) z_c - z_y): the maximum "
        "runs over all classes with the target's score replaced by 0, so it differs from "
        "crammer_singer when every wrong score is negative (Keras then uses 0 where this "
        "service, like scikit-learn, uses the largest wrong score).",
        "Subgradients as PyTorch: 0 at the hinge's kink (a term counts when its argument is > 0); "
        "for crammer_singer, ties for the largest wrong score give the gradient to the first "
        "such class, as torch.max(dim=1).",
        "multi_margin_loss's p=2 and per-class weight have no counterpart here.",
    ),
)
def multiclass_hinge(
    predictions: np.ndarray,
    targets: np.ndarray,
    params: MulticlassHingeParams,
    want_gradient: bool,
) -> Computed:
    """Crammer–Singer (scikit-learn's multi-class hinge_loss) or Weston–Watkins (torch multi_margin_loss)."""
    check_ndim(predictions, "predictions", (2,))
    n, n_classes = predictions.shape
    index: np.ndarray | None
    if targets.shape == predictions.shape:
        index = one_hot_index(targets)
    elif targets.ndim == 1:
        index = ClassTargets(predictions, targets).index
    else:
        raise InvalidInput(
            f"multiclass_hinge takes class indices of shape ({n},) or one-hot rows of shape "
            f"{tuple(predictions.shape)}; got shape {tuple(targets.shape)}.",
            ("targets",),
        )
    assert index is not None
    rows = np.arange(n)
    true_score = predictions[rows, index]
    gradient = np.zeros_like(predictions) if want_gradient else None
    if params.variant == "crammer_singer":
        wrong = predictions.copy()
        wrong[rows, index] = -np.inf
        rival = np.argmax(wrong, axis=1)
        argument = params.margin + wrong[rows, rival] - true_score
        active = argument > 0
        contribution = np.where(active, argument, 0.0)
        if gradient is not None:
            gradient[rows, rival] += active
            gradient[rows, index] -= active
    else:
        terms = params.margin - true_score[:, None] + predictions
        active = terms > 0
        active[rows, index] = False
        contribution = np.where(active, terms, 0.0).sum(axis=1) / n_classes
        if gradient is not None:
            gradient = active / n_classes
            gradient[rows, index] = -active.sum(axis=1) / n_classes
    return Computed(contribution, gradient, classes=index)


class KLDivergenceParams(Params):
    input: InputSpace = INPUT_FIELD
    log_target: bool = Field(False, description="Targets are log-probabilities (PyTorch's log_target).")
    epsilon: float = Field(
        FLOAT64_EPS,
        gt=0,
        lt=0.5,
        description="Probabilities are clipped to [epsilon, 1 - epsilon] (input 'probabilities').",
    )


KL_SHAPES = ("predictions (N, C)", "targets (N, C) class probabilities (or log-probabilities)")
KL_SPACES: tuple[tuple[InputSpace, Space], ...] = (
    ("probabilities", "simplex"),
    ("logits", "real"),
    ("log_probabilities", "log_simplex"),
)
KL_MODES = tuple(
    InputMode(
        f"{space}, {'log-probability' if log_target else 'probability'} targets",
        prediction_space,
        ("log_simplex",) if log_target else ("simplex",),
        KL_SHAPES,
        {"input": space, "log_target": log_target},
    )
    for log_target in (False, True)
    for space, prediction_space in KL_SPACES
)


def _check_log_simplex(array: np.ndarray, name: str, hint: str) -> None:
    """Rows of log-probabilities: each element <= 0 and logsumexp within 1e-6 of 0."""
    check_range(array, name, high=0.0, what="log-probabilities are at most 0")
    lse = logsumexp(array)[:, 0]
    bad = np.abs(lse) > SIMPLEX_ATOL
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidInput(
            f"{name}[{row}] are not normalised log-probabilities: logsumexp = {float(lse[row])!r}, "
            f"not 0 (tolerance {SIMPLEX_ATOL}). {hint}",
            (name, row),
        )


@register(
    name="kl_divergence",
    aliases=("kl_div", "kullback_leibler"),
    params=KLDivergenceParams,
    family="multiclass",
    summary="Kullback-Leibler divergence KL(q || p) of the predicted distribution from the target one.",
    formula="l_i = sum_c q_ic (log q_ic - log p_ic), with 0 where q_ic = 0",
    modes=KL_MODES,
    scalar_prediction=False,
    examples=({"input": "logits", "log_target": True},),
    equivalents=(
        Equivalent(
            "PyTorch",
            "torch.nn.functional.kl_div(log_p, q, reduction='batchmean', log_target=log_target)",
            "log_p = our log-probabilities, log_softmax(logits) or log(probabilities); torch's "
            "batchmean is our mean without weights (and our sum_over_batch_size); sum as ours; "
            "torch's 'none' is element-wise: its row sums are our per_sample; torch's 'mean' "
            "divides by N*C, i.e. our mean / C",
        ),
        Equivalent(
            "Optax",
            "optax.losses.kl_divergence(log_p, q) / kl_divergence_with_log_targets(log_p, log_q)",
            "log_p as for PyTorch; per example (our per_sample)",
        ),
        Equivalent(
            "Keras",
            "keras.losses.KLDivergence()",
            "input='probabilities'; Keras clips both q and p to [1e-7, 1], so it agrees only "
            "where no element is below 1e-7; reduction sum_over_batch_size",
        ),
    ),
    differences=(
        "Probabilities are validated and clipped to [epsilon, 1 - epsilon] as in cross_entropy "
        "(torch takes log-probabilities and would give inf or nan at p = 0); the gradient is 0 "
        "where the clip is active.",
        "Targets of 0 contribute exactly 0 (xlogy), as torch; Keras clips targets at 1e-7 instead.",
    ),
)
def kl_divergence(
    predictions: np.ndarray,
    targets: np.ndarray,
    params: KLDivergenceParams,
    want_gradient: bool,
) -> Computed:
    """KL(q ‖ p) = Σ q log q − Σ q log p; only the second term depends on the predictions."""
    check_ndim(predictions, "predictions", (2,))
    if targets.shape != predictions.shape:
        raise InvalidInput(
            f"targets must be class probabilities of shape {tuple(predictions.shape)} (the shape of the "
            f"predictions); got shape {tuple(targets.shape)}.",
            ("targets",),
        )
    if params.log_target:
        _check_log_simplex(targets, "targets", "log_target is true: targets are log-probabilities.")
        q = np.exp(targets)
        # Where exp underflows q = 0 and the term is 0·(finite) = 0, as torch's exp(t)·(t − log p).
        neg_entropy = (q * targets).sum(axis=1)
    else:
        check_simplex(targets, "targets", "targets are class probabilities (set log_target for logs)")
        q = targets
        neg_entropy = xlogy(q, q).sum(axis=1)
    log_p = LogProbabilities(predictions, params.input, params.epsilon)
    # 0·log p = 0 where q = 0: log p is finite (clipped or from a log-softmax).
    contribution = neg_entropy - (q * log_p.log_p).sum(axis=1)
    return Computed(
        contribution,
        log_p.gradient_of_linear(q) if want_gradient else None,
        clipped=log_p.clipped,
        classes=np.argmax(q, axis=1),
    )


class Poly1Params(Params):
    epsilon: float = Field(
        2.0, description="Coefficient of the first polynomial term (1 - p_t); Optax's epsilon."
    )
    input: InputSpace = INPUT_FIELD


@register(
    name="poly1_cross_entropy",
    aliases=("poly1", "poly_loss"),
    params=Poly1Params,
    family="multiclass",
    summary="Cross-entropy plus epsilon times the target's missing probability mass (PolyLoss, Poly-1).",
    formula="l_i = -sum_c q_ic log p_ic + epsilon sum_c q_ic (1 - p_ic)",
    modes=MODES,
    scalar_prediction=False,
    nonnegative=False,  # for epsilon < -1
    examples=(
        {"input": "logits", "epsilon": -1.0},
        {"input": "log_probabilities", "epsilon": 0.5},
        {"epsilon": 0.0},
    ),
    equivalents=(
        Equivalent(
            "Optax",
            "optax.losses.poly_loss_cross_entropy(logits, labels, epsilon=epsilon)",
            "input='logits'; labels = one-hot of our class indices, or our target probabilities; "
            "per example (our per_sample)",
        ),
    ),
    differences=(
        "Optax takes logits only; probabilities (validated, clipped to machine epsilon as "
        "cross_entropy, gradient 0 outside the clip) and log-probabilities are accepted here.",
        "epsilon is not bounded (as Optax); below -1 the loss is no longer minimal at the target.",
    ),
    notes=("epsilon=0 gives cross_entropy.",),
)
def poly1_cross_entropy(
    predictions: np.ndarray,
    targets: np.ndarray,
    params: Poly1Params,
    want_gradient: bool,
) -> Computed:
    """Poly-1 (Leng et al., 2022) as Optax: CE + ε Σ q (1 − p).

    With u = log p, ∂/∂u_c = −q_c (1 + ε p_c); the engine maps it back to the input space.
    """
    t = ClassTargets(predictions, targets)
    log_p = LogProbabilities(predictions, params.input, FLOAT64_EPS)
    q = t.probabilities
    u = log_p.log_p
    contribution = -(q * u).sum(axis=1) + params.epsilon * (q * _one_minus_p(u)).sum(axis=1)
    gradient = log_p.gradient_of_linear(q * (1.0 + params.epsilon * np.exp(u))) if want_gradient else None
    return Computed(contribution, gradient, clipped=log_p.clipped, classes=t.classes)
