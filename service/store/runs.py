"""SQL for runs, their tags and splits (functions of an open connection)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, Row, and_, delete, func, insert, select, update

from .records import RunRecord
from .schema import run_splits, run_tags, runs

_RUN_COLUMNS = (
    runs.c.id,
    runs.c.name,
    runs.c.losses,
    runs.c.description,
    runs.c.created_at,
    runs.c.batches,
    runs.c.last_sequence,
    runs.c.compacted_through,
    runs.c.first_time,
    runs.c.last_time,
    runs.c.last_step,
    runs.c.alerts,
    runs.c.overview,
)


def _records(connection: Connection, rows: Sequence[Row]) -> list[RunRecord]:
    """Run rows with their tags and splits (two queries for any number of runs)."""
    ids = [row.id for row in rows]
    tags: dict[int, dict[str, str]] = {i: {} for i in ids}
    splits: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for run_id, key, value in connection.execute(
            select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value)
            .where(run_tags.c.run_id.in_(ids))
            .order_by(run_tags.c.key)
        ):
            tags[run_id][key] = value
        for run_id, split in connection.execute(
            select(run_splits.c.run_id, run_splits.c.split)
            .where(run_splits.c.run_id.in_(ids))
            .order_by(run_splits.c.split)
        ):
            splits[run_id].append(split)
    return [
        RunRecord(
            id=row.id,
            name=row.name,
            losses=row.losses,
            description=row.description,
            tags=tags[row.id],
            created_at=row.created_at,
            batches=row.batches,
            last_sequence=row.last_sequence,
            compacted_through=row.compacted_through,
            first_time=row.first_time,
            last_time=row.last_time,
            last_step=row.last_step,
            splits=tuple(splits[row.id]),
            alerts=row.alerts,
            overview=row.overview,
        )
        for row in rows
    ]


def get(connection: Connection, name: str) -> RunRecord | None:
    rows = connection.execute(select(*_RUN_COLUMNS).where(runs.c.name == name)).all()
    return _records(connection, rows)[0] if rows else None


def create(
    connection: Connection,
    name: str,
    losses: str,
    description: str | None,
    tags: Mapping[str, str],
    created_at: int,
    alerts: str | None = None,
) -> int:
    """Insert a run (IntegrityError if the name exists); its id."""
    run_id = connection.execute(
        insert(runs)
        .values(
            name=name,
            losses=losses,
            description=description,
            created_at=created_at,
            last_sequence=0,
            batches=0,
            compacted_through=0,
            alerts=alerts,
        )
        .returning(runs.c.id)
    ).scalar_one()
    set_tags(connection, run_id, tags)
    return int(run_id)


def set_tags(connection: Connection, run_id: int, tags: Mapping[str, str]) -> None:
    connection.execute(delete(run_tags).where(run_tags.c.run_id == run_id))
    if tags:
        connection.execute(
            insert(run_tags), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        )


def set_fields(connection: Connection, run_id: int, **fields: str | None) -> None:
    """Set a run's description or alerts (JSON)."""
    connection.execute(update(runs).where(runs.c.id == run_id).values(**fields))


def page(
    connection: Connection, tags: Sequence[tuple[str, str]], limit: int, before: int | None
) -> list[RunRecord]:
    """Runs with every one of ``tags``, newest first, ids below ``before``; at most ``limit``."""
    query = select(*_RUN_COLUMNS)
    for key, value in tags:
        tagged = select(run_tags.c.run_id).where(and_(run_tags.c.key == key, run_tags.c.value == value))
        query = query.where(runs.c.id.in_(tagged))
    if before is not None:
        query = query.where(runs.c.id < before)
    rows = connection.execute(query.order_by(runs.c.id.desc()).limit(limit)).all()
    return _records(connection, rows)


def delete_run(connection: Connection, name: str) -> bool:
    """Delete a run; its tags, splits, batches and aggregates go with it (ON DELETE CASCADE)."""
    return bool(connection.execute(delete(runs).where(runs.c.name == name)).rowcount)


def recent(connection: Connection, since: int, limit: int) -> tuple[list[RunRecord], int]:
    """Runs whose last batch time is at or after ``since`` (µs), latest first, at most ``limit``;
    and how many such runs there are in all."""
    condition = runs.c.last_time >= since
    total = connection.execute(select(func.count()).select_from(runs).where(condition)).scalar_one()
    rows = connection.execute(
        select(*_RUN_COLUMNS).where(condition).order_by(runs.c.last_time.desc()).limit(limit)
    ).all()
    return _records(connection, rows), int(total)
