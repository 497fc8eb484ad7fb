"""SQL for batches: recording them (with the run's counters), finding one, reading a window's."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Connection, and_, bindparam, case, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from .records import BatchRecord, NewBatch, Recorded, pack, unpack
from .schema import batches, run_splits, runs

_FIRST = bindparam("first_time", type_=BigInteger())
_LAST = bindparam("last_time", type_=BigInteger())
_STEP = bindparam("last_step", type_=BigInteger())
# Built once, executed with parameters: constructing statements per batch costs more than running them.
_TAKE_SEQUENCES = (
    update(runs)
    .where(runs.c.id == bindparam("run_id", type_=BigInteger()))
    .values(
        last_sequence=runs.c.last_sequence + bindparam("count", type_=BigInteger()),
        batches=runs.c.batches + bindparam("count", type_=BigInteger()),
        first_time=case(
            (or_(runs.c.first_time.is_(None), runs.c.first_time > _FIRST), _FIRST), else_=runs.c.first_time
        ),
        last_time=case(
            (or_(runs.c.last_time.is_(None), runs.c.last_time < _LAST), _LAST), else_=runs.c.last_time
        ),
        last_step=case(
            (and_(_STEP.is_not(None), or_(runs.c.last_step.is_(None), runs.c.last_step < _STEP)), _STEP),
            else_=runs.c.last_step,
        ),
    )
    .returning(runs.c.last_sequence, runs.c.compacted_through)
)
_INSERT = insert(batches)
_NEW_SPLIT = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(run_splits).on_conflict_do_nothing(
        index_elements=["run_id", "split"]
    )
    for dialect in (postgresql, sqlite)
}


def record(
    connection: Connection, run_id: int, group: Sequence[NewBatch], new_splits: Sequence[str]
) -> list[Recorded] | None:
    """Take the run's next sequence numbers for a group of its batches, in order, and insert them
    (None if the run is gone): one UPDATE of the run's counters and one multi-row INSERT.

    Raises IntegrityError when the run already has one of the batch ids. The UPDATE of the run's
    row comes first: on PostgreSQL its row lock orders the run's concurrent inserts, so sequences
    increase in commit order; on SQLite the write lock does the same.
    """
    steps = [b.step for b in group if b.step is not None]
    counters = connection.execute(
        _TAKE_SEQUENCES,
        {
            "run_id": run_id,
            "count": len(group),
            "first_time": min(b.time for b in group),
            "last_time": max(b.time for b in group),
            "last_step": max(steps) if steps else None,
        },
    ).first()
    if counters is None:
        return None
    last, compacted_through = counters
    first = last - len(group) + 1
    connection.execute(
        _INSERT,
        [
            {
                "run_id": run_id,
                "sequence": first + i,
                "batch_id": b.batch_id,
                "split": b.split,
                "step": b.step,
                "time": b.time,
                "time_given": b.time_given,
                "fingerprint": b.fingerprint,
                "results": b.results,
                "accumulators": pack(b.accumulators),
            }
            for i, b in enumerate(group)
        ],
    )
    if new_splits:
        connection.execute(
            _NEW_SPLIT[connection.dialect.name], [{"run_id": run_id, "split": split} for split in new_splits]
        )
    return [Recorded(int(first + i), int(first + i - compacted_through)) for i in range(len(group))]


def taken_ids(connection: Connection, ids: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (run id, batch id) pairs are recorded already."""
    found: set[tuple[int, str]] = set()
    by_run: dict[int, list[str]] = {}
    for run_id, batch_id in ids:
        by_run.setdefault(run_id, []).append(batch_id)
    for run_id, batch_ids in by_run.items():
        rows = connection.execute(
            select(batches.c.batch_id).where(batches.c.run_id == run_id, batches.c.batch_id.in_(batch_ids))
        )
        found.update((run_id, batch_id) for (batch_id,) in rows)
    return found


_FULL = (
    batches.c.sequence,
    batches.c.batch_id,
    batches.c.split,
    batches.c.step,
    batches.c.time,
    batches.c.time_given,
    batches.c.fingerprint,
    batches.c.results,
    batches.c.accumulators,
)


def find(connection: Connection, run_id: int, batch_id: str) -> BatchRecord | None:
    row = connection.execute(
        select(*_FULL).where(and_(batches.c.run_id == run_id, batches.c.batch_id == batch_id))
    ).first()
    if row is None:
        return None
    return BatchRecord(
        row.sequence,
        row.batch_id,
        row.split,
        row.step,
        row.time,
        bool(row.time_given),
        bytes(row.fingerprint),
        bytes(row.results),
        unpack(bytes(row.accumulators)),
    )


def window(
    connection: Connection,
    run_id: int,
    conditions: Sequence[ColumnElement[bool]],
    after_sequence: int | None = None,
    upto_sequence: int | None = None,
) -> list[BatchRecord]:
    """Batches of a run that meet every condition, in sequence order, with their accumulators."""
    query = select(
        batches.c.sequence,
        batches.c.batch_id,
        batches.c.split,
        batches.c.step,
        batches.c.time,
        batches.c.accumulators,
    ).where(batches.c.run_id == run_id, *conditions)
    if after_sequence is not None:
        query = query.where(batches.c.sequence > after_sequence)
    if upto_sequence is not None:
        query = query.where(batches.c.sequence <= upto_sequence)
    return [
        BatchRecord(
            row.sequence,
            row.batch_id,
            row.split,
            row.step,
            row.time,
            accumulators=unpack(bytes(row.accumulators)),
        )
        for row in connection.execute(query.order_by(batches.c.sequence))
    ]
