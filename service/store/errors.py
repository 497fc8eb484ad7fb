"""Errors of the store. The API layer maps them to problems (503 with Retry-After, 404)."""

from __future__ import annotations

from .records import BatchRecord


class StoreError(Exception):
    """Base of the store's errors."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (or is not migrated yet); worth retrying later."""


class RunNotFound(StoreError):
    def __init__(self, name: str) -> None:
        super().__init__(f"run {name!r} does not exist")
        self.name = name


class DuplicateBatch(StoreError):
    """A batch with this ``batch_id`` is already recorded in the run: here it is."""

    def __init__(self, existing: BatchRecord) -> None:
        super().__init__(f"batch {existing.batch_id!r} is already recorded")
        self.existing = existing
