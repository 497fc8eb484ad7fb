"""SQL for aggregates: reading a window's (with the batches they do not hold), and compaction."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from sqlalchemy import Connection, Row, and_, func, or_, select, true, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from .batches import window as batch_window
from .records import STEP, TIME_LEVELS, Aggregate, AggregateKey, BatchRecord, Cover, Span, StepSums, Window
from .schema import aggregates, batches, runs

MICROSECONDS = 1_000_000

# A compaction's fold: (batches, load) -> the aggregates to write, where load(keys) gives the
# stored aggregates of those keys. The fold is the monitoring layer's: the store merges nothing.
Fold = Callable[
    [list[BatchRecord], Callable[[Collection[AggregateKey]], dict[AggregateKey, Aggregate]]],
    Mapping[AggregateKey, Aggregate],
]


def window_conditions(window: Window) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if window.splits is not None:
        conditions.append(batches.c.split.in_(window.splits))
    if window.stepped or window.step_from is not None or window.step_to is not None:
        conditions.append(batches.c.step.is_not(None))
    if window.step_from is not None:
        conditions.append(batches.c.step >= window.step_from)
    if window.step_to is not None:
        conditions.append(batches.c.step <= window.step_to)
    if window.time_from is not None:
        conditions.append(batches.c.time >= window.time_from)
    if window.time_to is not None:
        conditions.append(batches.c.time < window.time_to)
    return conditions


def _uncovered(spans: Sequence[Span]) -> list[ColumnElement[bool]]:
    """Conditions for the batches of a window that no span holds, each a time range an index can
    serve: the gaps around and between time spans. A by-step span covers the window's whole step
    range (``monitoring.windows`` makes it so), which leaves no gap."""
    if spans[0].kind == STEP:
        return []
    intervals = sorted(
        (
            -math.inf if span.first is None else span.first * MICROSECONDS,
            math.inf if span.last is None else (span.last + TIME_LEVELS[span.kind]) * MICROSECONDS,
        )
        for span in spans
    )
    gaps: list[ColumnElement[bool]] = []
    position = -math.inf
    for start, end in intervals:
        if start > position:
            gaps.append(and_(true(), *_time_range(position, start)))
        position = max(position, end)
    if position < math.inf:
        gaps.append(and_(true(), *_time_range(position, math.inf)))
    return gaps


def _time_range(start: float, end: float) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if start > -math.inf:
        conditions.append(batches.c.time >= int(start))
    if end < math.inf:
        conditions.append(batches.c.time < int(end))
    return conditions


def _keys(span: Span) -> ColumnElement[bool]:
    conditions = [aggregates.c.kind == span.kind]
    if span.first is not None:
        conditions.append(aggregates.c.key >= span.first)
    if span.last is not None:
        conditions.append(aggregates.c.key <= span.last)
    return and_(*conditions)


_COLUMNS = (
    aggregates.c.kind,
    aggregates.c.split,
    aggregates.c.loss,
    aggregates.c.key,
    aggregates.c.batches,
    aggregates.c.first_time,
    aggregates.c.last_time,
    aggregates.c.first_step,
    aggregates.c.last_step,
    aggregates.c.accumulator,
    aggregates.c.count,
    aggregates.c.weight_sum,
    aggregates.c.total,
    aggregates.c.nonfinite,
)


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)  # SQLite keeps NaN as NULL


def _aggregates(rows: Iterable[Row]) -> list[tuple[AggregateKey, Aggregate]]:
    out = []
    for kind, split, loss, key, merged, first, last, first_step, last_step, blob, count, w, t, bad in rows:
        aggregate = Aggregate(
            merged, first, last, first_step, last_step, bytes(blob), count, _float(w), _float(t), bad
        )
        out.append((AggregateKey(kind, split, loss, key), aggregate))
    return out


def _nullable(value: float) -> float | None:
    return None if math.isnan(value) else value


def step_sums(
    connection: Connection, run_ids: Sequence[int], splits: Sequence[str] | None
) -> tuple[list[StepSums], list[tuple[int, BatchRecord]]]:
    """By-step sums of runs, and their stepped batches that no aggregate holds yet."""
    if not run_ids:
        return [], []
    query = select(
        aggregates.c.run_id,
        aggregates.c.split,
        aggregates.c.loss,
        aggregates.c.key,
        aggregates.c.count,
        aggregates.c.weight_sum,
        aggregates.c.total,
        aggregates.c.nonfinite,
    ).where(aggregates.c.run_id.in_(run_ids), aggregates.c.kind == STEP)
    if splits is not None:
        query = query.where(aggregates.c.split.in_(splits))
    sums = [
        StepSums(run_id, split, loss, step, count, _float(w), _float(t), nonfinite)
        for run_id, split, loss, step, count, w, t, nonfinite in connection.execute(query)
    ]
    pending: list[tuple[int, BatchRecord]] = []
    behind = connection.execute(
        select(runs.c.id, runs.c.compacted_through).where(
            runs.c.id.in_(run_ids), runs.c.last_sequence > runs.c.compacted_through
        )
    ).all()
    conditions = [batches.c.step.is_not(None)]
    if splits is not None:
        conditions.append(batches.c.split.in_(splits))
    for run_id, through in behind:
        pending += [(run_id, b) for b in batch_window(connection, run_id, conditions, after_sequence=through)]
    return sums, pending


def pending_runs(connection: Connection, limit: int) -> list[int]:
    rows = connection.execute(
        select(runs.c.id)
        .where(runs.c.last_sequence > runs.c.compacted_through)
        .order_by((runs.c.last_sequence - runs.c.compacted_through).desc())
        .limit(limit)
    )
    return [run_id for (run_id,) in rows]


def read(
    connection: Connection, run_id: int, compacted_through: int, window: Window, cover: Cover
) -> tuple[list[tuple[AggregateKey, Aggregate]], list[BatchRecord]]:
    """A window's aggregates on the cover's spans, and every other batch of the window.

    Aggregates hold the batches up to ``compacted_through``; a batch after it, or on none of the
    spans, is read as a batch. Call inside one read transaction (one snapshot).
    """
    conditions = window_conditions(window)
    if not cover.spans:
        return [], batch_window(connection, run_id, conditions)
    query = select(*_COLUMNS).where(aggregates.c.run_id == run_id, or_(*map(_keys, cover.spans)))
    if window.splits is not None:
        query = query.where(aggregates.c.split.in_(window.splits))
    if cover.losses is not None:
        query = query.where(aggregates.c.loss.in_(cover.losses))
    found = _aggregates(connection.execute(query))
    # The batches no aggregate holds: those recorded since the last compaction, and those outside
    # the spans (at the edges). One query each, so that each runs on an index range.
    rest = {
        b.sequence: b for b in batch_window(connection, run_id, conditions, after_sequence=compacted_through)
    }
    for gap in _uncovered(cover.spans):  # (no sequence bound: the time index serves the range)
        rest.update((b.sequence, b) for b in batch_window(connection, run_id, [*conditions, gap]))
    return found, [rest[sequence] for sequence in sorted(rest)]


def _load(
    connection: Connection, run_id: int, keys: Collection[AggregateKey]
) -> dict[AggregateKey, Aggregate]:
    if not keys:
        return {}
    wanted = [(k.kind, k.split, k.loss, k.key) for k in keys]
    rows = connection.execute(
        select(*_COLUMNS).where(
            aggregates.c.run_id == run_id,
            tuple_(aggregates.c.kind, aggregates.c.split, aggregates.c.loss, aggregates.c.key).in_(wanted),
        )
    )
    return dict(_aggregates(rows))


COMPACTION_LOCK_CLASS = 0x1055


# A run's overview from its by-step sums: (run id, losses JSON, sums) -> JSON kept on the run's row.
Summarize = Callable[[int, str, list[StepSums]], str]


def compact(
    connection: Connection, run_id: int, limit: int, fold: Fold, summarize: Summarize | None = None
) -> int:
    """Fold up to ``limit`` of a run's batches past ``compacted_through`` into its aggregates.

    Returns how many batches were folded (0 when another process is compacting the run, on
    PostgreSQL, or when nothing is pending). Call inside one write transaction: the aggregates and
    the run's ``compacted_through`` change together or not at all.
    """
    if connection.dialect.name == "postgresql":
        got = connection.exec_driver_sql(
            f"SELECT pg_try_advisory_xact_lock({COMPACTION_LOCK_CLASS}, {run_id % 2**31})"
        ).scalar_one()
        if not got:
            return 0
    through = connection.execute(select(runs.c.compacted_through).where(runs.c.id == run_id)).scalar()
    if through is None:
        return 0
    pending = batch_window(connection, run_id, [], after_sequence=through, upto_sequence=through + limit)
    if not pending:
        return 0
    merged = fold(pending, lambda keys: _load(connection, run_id, keys))
    if merged:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(aggregates)
        values = {
            "batches": statement.excluded.batches,
            "first_time": statement.excluded.first_time,
            "last_time": statement.excluded.last_time,
            "first_step": statement.excluded.first_step,
            "last_step": statement.excluded.last_step,
            "accumulator": statement.excluded.accumulator,
            "count": statement.excluded.count,
            "weight_sum": statement.excluded.weight_sum,
            "total": statement.excluded.total,
            "nonfinite": statement.excluded.nonfinite,
        }
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["run_id", "kind", "split", "loss", "key"], set_=values
            ),
            [
                {
                    "run_id": run_id,
                    "kind": key.kind,
                    "split": key.split,
                    "loss": key.loss,
                    "key": key.key,
                    "batches": value.batches,
                    "first_time": value.first_time,
                    "last_time": value.last_time,
                    "first_step": value.first_step,
                    "last_step": value.last_step,
                    "accumulator": value.accumulator,
                    "count": value.count,
                    "weight_sum": _nullable(value.weight_sum),
                    "total": _nullable(value.total),
                    "nonfinite": value.nonfinite,
                }
                for key, value in merged.items()
            ],
        )
    last = pending[-1].sequence
    changes: dict[str, object] = {"compacted_through": last}
    if summarize is not None:
        losses = connection.execute(select(runs.c.losses).where(runs.c.id == run_id)).scalar_one()
        changes["overview"] = summarize(run_id, losses, step_sums(connection, [run_id], None)[0])
    connection.execute(update(runs).where(runs.c.id == run_id).values(**changes))
    return len(pending)


WindowSums = tuple[int, str, int, int, int, float, float, int]


def window_sums(
    connection: Connection, run_ids: Sequence[int], time_from: int
) -> tuple[list[WindowSums], list[tuple[int, BatchRecord]]]:
    """Per (run, split, loss), the sums of the minute aggregates from ``time_from`` (µs) on —
    (run id, split, loss, batches, count, weight_sum, total, nonfinite), NaN where a NULL (NaN)
    took part — and the batches from ``time_from`` on that those aggregates do not hold."""
    if not run_ids:
        return [], []
    minute = TIME_LEVELS[1]
    first_key = -(-time_from // (minute * MICROSECONDS)) * minute
    rows = connection.execute(
        select(
            aggregates.c.run_id,
            aggregates.c.split,
            aggregates.c.loss,
            func.sum(aggregates.c.batches),
            func.sum(aggregates.c.count),
            func.sum(aggregates.c.weight_sum),
            func.sum(aggregates.c.total),
            func.sum(aggregates.c.nonfinite),
            func.count(aggregates.c.total) - func.count(),
        )
        .where(aggregates.c.run_id.in_(run_ids), aggregates.c.kind == 1, aggregates.c.key >= first_key)
        .group_by(aggregates.c.run_id, aggregates.c.split, aggregates.c.loss)
    )
    sums: list[WindowSums] = [
        (
            run_id,
            split,
            loss,
            int(n),
            int(count),
            math.nan if missing else w,
            math.nan if missing else t,
            int(bad),
        )
        for run_id, split, loss, n, count, w, t, bad, missing in rows
    ]
    through = dict(
        connection.execute(select(runs.c.id, runs.c.compacted_through).where(runs.c.id.in_(run_ids))).all()
    )
    rest: list[tuple[int, BatchRecord]] = []
    for run_id, compacted in through.items():
        outside = or_(batches.c.sequence > compacted, batches.c.time < first_key * MICROSECONDS)
        rest += [
            (run_id, b) for b in batch_window(connection, run_id, [batches.c.time >= time_from, outside])
        ]
    return sums, rest
