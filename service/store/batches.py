"""SQL for batches: recording one (with the run's counters), finding one, reading a window's."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, case, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from .records import BatchRecord, NewBatch, Recorded, pack, unpack
from .schema import batches, run_splits, runs


def record(connection: Connection, run_id: int, batch: NewBatch, new_split: bool) -> Recorded | None:
    """Take the run's next sequence number and insert the batch (None if the run is gone).

    Raises IntegrityError when the run already has this ``batch_id``. The UPDATE of the run's row
    comes first: on PostgreSQL its row lock orders the run's concurrent inserts, so sequences
    increase in commit order; on SQLite the write lock does the same.
    """
    t, step = batch.time, batch.step
    counters = connection.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            last_sequence=runs.c.last_sequence + 1,
            batches=runs.c.batches + 1,
            first_time=case(
                (or_(runs.c.first_time.is_(None), runs.c.first_time > t), t), else_=runs.c.first_time
            ),
            last_time=case(
                (or_(runs.c.last_time.is_(None), runs.c.last_time < t), t), else_=runs.c.last_time
            ),
            last_step=runs.c.last_step
            if step is None
            else case(
                (or_(runs.c.last_step.is_(None), runs.c.last_step < step), step), else_=runs.c.last_step
            ),
        )
        .returning(runs.c.last_sequence, runs.c.compacted_through)
    ).first()
    if counters is None:
        return None
    sequence, compacted_through = counters
    connection.execute(
        insert(batches).values(
            run_id=run_id,
            sequence=sequence,
            batch_id=batch.batch_id,
            split=batch.split,
            step=step,
            time=t,
            time_given=batch.time_given,
            fingerprint=batch.fingerprint,
            results=batch.results,
            accumulators=pack(batch.accumulators),
        )
    )
    if new_split:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(
            dialect.insert(run_splits)
            .values(run_id=run_id, split=batch.split)
            .on_conflict_do_nothing(index_elements=["run_id", "split"])
        )
    return Recorded(int(sequence), int(sequence - compacted_through))


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
