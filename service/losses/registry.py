"""The registry: loss name -> definition. Each loss is registered once, by its family module.

Aliases resolve to the canonical name; registering a name or alias twice is refused, so that two
modules can never silently define the same loss.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from .base import ComputeFn, LossDefinition
from .errors import UnknownLoss

_LOSSES: dict[str, LossDefinition] = {}
_NAMES: dict[str, str] = {}  # canonical name or alias -> canonical name


def register(**metadata: object) -> Callable[[ComputeFn], ComputeFn]:
    """Decorator: register a compute function with its metadata (the fields of LossDefinition)."""

    def decorator(compute: ComputeFn) -> ComputeFn:
        definition = LossDefinition(compute=compute, **metadata)  # type: ignore[arg-type]
        add(definition)
        return compute

    return decorator


def add(definition: LossDefinition) -> None:
    for key in (definition.name, *definition.aliases):
        if key in _NAMES:
            raise ValueError(f"loss name {key!r} is already registered for {_NAMES[key]!r}")
    _LOSSES[definition.name] = definition
    for key in (definition.name, *definition.aliases):
        _NAMES[key] = definition.name


def get(name: str) -> LossDefinition:
    """The definition for a canonical name or alias; UnknownLoss with close matches otherwise."""
    canonical = _NAMES.get(name)
    if canonical is None:
        raise UnknownLoss(name, suggest(name))
    return _LOSSES[canonical]


def suggest(name: str) -> list[str]:
    return difflib.get_close_matches(name, list(_NAMES), n=3, cutoff=0.6)


def definitions() -> list[LossDefinition]:
    """Every registered loss, in registration order (family by family)."""
    return list(_LOSSES.values())


def is_name(name: str) -> bool:
    """Whether ``name`` is a canonical name or an alias."""
    return name in _NAMES


def all_names() -> list[str]:
    """Every canonical name and alias."""
    return list(_NAMES)
