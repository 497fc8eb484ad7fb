"""Compaction: folding recorded batches into the stored aggregates (by step and by time bucket).

Each batch's accumulator of each loss is merged into the aggregate of its step (if it has one)
and of its minute, hour and day. The store runs the fold inside one transaction with the batches
it takes and the aggregates it asks for, moves the run's ``compacted_through`` past them, and
keeps the run's overview (``overview_json``) up to date with what is now compacted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection

from ..store import STEP, TIME_LEVELS, Aggregate, AggregateKey, BatchRecord, StepSums
from .history import Piece, merge_groups, values_by_step
from .overview import overview_of
from .specs import specs_of
from .windows import MICROSECONDS

# Fold a run's batches once this many are pending; reads merge the pending ones themselves.
COMPACT_AFTER = 256
# Batches folded in one transaction.
COMPACT_LIMIT = 2000


def keys_of(batch: BatchRecord, loss: int) -> list[AggregateKey]:
    keys = [AggregateKey(STEP, batch.split, loss, batch.step)] if batch.step is not None else []
    for kind, size in TIME_LEVELS.items():
        unit = size * MICROSECONDS
        keys.append(AggregateKey(kind, batch.split, loss, batch.time // unit * size))
    return keys


def fold(
    batches: list[BatchRecord], load: Callable[[Collection[AggregateKey]], dict[AggregateKey, Aggregate]]
) -> dict[AggregateKey, Aggregate]:
    """The aggregates the batches change, each merged with what was stored under its key."""
    groups: dict[AggregateKey, list[Piece]] = defaultdict(list)
    for batch in batches:
        for loss in range(len(batch.accumulators)):
            piece = Piece.of_batch(batch, loss)
            for key in keys_of(batch, loss):
                groups[key].append(piece)
    stored = load(groups.keys())
    for key, group in groups.items():
        previous = stored.get(key)
        if previous is not None:
            group.insert(0, Piece.of_aggregate(key, previous))
    keys = list(groups)
    merged = merge_groups([groups[key] for key in keys])
    out = {}
    for key, m in zip(keys, merged, strict=True):
        sums = m.table.sums(m.row)
        out[key] = Aggregate(
            m.batches,
            m.first_time,
            m.last_time,
            m.first_step,
            m.last_step,
            m.accumulator().to_bytes(),
            sums.count,
            sums.weight_sum,
            sums.total,
            sums.nonfinite,
        )
    return out


def overview_json(run_id: int, losses: str, sums: list[StepSums]) -> str:
    """The run's overview (JSON) from the sums of its by-step aggregates, as the store keeps it."""
    specs = specs_of(losses)
    transforms = {(run_id, i): spec.definition.transform for i, spec in enumerate(specs)}
    series = values_by_step(sums, [], transforms)
    return overview_of(
        {loss: series.get((run_id, loss), {}) for loss in range(len(specs))}, len(specs)
    ).to_json()
