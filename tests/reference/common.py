"""Shared by the reference generators: how a case is written to ``torch_<module>.json`` etc.

The generators run by hand, in an environment with the anchor library installed (they are not
part of the test suite, which reads the JSON files they wrote). Each file records the library and
version that produced it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def reduce(per_sample: Any, weights: Any, reduction: str, counted: np.ndarray | None = None) -> Any:
    """This service's reductions of per-sample losses, for torch tensors and JAX arrays alike.

    ``weights`` is an array of the same library (or None); ``counted`` a boolean NumPy mask of the
    rows that count (rows that do not count are left out of every sum, as with ignore_index).
    'none' gives the sum, whose gradient this service returns for it.
    """
    if counted is not None:
        per_sample = per_sample[counted]
        weights = None if weights is None else weights[counted]
    total = (per_sample if weights is None else weights * per_sample).sum()
    if reduction == "mean":
        return total / (len(per_sample) if weights is None else weights.sum())
    if reduction == "sum_over_batch_size":
        return total / len(per_sample)
    return total


def case(
    loss: str,
    params: dict[str, Any],
    predictions: np.ndarray,
    targets: np.ndarray | None,
    reduction: str,
    value: float | None,
    per_sample: np.ndarray,
    gradient: np.ndarray,
    anchor: str,
    weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """One reference case, in this service's conventions (per_sample as our l_i)."""
    return {
        "loss": loss,
        "params": params,
        "predictions": np.asarray(predictions).tolist(),
        "targets": None if targets is None else np.asarray(targets).tolist(),
        "weights": None if weights is None else np.asarray(weights).tolist(),
        "reduction": reduction,
        "value": value,
        "per_sample": np.asarray(per_sample).tolist(),
        "gradient": np.asarray(gradient).tolist(),
        "anchor": anchor,
    }


def write(name: str, library: str, cases: list[dict[str, Any]]) -> None:
    path = HERE / f"{name}.json"
    path.write_text(json.dumps({"produced_by": library, "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {path}")
