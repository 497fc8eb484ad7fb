"""What the store reads and writes: plain records of bytes, numbers and strings (no loss math)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RunRecord:
    id: int
    name: str
    losses: str  # JSON of the canonical loss specs, in order
    description: str | None
    tags: dict[str, str]
    created_at: int  # µs since the epoch
    batches: int
    last_sequence: int
    compacted_through: int
    first_time: int | None
    last_time: int | None
    last_step: int | None
    splits: tuple[str, ...] = ()
    alerts: str | None = None  # JSON: the run's alert rules
    overview: str | None = None  # JSON: the overview of the compacted history (monitoring/overview.py)


@dataclass(frozen=True)
class NewBatch:
    batch_id: str
    split: str
    step: int | None
    time: int  # µs since the epoch
    time_given: bool
    fingerprint: bytes
    results: bytes  # JSON: the values the batch was answered with
    accumulators: Sequence[bytes]  # one per loss of the run


@dataclass(frozen=True)
class BatchRecord:
    sequence: int
    batch_id: str
    split: str
    step: int | None
    time: int
    time_given: bool = False
    fingerprint: bytes = b""
    results: bytes = b""
    accumulators: tuple[bytes, ...] = ()


STEP = 0
# Time levels of the aggregates: kind -> bucket size in seconds (buckets aligned to the epoch).
TIME_LEVELS = {1: 60, 2: 3600, 3: 86400}


@dataclass(frozen=True)
class AggregateKey:
    kind: int  # STEP (key = the step) or a TIME_LEVELS kind (key = the bucket's start in seconds)
    split: str
    loss: int  # index into the run's losses
    key: int


@dataclass(frozen=True)
class Window:
    """Which batches of a run: splits (None: all), steps in [step_from, step_to] (a bound given or
    ``stepped``: only batches with a step), times in [time_from, time_to) in µs."""

    splits: tuple[str, ...] | None = None
    step_from: int | None = None
    step_to: int | None = None
    time_from: int | None = None
    time_to: int | None = None
    stepped: bool = False


@dataclass(frozen=True)
class Span:
    """Aggregates of ``kind`` with keys in [first, last] (None: unbounded)."""

    kind: int
    first: int | None
    last: int | None


@dataclass(frozen=True)
class Cover:
    """Which aggregates answer (part of) a window: spans that do not overlap, and the losses to
    read (None: all). Batches on the spans' keys that the aggregates hold are not read again."""

    spans: tuple[Span, ...]
    losses: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Aggregate:
    """Merged accumulators of the batches that fall on one key, with the merged accumulator's
    scalars that a value needs (count, weight_sum, total, nonfinite)."""

    batches: int
    first_time: int
    last_time: int
    first_step: int | None
    last_step: int | None
    accumulator: bytes
    count: int = 0
    weight_sum: float = 0.0
    total: float = 0.0
    nonfinite: int = 0


@dataclass(frozen=True)
class StepSums:
    """The value-making scalars of one step's aggregate of one (run, split, loss)."""

    run_id: int
    split: str
    loss: int
    step: int
    count: int
    weight_sum: float
    total: float
    nonfinite: int


@dataclass(frozen=True)
class Recorded:
    """A batch that was just recorded: its sequence, and the run's counters after it."""

    sequence: int
    pending: int  # batches of the run recorded but not yet folded into aggregates


_LENGTH = struct.Struct("<I")


def pack(parts: Sequence[bytes]) -> bytes:
    """Several byte strings in one: each prefixed by its length."""
    return b"".join(_LENGTH.pack(len(p)) + p for p in parts)


def unpack(blob: bytes) -> tuple[bytes, ...]:
    parts = []
    view = memoryview(blob)
    offset = 0
    while offset < len(view):
        (size,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        parts.append(bytes(view[offset : offset + size]))
        offset += size
    return tuple(parts)
