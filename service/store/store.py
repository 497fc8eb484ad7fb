"""The store: runs and their history in a database, behind plain methods (blocking; call them from
worker threads). Each method is one transaction. Database failures become ``StoreUnavailable``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc

from .aggregates import Fold, Summarize, WindowSums
from .aggregates import compact as compact_sql
from .aggregates import pending_runs as pending_runs_sql
from .aggregates import read as read_window
from .aggregates import step_sums as step_sums_sql
from .aggregates import window_sums as window_sums_sql
from .batches import find, record, taken_ids
from .database import Database
from .errors import DuplicateBatch, StoreUnavailable
from .migrate import current, head, upgrade
from .records import (
    Aggregate,
    AggregateKey,
    BatchRecord,
    Cover,
    NewBatch,
    Recorded,
    RunRecord,
    StepSums,
    Window,
)
from .runs import create as insert_run
from .runs import delete_run as delete_run_row
from .runs import get as run_row
from .runs import page, recent, set_fields, set_tags

# Errors that say the database cannot be reached or cannot take the statement now (not a bug of
# ours): connections refused or dropped, a pool exhausted, a database locked by another writer.
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError)
# SQLite reports its own bugs (no such table, a syntax error) as OperationalError too; these are
# the messages of a database that is busy or out of reach.
SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk", "readonly", "full", "i/o")


def _unavailable(error: Exception) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, UNAVAILABLE):
        return False
    origin = getattr(error, "orig", None)
    if type(origin).__module__.startswith("sqlite3"):
        return any(word in str(origin).lower() for word in SQLITE_UNAVAILABLE)
    return True


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (sa_exc.SQLAlchemyError, sa_exc.DBAPIError) as error:
        if not _unavailable(error):
            raise
        message = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise StoreUnavailable(message[0] if message else type(error).__name__) from error


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with _translated(), self.database.engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with _translated(), self.database.reader.begin() as connection:
            yield connection

    # ---- schema and health ---------------------------------------------------------------------

    def upgrade(self) -> None:
        with _translated():
            upgrade(self.database)

    def ready(self) -> bool:
        """Whether the database answers and its schema is at this code's head (raises if down)."""
        with _translated():
            return current(self.database) == head()

    # ---- runs ------------------------------------------------------------------------------------

    def get_run(self, name: str) -> RunRecord | None:
        with self._read() as connection:
            return run_row(connection, name)

    def create_run(
        self,
        name: str,
        losses: str,
        description: str | None,
        tags: Mapping[str, str],
        now: int,
        alerts: str | None = None,
    ) -> tuple[RunRecord, bool]:
        """The run named ``name``, created from these fields if it does not exist; and whether it was."""
        try:
            with self._write() as connection:
                insert_run(connection, name, losses, description, tags, now, alerts)
                created = run_row(connection, name)
                assert created is not None
                return created, True
        except sa_exc.IntegrityError:
            existing = self.get_run(name)
            if existing is None:  # deleted in between: try once more
                return self.create_run(name, losses, description, tags, now, alerts)
            return existing, False

    def update_run(self, run_id: int, tags: Mapping[str, str] | None, **fields: str | None) -> None:
        """Replace a run's tags (unless None) and set ``description`` or ``alerts`` (JSON) if given."""
        with self._write() as connection:
            if fields:
                set_fields(connection, run_id, **fields)
            if tags is not None:
                set_tags(connection, run_id, tags)

    def list_runs(self, tags: Sequence[tuple[str, str]], limit: int, before: int | None) -> list[RunRecord]:
        with self._read() as connection:
            return page(connection, tags, limit, before)

    def delete_run(self, name: str) -> bool:
        with self._write() as connection:
            return delete_run_row(connection, name)

    # ---- batches ---------------------------------------------------------------------------------

    def record_batches(
        self, items: Sequence[tuple[int, NewBatch, bool]]
    ) -> list[Recorded | DuplicateBatch | None]:
        """Record several batches in one transaction (group commit). Per batch: its ``Recorded``,
        a ``DuplicateBatch`` with the batch already recorded under its batch_id, or None when its
        run is gone. Nothing is answered before the commit.

        The batch ids already taken are looked up first; the others go in one statement per run.
        Should another process insert one of them meanwhile (PostgreSQL), the group is done again
        batch by batch, each under a savepoint.
        """
        try:
            with self._write() as connection:
                outcomes = self._record_group(connection, items)
        except sa_exc.IntegrityError:
            outcomes = self._record_one_by_one(items)
        conflicts = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if conflicts:
            with self._read() as connection:
                for position in conflicts:
                    run_id, batch, _ = items[position]
                    existing = find(connection, run_id, batch.batch_id)
                    # No batch under that id: the run was deleted in between.
                    outcomes[position] = None if existing is None else DuplicateBatch(existing)
        return outcomes

    @staticmethod
    def _record_group(
        connection: Connection, items: Sequence[tuple[int, NewBatch, bool]]
    ) -> list[Recorded | DuplicateBatch | None]:
        """Outcomes in the order of ``items``; None where the batch id is taken (or the run gone)."""
        taken = taken_ids(connection, [(run_id, batch.batch_id) for run_id, batch, _ in items])
        by_run: dict[int, list[int]] = {}
        for position, (run_id, batch, _) in enumerate(items):
            if (run_id, batch.batch_id) not in taken:
                taken.add((run_id, batch.batch_id))  # a second copy within the group is a duplicate
                by_run.setdefault(run_id, []).append(position)
        outcomes: list[Recorded | DuplicateBatch | None] = [None] * len(items)
        for run_id, positions in by_run.items():
            splits = sorted({items[p][1].split for p in positions if items[p][2]})
            recorded = record(connection, run_id, [items[p][1] for p in positions], splits)
            if recorded is not None:  # else the run is gone: None for each
                for position, outcome in zip(positions, recorded, strict=True):
                    outcomes[position] = outcome
        return outcomes

    def _record_one_by_one(
        self, items: Sequence[tuple[int, NewBatch, bool]]
    ) -> list[Recorded | DuplicateBatch | None]:
        outcomes: list[Recorded | DuplicateBatch | None] = []
        with self._write() as connection:
            for run_id, batch, new_split in items:
                savepoint = connection.begin_nested()
                try:
                    recorded = record(connection, run_id, [batch], [batch.split] if new_split else [])
                    savepoint.commit()
                    outcomes.append(None if recorded is None else recorded[0])
                except sa_exc.IntegrityError:
                    savepoint.rollback()
                    outcomes.append(None)
        return outcomes

    def history(
        self, name: str, window: Window, cover: Cover
    ) -> tuple[RunRecord, list[tuple[AggregateKey, Aggregate]], list[BatchRecord]] | None:
        """A run and a window of its history, from one snapshot (None if the run does not exist)."""
        with self._read() as connection:
            run = run_row(connection, name)
            if run is None:
                return None
            found, rest = read_window(connection, run.id, run.compacted_through, window, cover)
            return run, found, rest

    def step_sums(
        self, run_ids: Sequence[int], splits: Sequence[str] | None = None
    ) -> tuple[list[StepSums], list[tuple[int, BatchRecord]]]:
        """From one snapshot: the by-step aggregates' sums of these runs, and their batches with a
        step that no aggregate holds yet (run id, batch)."""
        with self._read() as connection:
            return step_sums_sql(connection, run_ids, splits)

    def recent_runs(self, since: int, limit: int) -> tuple[list[RunRecord], int]:
        """Runs with a batch at or after ``since`` (µs), latest first (at most ``limit``), and how
        many there are in all."""
        with self._read() as connection:
            return recent(connection, since, limit)

    def window_sums(
        self, run_ids: Sequence[int], time_from: int
    ) -> tuple[list[WindowSums], list[tuple[int, BatchRecord]]]:
        """Per (run, split, loss), sums from ``time_from`` on from minute aggregates, and the
        batches they do not hold, from one snapshot."""
        with self._read() as connection:
            return window_sums_sql(connection, run_ids, time_from)

    def pending_runs(self, limit: int) -> list[int]:
        """Runs with batches not yet folded into aggregates (most behind first)."""
        with self._read() as connection:
            return pending_runs_sql(connection, limit)

    def compact(
        self,
        run_id: int,
        limit: int,
        fold: Fold,
        summarize: Summarize | None = None,
    ) -> int:
        """Fold up to ``limit`` pending batches of a run into its aggregates (0: nothing to do, or
        another process is at it), and keep the run's overview with ``summarize``."""
        with self._write() as connection:
            return compact_sql(connection, run_id, limit, fold, summarize)
