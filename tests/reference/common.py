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


def case(
    loss: str,
    params: dict[str, Any],
    predictions: np.ndarray,
    targets: np.ndarray,
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
        "targets": np.asarray(targets).tolist(),
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
