"""Run-history benchmarks: batch ingest against evaluate, and reads of a long run, on SQLite and
PostgreSQL, as ratios and times from one run on one machine.

    python -m benchmarks.history                       # every section, both backends
    python -m benchmarks.history --only reads --backends sqlite
    python -m benchmarks.history --quick

Sections:
- ``large``: POST a 1M-element NPZ batch vs POST /v1/evaluate with the same body (same server),
  with and without a client batch_id (the fingerprint for idempotency is computed only with one).
- ``small``: 100-element batches (each committed) vs 100-element evaluations, wrk, 32 connections.
- ``list``: GET /v1/runs of 1,000 runs of 50 steps each, with every run's diagnostics status.
- ``reads``: a run of 100,000 batches (100 samples each) on 1,000 steps and two splits, written
  straight into the tables and compacted, then GET summary and series (500 points) from a server:
  median client-measured latency; and the storage per (batch, loss).

PostgreSQL: a server at 127.0.0.1:5432 with trust authentication (user postgres), or --postgres
with an admin URL; a database is created for the run and dropped after it.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service import tuning

tuning.apply()

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402

from service.losses import evaluate, get  # noqa: E402
from service.losses.evaluate import LossSpec, Options  # noqa: E402
from service.monitoring.runs import (  # noqa: E402
    BatchFields,  # noqa: E402
    Monitor,
    fingerprint,
    scalar_results,
)
from service.store import schema  # noqa: E402
from service.store.records import pack  # noqa: E402

from .bench import (  # noqa: E402
    WRK_SCRIPT,
    data,
    fmt_ms,
    npz_body,
    print_header,
    record,
    request,
    section_parser,
    server,
    timed_post,
    wrk,
)

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def history_database(backend: str, admin: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="loss-service-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'history.db'}"
        return
    name = f"loss_service_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def put_run(port: int, name: str, losses: list[object]) -> None:
    status, content = request(
        port,
        "PUT",
        f"/v1/runs/{name}",
        json.dumps({"losses": losses}).encode(),
        {"Content-Type": "application/json"},
    )
    if status not in (200, 201):
        raise RuntimeError(f"PUT run: {status} {content[:200]!r}")


def large(backend: str, url: str, quick: bool) -> None:
    """1M-element NPZ batch vs the same NPZ body evaluated (same server)."""
    p, t = data(1_000_000)
    repeats = 5 if quick else 9
    evaluate_body = npz_body(p, t, {"losses": ["mse"], "include": ["stats"]})
    batch_body = npz_body(p, t, {"include": ["stats"]})
    with server("ours", database_url=url) as (port, _):
        put_run(port, "large", ["mse"])
        plain = evaluate_time = 0.0
        for _ in range(2):  # interleaved, best of two medians each
            e = timed_post(port, evaluate_body, "application/x-npz", repeats)
            b = timed_post(port, batch_body, "application/x-npz", repeats, "/v1/runs/large/batches")
            evaluate_time = e if not evaluate_time else min(evaluate_time, e)
            plain = b if not plain else min(plain, b)
        record(
            "history",
            f"POST a 1M-element NPZ batch, mse, no batch_id ({backend})",
            fmt_ms(plain),
            f"POST /v1/evaluate same body {fmt_ms(evaluate_time)}",
            plain / evaluate_time,
            "<= 1.3",
            lambda r: r <= 1.3,
        )
        # With a client batch_id: every request a new one, so each is fingerprinted and recorded.
        times = []
        for i in range(repeats + 1):
            body = npz_body(p, t, {"include": ["stats"], "batch_id": f"b-{uuid.uuid4().hex}"})
            start = time.perf_counter()
            status, _ = request(
                port, "POST", "/v1/runs/large/batches", body, {"Content-Type": "application/x-npz"}
            )
            if status != 201:
                raise RuntimeError(f"batch: status {status}")
            if i:
                times.append(time.perf_counter() - start)
        with_id = statistics.median(times)
        record(
            "history",
            f"POST a 1M-element NPZ batch, mse, with batch_id ({backend})",
            fmt_ms(with_id),
            f"POST /v1/evaluate same body {fmt_ms(evaluate_time)}",
            with_id / evaluate_time,
            "<= 1.3",
            lambda r: r <= 1.3,
        )


def small(backend: str, url: str, quick: bool) -> None:
    """100-element batches (each committed) vs 100-element evaluations, 1 worker, wrk 32 connections."""
    p, t = data(100)
    arrays = {"predictions": p.tolist(), "targets": t.tolist()}
    seconds = 3 if quick else 8
    describe = "{rps:.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, {errors:.0f} errors"
    with tempfile.TemporaryDirectory() as tmp, server("ours", database_url=url) as (port, _):
        put_run(port, "small", ["mse"])
        script = Path(tmp, "post.lua")
        script.write_text(WRK_SCRIPT)
        evaluate_file, batch_file = Path(tmp, "evaluate.json"), Path(tmp, "batch.json")
        evaluate_file.write_text(json.dumps({"losses": ["mse"], "include": ["stats"], **arrays}))
        batch_file.write_text(json.dumps({"include": ["stats"], "split": "train", **arrays}))
        best: dict[str, dict[str, float]] = {}
        for _ in range(2):
            for name, body_file, path in (
                ("evaluate", evaluate_file, "/v1/evaluate"),
                ("batch", batch_file, "/v1/runs/small/batches"),
            ):
                result = wrk(port, str(body_file), seconds, str(script), path)
                if name not in best or result["rps"] > best[name]["rps"]:
                    best[name] = result
        record(
            "history",
            f"100-element batches, each committed, 1 worker, wrk 32 connections ({backend})",
            describe.format(**best["batch"]),
            "evaluate: " + describe.format(**best["evaluate"]),
            best["batch"]["rps"] / best["evaluate"]["rps"],
            ">= 0.5",
            lambda r: r >= 0.5,
        )


BATCHES, STEPS, SAMPLES = 100_000, 1_000, 100
START = 1_767_225_600 * 1_000_000  # 2026-01-01, one batch a second


def write_run(
    monitor: Monitor, name: str, batches: int, steps: int, samples: int, rng: np.random.Generator
) -> tuple[list[int], float]:
    """A run of ``batches`` batches of MSE on ``steps`` steps (train and validation in turn, one a
    second), evaluated with the core and written straight into the tables, then compacted; the
    sizes of the batches' accumulators and the seconds compaction took."""
    spec = LossSpec(get("mse"), get("mse").params())
    run, _ = asyncio.run(monitor.put_run(name, [spec]))
    rows, sizes = [], []
    for i in range(batches):
        p, t = rng.normal(size=samples), rng.normal(size=samples)
        (result,) = evaluate([spec], p, t, None, Options(include=frozenset(), accumulate=True))
        assert result.accumulator is not None
        blob = result.accumulator.to_bytes()
        sizes.append(len(blob))
        fields = BatchFields(
            "train" if i % 2 == 0 else "validation", i * steps // batches, START + i * 1_000_000
        )
        rows.append(
            {
                "run_id": run.id,
                "sequence": i + 1,
                "batch_id": uuid.uuid4().hex,
                "split": fields.split,
                "step": fields.step,
                "time": fields.time,
                "time_given": True,
                "fingerprint": fingerprint(p, t, None, "raise", fields),
                "results": json.dumps(scalar_results([result])).encode(),
                "accumulators": pack([blob]),
            }
        )
    with monitor.database.engine.begin() as connection:
        for chunk in range(0, len(rows), 5000):
            connection.execute(insert(schema.batches), rows[chunk : chunk + 5000])
        connection.execute(
            update(schema.runs)
            .where(schema.runs.c.id == run.id)
            .values(
                last_sequence=batches,
                batches=batches,
                first_time=START,
                last_time=START + (batches - 1) * 1_000_000,
                last_step=steps - 1,
            )
        )
        connection.execute(
            insert(schema.run_splits), [{"run_id": run.id, "split": s} for s in ("train", "validation")]
        )
    began = time.perf_counter()
    asyncio.run(monitor.compact_now(name))
    return sizes, time.perf_counter() - began


def seed(url: str, batches: int) -> tuple[int, float]:
    """The long run of ``reads``; the bytes of one (batch, loss) accumulator and the compaction
    throughput (batches folded into aggregates per second)."""
    monitor = Monitor(url)
    sizes, seconds = write_run(monitor, "long", batches, STEPS, SAMPLES, np.random.default_rng(0))
    asyncio.run(monitor.stop())
    return int(statistics.mean(sizes)), batches / seconds


def timed_get(port: int, path: str, repeats: int) -> float:
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        status, content = request(port, "GET", path, b"", {})
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {content[:200]!r}")
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def reads(backend: str, url: str, quick: bool) -> None:
    batches = 20_000 if quick else BATCHES
    size, throughput = seed(url, batches)
    record(
        "history",
        f"storage per (batch, loss): accumulator of a {SAMPLES}-sample batch ({backend})",
        f"{size} bytes",
        f"compaction {throughput:.0f} batches/s",
        float(size),
        "",
        None,
    )
    repeats = 5 if quick else 15
    queries = [
        ("summary of the whole run", "/v1/runs/long/summary"),
        ("summary of steps 100-899", "/v1/runs/long/summary?step_from=100&step_to=899"),
        ("summary of 10 hours (not aligned to hours)",
         "/v1/runs/long/summary?from=2026-01-01T01:00:30Z&to=2026-01-01T11:00:30Z"),
        ("series by step, 500 points", "/v1/runs/long/series?by=step&max_points=500"),
        ("series by time, 1m buckets merged to <= 500 points",
         "/v1/runs/long/series?by=time&interval=1m&max_points=500"),
    ]  # fmt: skip
    with server("ours", database_url=url) as (port, _):
        for what, path in queries:
            seconds = timed_get(port, path, repeats)
            record(
                "history",
                f"{what}, run of {batches:,} batches on {STEPS:,} steps ({backend})",
                fmt_ms(seconds),
                "target 100 ms",
                seconds / 0.1,
                "<= 1 (under 100 ms)",
                lambda r: r <= 1,
            )


def seed_runs(url: str, runs: int, steps: int) -> None:
    """``runs`` training runs of ``steps`` steps (one train and one validation batch a step)."""
    monitor = Monitor(url)
    rng = np.random.default_rng(1)
    for r in range(runs):
        write_run(monitor, f"run-{r:04d}", 2 * steps, steps, 20, rng)
    asyncio.run(monitor.stop())


def listing(backend: str, url: str, quick: bool) -> None:
    """GET /v1/runs?limit=1000 with each run's diagnostics status and latest values."""
    runs, steps = (200, 50) if quick else (1000, 50)
    seed_runs(url, runs, steps)
    with server("ours", database_url=url) as (port, _):
        seconds = timed_get(port, f"/v1/runs?limit={runs}", 5 if quick else 15)
    record(
        "history",
        f"GET /v1/runs of {runs:,} runs x {steps} steps with diagnostics status ({backend})",
        fmt_ms(seconds),
        "target 200 ms",
        seconds / 0.2,
        "<= 1 (under 200 ms)",
        lambda r: r <= 1,
    )


SECTIONS = {"large": large, "small": small, "reads": reads, "list": listing}


def main() -> None:
    parser = section_parser(__doc__, SECTIONS)
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_ADMIN", POSTGRES_ADMIN))
    args = parser.parse_args()
    print_header()
    for backend in args.backends.split(","):
        for name in args.only.split(","):
            with history_database(backend.strip(), args.postgres) as url:
                SECTIONS[name.strip()](backend.strip(), url, args.quick)


if __name__ == "__main__":
    main()
