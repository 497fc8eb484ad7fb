"""A run's loss specs as stored (JSON: canonical names with every parameter) and as the core's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ..losses import registry
from ..losses.evaluate import LossSpec


def canonical(specs: Sequence[LossSpec]) -> list[dict[str, Any]]:
    """Loss specs as stored and shown: canonical names and every parameter with its value."""
    return [{"name": s.definition.name, **s.params.model_dump(mode="json")} for s in specs]


def specs_of(losses: str) -> tuple[LossSpec, ...]:
    specs = []
    for item in orjson.loads(losses):
        definition = registry.get(item.pop("name"))
        specs.append(LossSpec(definition, definition.params.model_validate(item)))
    return tuple(specs)
