"""The history store: SQLAlchemy 2 tables, queries and Alembic migrations. No HTTP, no loss math.

It keeps runs and, for every recorded batch, one serialized accumulator per loss; the monitoring
layer merges them. Nothing outside this package writes SQL.
"""

from .database import Database, connect
from .errors import DuplicateBatch, RunNotFound, StoreError, StoreUnavailable
from .records import (
    STEP,
    TIME_LEVELS,
    Aggregate,
    AggregateKey,
    BatchRecord,
    Cover,
    NewBatch,
    Recorded,
    RunRecord,
    Span,
    StepSums,
    Window,
)
from .store import Store

__all__ = [
    "STEP",
    "TIME_LEVELS",
    "Aggregate",
    "AggregateKey",
    "BatchRecord",
    "Cover",
    "Database",
    "DuplicateBatch",
    "NewBatch",
    "Recorded",
    "RunNotFound",
    "RunRecord",
    "Span",
    "StepSums",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Window",
    "connect",
]
