"""Domain errors of the loss core.

The core knows nothing about HTTP: it raises these, and the API layer maps each kind to a status
and an RFC 9457 problem. A location is a path into the request, such as ``("predictions", 3, 1)`` or
``("losses", 0, "delta")``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class ErrorItem:
    location: Location
    message: str


class LossError(Exception):
    """Base class of every error the core raises on purpose."""

    kind = "loss-error"
    title = "Loss evaluation failed"

    def __init__(self, detail: str, errors: Sequence[ErrorItem] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)

    def at(self, *prefix: str | int) -> LossError:
        """The same error with every location prefixed, e.g. by ``("losses", 2)``."""
        clone = copy.copy(self)
        clone.errors = tuple(ErrorItem((*prefix, *e.location), e.message) for e in self.errors)
        return clone


class InvalidInput(LossError):
    """Well-formed input that breaks a loss's contract: shapes, domains, labels, parameters."""

    kind = "invalid-input"
    title = "Input breaks the loss contract"

    def __init__(self, message: str, location: Location = (), errors: Sequence[ErrorItem] = ()) -> None:
        super().__init__(message, errors or [ErrorItem(location, message)])


class NonFiniteInput(InvalidInput):
    """A NaN or infinity under ``nan_policy="raise"``."""

    kind = "non-finite-input"
    title = "Non-finite input"


class TooLarge(LossError):
    """Arrays within the element limits whose loss needs more work than one request may ask for
    (the pairs of long lists, a CTC lattice of many frames and labels)."""

    kind = "payload-too-large"
    title = "Payload too large"

    def __init__(self, message: str, location: Location = ()) -> None:
        super().__init__(message, [ErrorItem(location, message)])


class UnknownLoss(LossError):
    """A loss name that is neither a canonical name nor an alias."""

    kind = "unknown-loss"
    title = "Unknown loss"

    def __init__(self, name: str, suggestions: Sequence[str]) -> None:
        hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        detail = f"Unknown loss {name!r}.{hint} GET /v1/losses lists them all."
        super().__init__(detail, [ErrorItem(("name",), detail)])
        self.name = name
        self.suggestions = tuple(suggestions)
