"""Runs and their history: the operations of SPEC §7 over the store and the loss core.

``Monitor`` is asynchronous and never blocks the event loop: every database call runs on a worker
thread — writes on the writer threads (one for SQLite, which takes one writer at a time anyway;
the pool size for PostgreSQL), reads on the reader threads. It keeps per process a cache of the
runs it has written to (id and loss specs); a run deleted or re-created elsewhere is noticed by its
id, which is never reused.

Recording a batch: evaluate it with the run's losses (``Options(accumulate=True)``), then insert it
with one accumulator per loss and a fingerprint of its content. The batches that arrive while a
write is under way are written together (group commit: one transaction, one multi-row insert per
run) and each is answered after that commit. A ``batch_id`` already recorded is a duplicate when
the fingerprint, split, step and (if both were given) time agree, else a conflict. Nothing is
written before the evaluation succeeded. Once ``COMPACT_AFTER`` batches are pending, and every
``SWEEP_SECONDS`` for runs that have gone quiet, the run is compacted in the background; reads
merge the pending batches themselves, so answers never depend on whether compaction has run.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

import numpy as np
import orjson
import xxhash

from .. import metrics
from ..losses import registry
from ..losses.accumulate import Summary, Sums, Transform
from ..losses.evaluate import LossResult, LossSpec, Options, evaluate
from ..store import DuplicateBatch, NewBatch, Recorded, RunRecord, Store, StoreUnavailable, connect
from .alerts import AlertRule, RuleState, judge
from .compaction import COMPACT_AFTER, COMPACT_LIMIT, fold, overview_json
from .diagnostics import Diagnostics, DiagnosticsParams, diagnose
from .errors import BatchConflict, InvalidQuery, RunConflict, UnknownRun
from .history import (
    STEP_SERIES,
    Merged,
    Point,
    StepSeries,
    finalize,
    pieces,
    series,
    summarize,
    values_by_step,
)
from .names import DEFAULT_SPLIT
from .overview import RunOverview, overview_of
from .specs import canonical, specs_of
from .windows import MICROSECONDS, Query, step_series_cover, summary_cover, time_series_cover

logger = logging.getLogger("service.monitoring")
T = TypeVar("T")

# Every worker looks for runs with pending batches this often (seconds) and compacts them.
SWEEP_SECONDS = 2.0
# Migrations that failed at start (the database is down) are retried this often, in seconds.
MIGRATION_RETRY = (1.0, 30.0)


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class Run:
    """A run as the service knows it: the stored record and its loss specs."""

    record: RunRecord
    specs: tuple[LossSpec, ...]

    @property
    def id(self) -> int:
        return self.record.id

    def losses(self) -> list[dict[str, Any]]:
        parsed: list[dict[str, Any]] = orjson.loads(self.record.losses)
        return parsed

    def alerts(self) -> list[AlertRule]:
        return [AlertRule.model_validate(rule) for rule in orjson.loads(self.record.alerts or "[]")]

    def transform(self, loss: int) -> Transform | None:
        return self.specs[loss].definition.transform

    def loss_index(self, name: str | None, location: str = "query.loss") -> int:
        """The index of the one loss called ``name`` (optional when the run has one loss)."""
        if name is None:
            if len(self.specs) == 1:
                return 0
            have = ", ".join(s.definition.name for s in self.specs)
            raise InvalidQuery(f"Run {self.record.name!r} has several losses ({have}); name one.", location)
        indices = self.loss_indices([name], location)
        if len(indices) > 1:
            raise InvalidQuery(
                f"Run {self.record.name!r} has {len(indices)} losses named {name!r} (with other parameters); "
                "diagnostics take one.",
                location,
            )
        return indices[0]

    def loss_indices(self, names: Sequence[str] | None, location: str = "query.loss") -> tuple[int, ...]:
        """Indices of the run's losses with these names or aliases (None: all)."""
        if not names:
            return tuple(range(len(self.specs)))
        indices: list[int] = []
        for name in names:
            canonical_name = registry.get(name).name if registry.is_name(name) else name
            matches = [i for i, s in enumerate(self.specs) if s.definition.name == canonical_name]
            if not matches:
                have = ", ".join(sorted({s.definition.name for s in self.specs}))
                raise InvalidQuery(
                    f"Run {self.record.name!r} has no loss {name!r}; it has: {have}.", location
                )
            indices += [i for i in matches if i not in indices]
        return tuple(sorted(indices))


@dataclass(frozen=True)
class BatchFields:
    split: str = DEFAULT_SPLIT
    step: int | None = None
    time: int | None = None  # µs; None: the time the request arrived
    batch_id: str | None = None


@dataclass(frozen=True)
class BatchOutcome:
    run: str
    batch_id: str
    sequence: int
    split: str
    step: int | None
    time: int
    duplicate: bool
    results: list[LossResult] | None  # None for a duplicate: ``stored`` holds its values
    stored: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class WindowSummary:
    split: str
    spec: dict[str, Any]
    merged: Merged
    summary: Summary


@dataclass(frozen=True)
class SeriesLine:
    split: str
    spec: dict[str, Any]
    points: list[tuple[Point, Summary]]


def scalar_results(results: Sequence[LossResult]) -> list[dict[str, Any]]:
    """The values a batch was answered with (what a duplicate of it is answered with)."""
    return [
        {
            "loss": r.loss,
            "params": r.params,
            "reduction": r.reduction,
            "value": r.value,
            "count": r.count,
            "weight_sum": r.weight_sum,
            "omitted": r.omitted,
            "ignored": r.ignored,
            "clipped": r.clipped,
        }
        for r in results
    ]


def fingerprint(
    predictions: np.ndarray,
    targets: np.ndarray | None,
    weights: np.ndarray | None,
    nan_policy: str,
    fields: BatchFields,
) -> bytes:
    """A 128-bit hash of what a batch records: its arrays (as float64), split, step and nan_policy.

    The same numbers sent as JSON, base64 or NPZ give the same fingerprint.
    """
    digest = xxhash.xxh3_128()
    digest.update(orjson.dumps([fields.split, fields.step, nan_policy]))
    for array in (predictions, targets, weights):
        if array is None:
            digest.update(b"none")
            continue
        data = np.ascontiguousarray(array, dtype=np.float64)
        digest.update(orjson.dumps(list(data.shape)))
        digest.update(data.data)
    return digest.digest()


class Monitor:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        timeout: float = 5.0,
        sqlite_synchronous: str = "normal",
    ) -> None:
        self.database = connect(
            url,
            busy_timeout=timeout,
            synchronous=sqlite_synchronous,
            pool_size=pool_size,
            connect_timeout=timeout,
        )
        self.store = Store(self.database)
        self._threads = {"write": 1 if self.database.backend == "sqlite" else pool_size, "read": pool_size}
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._runs: dict[str, Run] = {}
        self._splits: dict[int, set[str]] = {}
        self._migrated = False
        self._migrating: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._compacting: set[int] = set()
        self._queued: list[
            tuple[tuple[int, NewBatch, bool], asyncio.Future[Recorded | DuplicateBatch | None]]
        ] = []
        self._flushing = False

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Migrate the schema now, or keep trying in the background while the database is down."""
        try:
            await self._ensure_migrated()
        except StoreUnavailable as error:
            logger.warning("history database unavailable at start (%s); retrying in the background", error)
            self._spawn(self._migrate_until_done())
        self._spawn(self.sweep())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for executor in self._executors.values():
            executor.shutdown(wait=True)
        self._executors.clear()  # (a restarted app makes new ones)
        self.database.dispose()

    async def _migrate_until_done(self) -> None:
        delay, longest = MIGRATION_RETRY
        while not self._migrated:
            await asyncio.sleep(delay)
            try:
                await self._ensure_migrated()
            except StoreUnavailable as error:
                logger.warning("history database still unavailable (%s)", error)
                delay = min(2 * delay, longest)
        logger.info("history database migrated and ready")

    async def _ensure_migrated(self) -> None:
        if self._migrated:
            return
        if self._migrating is None:
            self._migrating = asyncio.Lock()
        async with self._migrating:
            if not self._migrated:
                await self._call("write", "migrate", self.store.upgrade)
                self._migrated = True

    async def ready(self) -> bool:
        """Whether the history database answers and is migrated."""
        try:
            await self._ensure_migrated()
            return await self._call("read", "ping", self.store.ready)
        except StoreUnavailable:
            return False

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, kind: str, operation: str, function: Callable[..., T], *args: Any) -> T:
        """Run a store call on a writer (``kind="write"``) or reader thread, timed in the metrics."""
        executor = self._executors.get(kind)
        if executor is None:
            executor = ThreadPoolExecutor(self._threads[kind], thread_name_prefix=f"store-{kind}")
            self._executors[kind] = executor
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        try:
            return await loop.run_in_executor(executor, partial(function, *args))
        finally:
            metrics.store_operation(operation, time.perf_counter() - start)

    async def _read(self, operation: str, function: Callable[..., T], *args: Any) -> T:
        await self._ensure_migrated()
        return await self._call("read", operation, function, *args)

    async def _write(self, operation: str, function: Callable[..., T], *args: Any) -> T:
        await self._ensure_migrated()
        return await self._call("write", operation, function, *args)

    # ---- runs ----------------------------------------------------------------------------------------

    async def _run(self, name: str, cached: bool = True) -> Run:
        run = self._runs.get(name) if cached else None
        if run is None:
            record = await self._read("get_run", self.store.get_run, name)
            if record is None:
                self._runs.pop(name, None)
                raise UnknownRun(name)
            run = Run(record, specs_of(record.losses))
            self._runs[name] = run
            self._splits[run.id] = set(record.splits)
        return run

    async def get_run(self, name: str) -> Run:
        return await self._run(name, cached=False)

    async def put_run(
        self,
        name: str,
        specs: Sequence[LossSpec],
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        alerts: Sequence[AlertRule] | None = None,
        given: Collection[str] = (),
    ) -> tuple[Run, bool]:
        """Create a run, or find it with the same losses and replace the fields ``given``
        (``description``, ``tags``, ``alerts``); a run's losses never change."""
        losses = orjson.dumps(canonical(specs)).decode()
        rules = None if alerts is None else _rules_json(name, specs, alerts)
        record, created = await self._write(
            "create_run", self.store.create_run, name, losses, description, tags or {}, now_us(), rules
        )
        if not created and record.losses != losses:
            raise RunConflict(
                f"Run {name!r} exists with losses {record.losses}; a run's losses cannot change. "
                "Delete it first, or use another name.",
                "body.losses",
            )
        fields: dict[str, str | None] = {}
        if "description" in given and not created:
            fields["description"] = description
        if rules is not None and not created:
            fields["alerts"] = rules
        changed_tags = tags if "tags" in given and not created else None
        if fields or changed_tags is not None:
            await self._write("update_run", partial(self.store.update_run, record.id, changed_tags, **fields))
        run = await self._run(name, cached=False)
        return run, created

    async def list_runs(self, tags: Sequence[tuple[str, str]], limit: int, before: int | None) -> list[Run]:
        records = await self._read("list_runs", self.store.list_runs, tags, limit, before)
        return [Run(r, specs_of(r.losses)) for r in records]

    async def delete_run(self, name: str) -> None:
        self._runs.pop(name, None)
        if not await self._write("delete_run", self.store.delete_run, name):
            raise UnknownRun(name)

    # ---- batches ---------------------------------------------------------------------------------------

    async def log_batch(
        self,
        name: str,
        predictions: np.ndarray,
        targets: np.ndarray | None,
        weights: np.ndarray | None,
        options: Options,
        fields: BatchFields,
        offload: bool = False,
    ) -> BatchOutcome:
        """Evaluate a batch with the run's losses and record it (see the module docstring)."""
        arrived = now_us()
        for attempt in range(2):
            run = await self._run(name, cached=attempt == 0)
            work = partial(
                evaluate, run.specs, predictions, targets, weights, replace(options, accumulate=True)
            )
            results = await asyncio.to_thread(work) if offload else work()
            batch = NewBatch(
                batch_id=fields.batch_id or uuid.uuid4().hex,
                split=fields.split,
                step=fields.step,
                time=arrived if fields.time is None else fields.time,
                time_given=fields.time is not None,
                fingerprint=fingerprint(predictions, targets, weights, options.nan_policy, fields),
                results=orjson.dumps(scalar_results(results)),
                accumulators=[r.accumulator.to_bytes() for r in results if r.accumulator is not None],
            )
            new_split = fields.split not in self._splits.setdefault(run.id, set())
            recorded = await self._record(run.id, batch, new_split)
            if isinstance(recorded, DuplicateBatch):
                return self._duplicate(name, batch, recorded)
            if recorded is None:  # deleted (and perhaps re-created) by another process
                self._runs.pop(name, None)
                continue
            self._splits[run.id].add(fields.split)
            metrics.batch_recorded()
            if recorded.pending >= COMPACT_AFTER:
                self.schedule_compaction(run.id)
            return BatchOutcome(
                name, batch.batch_id, recorded.sequence, batch.split, batch.step, batch.time, False, results
            )
        raise UnknownRun(name)

    async def _record(
        self, run_id: int, batch: NewBatch, new_split: bool
    ) -> Recorded | DuplicateBatch | None:
        """Record a batch together with the batches that arrive while a write is under way: one
        transaction (group commit) for all of them, answered after its commit."""
        await self._ensure_migrated()
        future: asyncio.Future[Recorded | DuplicateBatch | None] = asyncio.get_running_loop().create_future()
        self._queued.append(((run_id, batch, new_split), future))
        if not self._flushing:
            self._flushing = True
            self._spawn(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queued:
                group, self._queued = self._queued, []
                try:
                    outcomes = await self._call(
                        "write", "record_batch", self.store.record_batches, [g[0] for g in group]
                    )
                except BaseException as error:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                metrics.batches_grouped(len(group))
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
        finally:
            self._flushing = False

    @staticmethod
    def _duplicate(name: str, batch: NewBatch, duplicate: DuplicateBatch) -> BatchOutcome:
        stored = duplicate.existing
        differs = [
            field
            for field, same in (
                ("split", stored.split == batch.split),
                ("step", stored.step == batch.step),
                ("time", not (stored.time_given and batch.time_given) or stored.time == batch.time),
                ("arrays or nan_policy", stored.fingerprint == batch.fingerprint),
            )
            if not same
        ]
        if differs:
            raise BatchConflict(
                f"batch_id {batch.batch_id!r} is already recorded in run {name!r} with other content "
                f"({', '.join(differs)} differ); a retry sends the same batch, a new batch a new batch_id.",
                "body.batch_id",
            )
        metrics.batch_recorded(duplicate=True)
        return BatchOutcome(
            name,
            stored.batch_id,
            stored.sequence,
            stored.split,
            stored.step,
            stored.time,
            True,
            None,
            orjson.loads(stored.results),
        )

    # ---- compaction ------------------------------------------------------------------------------------

    def schedule_compaction(self, run_id: int) -> None:
        if run_id not in self._compacting:
            self._compacting.add(run_id)
            self._spawn(self._compact(run_id))

    async def _compact(self, run_id: int) -> None:
        try:
            while (
                await self._write("compact", self.store.compact, run_id, COMPACT_LIMIT, fold, overview_json)
                >= COMPACT_LIMIT
            ):
                pass
        except StoreUnavailable as error:
            logger.warning("compaction of run %d postponed: %s", run_id, error)
        finally:
            self._compacting.discard(run_id)

    async def compact_now(self, name: str) -> None:
        """Fold every pending batch of a run (used by tests and benchmarks)."""
        run = await self._run(name, cached=False)
        while await self._write("compact", self.store.compact, run.id, COMPACT_LIMIT, fold, overview_json):
            pass

    # ---- history ---------------------------------------------------------------------------------------

    async def _history(
        self, name: str, query: Query, cover: Any, losses: Sequence[str] | None
    ) -> tuple[Run, list[Any]]:
        found = await self._read("history", self.store.history, name, query.window, cover)
        if found is None:
            raise UnknownRun(name)
        record, aggregates, batches = found
        run = Run(record, specs_of(record.losses))
        indices = run.loss_indices(losses)
        if len(batches) >= 2 * COMPACT_AFTER:
            self.schedule_compaction(run.id)
        return run, pieces(aggregates, batches, indices)

    async def summary(
        self, name: str, query: Query, losses: Sequence[str] | None, reduction: str
    ) -> tuple[Run, list[WindowSummary]]:
        run, items = await self._history(name, query, summary_cover(query), losses)
        specs = run.losses()
        out = []
        for merged in summarize(items):
            definition = run.specs[merged.loss].definition
            _check_reduction(definition.name, definition.reductions, reduction)
            (summary,) = finalize([merged], reduction, definition.transform)
            out.append(WindowSummary(merged.split, specs[merged.loss], merged, summary))
        return run, out

    async def series(
        self,
        name: str,
        query: Query,
        losses: Sequence[str] | None,
        reduction: str,
        by: str,
        interval: int,
        max_points: int,
    ) -> tuple[Run, list[SeriesLine], int]:
        cover = step_series_cover(query) if by == STEP_SERIES else time_series_cover(query, interval)
        run, items = await self._history(name, query, cover, losses)
        specs = run.losses()
        lines, factor = series(items, by, interval, max_points)
        out = []
        for (split, loss), points in lines.items():
            definition = run.specs[loss].definition
            _check_reduction(definition.name, definition.reductions, reduction)
            summaries = finalize([p.merged for p in points], reduction, definition.transform)
            out.append(SeriesLine(split, specs[loss], list(zip(points, summaries, strict=True))))
        return run, out, factor

    # ---- diagnostics, alerts, and what a list of runs shows --------------------------------------------

    async def _step_series(
        self, runs: Sequence[Run], splits: Sequence[str] | None = None
    ) -> dict[tuple[int, int], dict[str, StepSeries]]:
        sums, pending = await self._read("step_sums", self.store.step_sums, [r.id for r in runs], splits)
        transforms = {(r.id, i): r.transform(i) for r in runs for i in range(len(r.specs))}
        return values_by_step(sums, pending, transforms)

    async def diagnostics(
        self, name: str, loss: str | None, params: DiagnosticsParams
    ) -> tuple[Run, int, Diagnostics, list[RuleState]]:
        """The diagnostics of one loss of a run (SPEC §7), and the states of the run's alert rules."""
        run = await self.get_run(name)
        index = run.loss_index(loss)
        series = (await self._step_series([run])).get((run.id, index), {})
        return run, index, diagnose(series, params), await self.rule_states(run)

    async def rule_states(self, run: Run, now: int | None = None) -> list[RuleState]:
        """Each alert rule of the run judged on its window ending now."""
        now = now_us() if now is None else now
        states = []
        for rule in run.alerts():
            query = Query(splits=(rule.split,), time_from=now - rule.window * MICROSECONDS, time_to=now)
            _, summaries = await self.summary(run.record.name, query, [rule.loss], rule.reduction)
            found = [s for s in summaries if s.spec["name"] == registry.get(rule.loss).name]
            value = found[0].summary.value if found else None
            states.append(judge(rule, value, found[0].merged.batches if found else 0))
        return states

    async def overview(self, runs: Sequence[Run]) -> dict[int, RunOverview]:
        """Each run's overview (``overview.py``): read from the run's row where every batch is
        folded into aggregates, computed from the by-step sums and pending batches elsewhere."""
        out = {
            run.id: RunOverview.from_json(run.record.overview)
            for run in runs
            if run.record.overview is not None and run.record.compacted_through == run.record.last_sequence
        }
        behind = [run for run in runs if run.id not in out]
        if behind:
            series = await self._step_series(behind)
            for run in behind:
                by_loss = {loss: series.get((run.id, loss), {}) for loss in range(len(run.specs))}
                out[run.id] = overview_of(by_loss, len(run.specs))
        return out

    async def recent_runs(self, since: int, limit: int) -> tuple[list[Run], int]:
        """Runs with a batch at or after ``since`` (µs), latest first, and how many there are."""
        records, total = await self._read("recent_runs", self.store.recent_runs, since, limit)
        return [Run(r, specs_of(r.losses)) for r in records], total

    async def window_values(
        self, runs: Sequence[Run], since: int
    ) -> dict[tuple[int, str, int], tuple[float, int]]:
        """Per (run id, split, loss index): the value (mean) from ``since`` (µs) on, and its batches.

        From the minute aggregates' sums and the batches they do not hold (headers only)."""
        sums, rest = await self._read("window_sums", self.store.window_sums, [r.id for r in runs], since)
        cells: dict[tuple[int, str, int], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0])
        for run_id, split, loss, batches, count, weight_sum, total, nonfinite in sums:
            for position, amount in enumerate((batches, count, weight_sum, total, nonfinite)):
                cells[run_id, split, loss][position] += amount
        for run_id, batch in rest:
            for loss, blob in enumerate(batch.accumulators):
                more = Sums.of_blob(blob)
                for position, amount in enumerate(
                    (1, more.count, more.weight_sum, more.total, more.nonfinite)
                ):
                    cells[run_id, batch.split, loss][position] += amount
        by_id = {run.id: run for run in runs}
        return {
            key: (
                Sums(int(c[1]), c[2], c[3], int(c[4])).value("mean", by_id[key[0]].transform(key[2])),
                int(c[0]),
            )
            for key, c in cells.items()
        }

    # ---- compaction of runs that have gone quiet --------------------------------------------------------

    async def sweep(self, interval: float = SWEEP_SECONDS) -> None:
        """Fold the pending batches of every run, every ``interval`` seconds: runs that stopped
        receiving batches do not keep them pending (the runs list reads only aggregates' sums)."""
        while True:
            await asyncio.sleep(interval)
            try:
                for run_id in await self._read("pending_runs", self.store.pending_runs, 100):
                    self.schedule_compaction(run_id)
            except StoreUnavailable:
                continue


def _rules_json(name: str, specs: Sequence[LossSpec], rules: Sequence[AlertRule]) -> str:
    names = [rule.name for rule in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidQuery(
            f"Alert rule names must be unique; repeated: {', '.join(duplicates)}.", "body.alerts"
        )
    losses = {s.definition.name for s in specs}
    stored = []
    for i, rule in enumerate(rules):
        canonical_name = registry.get(rule.loss).name if registry.is_name(rule.loss) else None
        if canonical_name not in losses:
            raise InvalidQuery(
                f"Alert rule {rule.name!r} names loss {rule.loss!r}, which run {name!r} does not have "
                f"({', '.join(sorted(losses))}).",
                f"body.alerts[{i}].loss",
            )
        stored.append({**rule.model_dump(), "loss": canonical_name})
    return orjson.dumps(stored).decode()


def _check_reduction(name: str, allowed: Sequence[str], reduction: str) -> None:
    if reduction not in allowed:
        raise InvalidQuery(
            f"{name} supports reduction {', '.join(map(repr, allowed))} only; got {reduction!r}.",
            "query.reduction",
        )
