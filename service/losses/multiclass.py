"""Multi-class losses: predictions (N, C) as probabilities, logits or log-probabilities.

Targets are class indices (N,) or class probabilities (N, C). Every loss here reduces the class axis
inside the per-sample loss (a sum over classes), never by a mean.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .base import Computed, Equivalent, InputMode, Params
from .checks import (
    SIMPLEX_ATOL,
    check_class_indices,
    check_ndim,
    check_range,
    check_simplex,
    check_vector_param,
)
from .errors import InvalidInput
from .numerics import FLOAT64_EPS, log_softmax, logsumexp, softmax
from .registry import register

InputSpace = Literal["probabilities", "logits", "log_probabilities"]
TARGETS = ("class_index", "simplex")
SHAPES = ("predictions (N, C)", "targets (N,) class indices or (N, C) class probabilities")
MODES = (
    InputMode("probabilities", "simplex", TARGETS, SHAPES, {"input": "probabilities"}),
    InputMode("logits", "real", TARGETS, SHAPES, {"input": "logits"}),
    InputMode("log_probabilities", "log_simplex", TARGETS, SHAPES, {"input": "log_probabilities"}),
)

NonNegative = Annotated[float, Field(ge=0)]
INPUT_FIELD = Field(
    "probabilities", description="What the predictions are: probabilities, logits or log-probabilities."
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
            self.probabilities = np.zeros((n, n_classes))
            self.probabilities[np.arange(n), index] = 1.0
        elif targets.shape == predictions.shape:
            if ignore_index is not None:
                raise InvalidInput(
                    "ignore_index applies to class-index targets only; these targets are class "
                    "probabilities.",
                    ("params", "ignore_index"),
                )
            check_simplex(targets, "targets", "targets of shape (N, C) are class probabilities")
            self.index = None
            self.probabilities = targets
        else:
            raise InvalidInput(
                f"targets must be class indices of shape ({n},) or class probabilities of shape "
                f"{tuple(predictions.shape)}; got shape {tuple(targets.shape)}.",
                ("targets",),
            )

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
            self.log_p = np.log(p)
        elif space == "logits":
            self.log_p = log_softmax(predictions)
        else:
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
            self.log_p = predictions

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
    if t.index is not None:
        coef = (1.0 - s) * t.probabilities
        if weights is not None:
            factor = weights[t.index]
            coef *= factor[:, None]
        if s:
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
