"""Translation between the API's JSON shapes and the loss core's objects. No math."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..losses import registry
from ..losses.base import LossDefinition
from ..losses.evaluate import LossResult, LossSpec
from ..losses.stats import ArraySummary
from .arrays import ArrayEncoding, encode


def to_spec(model: BaseModel) -> LossSpec:
    """A validated spec model (name + parameters) as the core's LossSpec."""
    definition = registry.get(model.name)  # type: ignore[attr-defined]
    # The spec model is the parameter model plus the name, and is validated: no second validation.
    fields = {name: getattr(model, name) for name in definition.params.model_fields}
    return LossSpec(definition, definition.params.model_construct(**fields))


def catalogue_entry(definition: LossDefinition) -> dict[str, Any]:
    return {
        "name": definition.name,
        "aliases": list(definition.aliases),
        "family": definition.family,
        "summary": definition.summary,
        "formula": definition.formula,
        "parameters": definition.params.model_json_schema(),
        "input_modes": [
            {
                "name": m.name,
                "predictions": m.predictions,
                "targets": list(m.targets),
                "shapes": list(m.shapes),
                "select": dict(m.select),
            }
            for m in definition.modes
        ],
        "has_gradient": definition.has_gradient,
        "targets": "required" if definition.takes_targets else "none",
        "nonnegative": definition.nonnegative,
        "reductions": list(definition.reductions),
        "curve": definition.scalar_prediction,
        "equivalents": [asdict(e) for e in definition.equivalents],
        "differences": list(definition.differences),
        "notes": list(definition.notes),
    }


def result_body(result: LossResult, encoding: ArrayEncoding) -> dict[str, Any]:
    body: dict[str, Any] = {
        "loss": result.loss,
        "params": result.params,
        "reduction": result.reduction,
        "value": result.value,
        "count": result.count,
        "weight_sum": result.weight_sum,
        "omitted": result.omitted,
        "ignored": result.ignored,
        "clipped": result.clipped,
    }
    if result.stats is not None:
        stats = result.stats
        body["stats"] = {
            "mean": stats.mean,
            "std": stats.std,
            "min": stats.min,
            "max": stats.max,
            "sum": stats.sum,
            "quantiles": stats.quantiles,
            "top": [{"index": i, "loss": v} for i, v in stats.top],
        }
    if result.per_sample is not None:
        body["per_sample"] = encode(result.per_sample, encoding)
    if result.gradient is not None:
        body["gradient"] = encode(result.gradient, encoding)
    if result.breakdown is not None:
        body["breakdown"] = {
            "by": result.breakdown.by,
            "groups": [
                {"key": g.key, "count": g.count, "weight_sum": g.weight_sum, "value": g.value}
                for g in result.breakdown.groups
            ],
        }
    return body


def summary_body(summary: ArraySummary) -> dict[str, Any]:
    return asdict(summary)


def curve_body(
    name: str,
    target: float,
    x: np.ndarray,
    curves: list[tuple[dict[str, Any], np.ndarray, np.ndarray | None]],
    encoding: ArrayEncoding,
) -> dict[str, Any]:
    return {
        "loss": name,
        "target": target,
        "x": encode(x, encoding),
        "curves": [
            {
                "params": params,
                "value": encode(values, encoding),
                "gradient": None if gradient is None else encode(gradient, encoding),
            }
            for params, values, gradient in curves
        ],
    }
