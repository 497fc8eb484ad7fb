"""One way for the loss tests to evaluate a single loss through the core."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from service.losses import registry
from service.losses.evaluate import LossResult, LossSpec, Options, evaluate

EVERYTHING = frozenset({"stats", "per_sample", "gradient", "breakdown"})


def evaluate_loss(
    name: str,
    predictions: Any,
    targets: Any,
    weights: Any = None,
    reduction: str = "mean",
    include: Iterable[str] = EVERYTHING,
    **params: Any,
) -> LossResult:
    """Evaluate the loss ``name`` (with ``params``) on array-likes, as the service would (targets
    None for a loss that takes none)."""
    definition = registry.get(name)
    (result,) = evaluate(
        [LossSpec(definition, definition.params(**params))],
        np.asarray(predictions, dtype=float),
        None if targets is None else np.asarray(targets, dtype=float),
        None if weights is None else np.asarray(weights, dtype=float),
        Options(reduction=reduction, include=frozenset(include)),  # type: ignore[arg-type]
    )
    return result
