"""What a loss is: its definition (metadata + compute function) and what its compute returns.

A loss computes, for each sample i (a row of the predictions), a *contribution* aᵢ and optionally a
*factor* fᵢ, with their gradients with respect to that row of predictions. The engine then reduces
with sample weights sᵢ:

    mean                 Σ sᵢ aᵢ / Σ sᵢ fᵢ
    sum                  Σ sᵢ aᵢ
    sum_over_batch_size  Σ sᵢ aᵢ / N
    none                 no value; per-sample losses lᵢ = aᵢ / fᵢ

For almost every loss fᵢ = 1 and aᵢ = lᵢ. A loss with class weights over class-index targets sets
fᵢ = w[yᵢ], which is how PyTorch's weighted mean Σ w_y l / Σ w_y arises; the effective weight of a
sample is then sᵢ fᵢ (see "Request conventions" in the README).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

Reduction = Literal["mean", "sum", "sum_over_batch_size", "none"]
REDUCTIONS: tuple[Reduction, ...] = ("mean", "sum", "sum_over_batch_size", "none")

Family = Literal[
    "regression",
    "binary",
    "margin",
    "multiclass",
    "similarity",
    "ranking",
    "metric_learning",
    "probabilistic",
    "sequence",
]

# The value spaces an array can be asked to live in. Tests generate inputs from these, and the
# catalogue shows them, so they are data rather than prose.
Space = Literal[
    "real",  # any finite number
    "positive",  # > 0
    "nonnegative",  # >= 0
    "greater_than_minus_one",  # > -1
    "unit_interval",  # [0, 1] element-wise (probabilities of independent events)
    "simplex",  # rows in [0, 1] summing to 1 (class probabilities)
    "log_simplex",  # rows of log-probabilities: <= 0, logsumexp = 0
    "class_index",  # integers in [0, C)
    "one_hot",  # rows of class probabilities with a single 1 (one true class)
    "sign",  # -1 or +1 (0/1 accepted and mapped to -1/+1)
    "plus_minus_one",  # exactly -1 or +1 (pair labels)
    "binary_label",  # exactly 0 or 1
    "relevance",  # graded relevance >= 0 per list item (ties allowed)
    "mean_variance",  # rows (mean, variance) with variance >= 0
    "label_sequence",  # class indices other than the blank, padded at the end with -1
]


TORCH_REDUCTION = (
    "reduction mean (and any reduction of (N,) inputs) as ours; on (N, D) inputs torch's sum runs over "
    "all elements, which is D times our sum of row means"
)


class Params(BaseModel):
    """Base of every loss's parameter model: unknown parameters are an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class NoParams(Params):
    """A loss without parameters."""


@dataclass(frozen=True)
class InputMode:
    """One way of feeding a loss: which spaces predictions and targets live in, and the shapes.

    ``select`` gives the parameter values that choose this mode (``{"from_logits": True}``).
    ``targets`` is empty for a loss that takes no targets.
    """

    name: str
    predictions: Space
    targets: tuple[Space, ...]
    shapes: tuple[str, ...]
    select: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Equivalent:
    """A library function whose numbers this loss reproduces, and how to map the parameters."""

    library: str
    function: str
    mapping: str = ""


@dataclass
class Computed:
    """What a loss's compute function returns for the rows it was given.

    contribution: aᵢ, shape (N,).
    gradient: ∂aᵢ/∂predictions[i], same shape as the predictions (None if not asked or none exists).
    factor: fᵢ, shape (N,), or None for all ones.
    factor_gradient: not needed: factors never depend on predictions.
    ignored: rows that count nowhere (``ignore_index``), or None.
    clipped: how many prediction elements an epsilon clip changed.
    classes: the class of each row's target, for the per-class breakdown, or None.
    elementwise: (N, D) element losses whose row mean is aᵢ, for the per-output breakdown, or None.
    """

    contribution: np.ndarray
    gradient: np.ndarray | None = None
    factor: np.ndarray | None = None
    ignored: np.ndarray | None = None
    clipped: int = 0
    classes: np.ndarray | None = None
    elementwise: np.ndarray | None = None


ComputeFn = Callable[[np.ndarray, np.ndarray, Any, bool], Computed]


def elementwise(values: np.ndarray, gradient: np.ndarray | None) -> Computed:
    """Per-sample losses of an element-wise loss: the mean over the last axis of (N, D) inputs.

    ``values`` and ``gradient`` are per element; the row mean divides the gradient by D. The
    element losses are kept for the per-output breakdown.
    """
    if values.ndim == 1:
        return Computed(values, gradient)
    width = values.shape[1]
    return Computed(
        values.mean(axis=1),
        None if gradient is None else gradient / width,
        elementwise=values,
    )


@dataclass(frozen=True)
class LossDefinition:
    """Everything the service knows about one loss; built once by ``registry.register``."""

    name: str
    compute: ComputeFn
    params: type[Params]
    family: Family
    summary: str
    formula: str
    modes: tuple[InputMode, ...]
    equivalents: tuple[Equivalent, ...]
    aliases: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    has_gradient: bool = True
    # Whether every per-sample value is >= 0 (false for e.g. cosine similarity, Poisson NLL).
    nonnegative: bool = True
    reductions: tuple[Reduction, ...] = REDUCTIONS
    # sqrt for RMSE: value = transform(reduced), gradient scaled by transform'(reduced).
    transform: Callable[[float], tuple[float, float]] | None = None
    # Whether the prediction is one free scalar per sample, so that POST .../curve applies.
    scalar_prediction: bool = True
    # Parameter sets the common test suite runs, beyond the defaults and each mode's ``select``.
    examples: tuple[Mapping[str, Any], ...] = ()

    @property
    def takes_targets(self) -> bool:
        """Whether the loss reads targets (false when no input mode has any: triplet_margin)."""
        return any(mode.targets for mode in self.modes)

    def mode_for(self, params: Params) -> InputMode:
        """The input mode the parameters select (the first whose ``select`` they all match)."""
        for mode in self.modes:
            if all(getattr(params, k) == v for k, v in mode.select.items()):
                return mode
        raise LookupError(f"{self.name}: no input mode matches {params!r}")
