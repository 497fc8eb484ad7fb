"""A loss as a function of one scalar prediction, for a fixed target: what a dashboard plots."""

from __future__ import annotations

import numpy as np

from .base import LossDefinition, Params
from .errors import InvalidInput
from .evaluate import LossSpec, Options, evaluate

CURVE_OPTIONS = Options(reduction="none", include=frozenset({"per_sample", "gradient"}))


def curve_grid(start: float, stop: float, num: int) -> np.ndarray:
    return np.linspace(start, stop, num)


def curve(
    definition: LossDefinition, params: Params, target: float, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-sample loss lᵢ and ∂lᵢ/∂xᵢ at every prediction xᵢ, all with the same target."""
    if not definition.scalar_prediction:
        raise InvalidInput(
            f"{definition.name} has no scalar curve (its prediction per sample is not one free "
            "number); curves exist for losses whose catalogue entry says curve: true.",
            ("name",),
        )
    (result,) = evaluate([LossSpec(definition, params)], x, np.full_like(x, target), None, CURVE_OPTIONS)
    assert result.per_sample is not None
    return result.per_sample, result.gradient
