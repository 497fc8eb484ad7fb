"""A loss as a function of one scalar prediction, for a fixed target: what a dashboard plots."""

from __future__ import annotations

import numpy as np

from .base import LossDefinition, Params
from .errors import InvalidInput
from .evaluate import LossSpec, Options, evaluate_one, prepare

CURVE_OPTIONS = Options(reduction="none", include=frozenset({"per_sample", "gradient"}))


def curve_grid(start: float, stop: float, num: int) -> np.ndarray:
    return np.linspace(start, stop, num)


def curve(
    definition: LossDefinition, params: Params, target: float, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """The loss and its derivative at every prediction xᵢ, each point a batch of one sample.

    For most losses that is the per-sample loss lᵢ and ∂lᵢ/∂xᵢ. A loss whose value transforms the
    mean (RMSE: the square root) takes it of a one-sample mean, lᵢ itself, with the chain rule
    for the gradient: RMSE's curve is |xᵢ − target| and its derivative sign(xᵢ − target).
    """
    if not definition.scalar_prediction:
        raise InvalidInput(
            f"{definition.name} has no scalar curve (its prediction per sample is not one free "
            "number); curves exist for losses whose catalogue entry says curve: true.",
            ("name",),
        )
    data = prepare(x, np.full_like(x, target), None, "raise")
    # Reductions restricted to 'mean' (RMSE) still have per-sample losses: evaluate_one gives them.
    result = evaluate_one(LossSpec(definition, params), data, CURVE_OPTIONS)
    assert result.per_sample is not None
    values, gradient = result.per_sample, result.gradient
    if definition.transform is not None:
        transformed, derivative = np.frompyfunc(definition.transform, 1, 2)(values)
        values = transformed.astype(np.float64)
        if gradient is not None:
            gradient = gradient * derivative.astype(np.float64)
    return values, gradient
