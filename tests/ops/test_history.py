"""Run history against real server processes: several workers, SIGKILL, an unreachable database.

Each test is bounded: a few hundred requests at most, and every wait has a deadline.
"""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from ..databases import POSTGRES_HOST, POSTGRES_PORT, database, postgres_database, postgres_url
from .proxy import tcp_proxy
from .server import Server, running_server

pytestmark = pytest.mark.slow
BACKENDS = ("sqlite", "postgresql")


def body(rng: np.random.Generator, n: int = 20, **fields: Any) -> dict[str, Any]:
    return {"predictions": rng.normal(size=n).tolist(), "targets": rng.normal(size=n).tolist(), **fields}


def summary_count(base: str, run: str) -> int:
    response = httpx.get(f"{base}/v1/runs/{run}/summary", params={"loss": "mse"}, timeout=10)
    assert response.status_code == 200, response.text
    return int(sum(item["count"] for item in response.json()["summaries"]))


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout} s")
        time.sleep(0.1)


def is_problem(response: httpx.Response, status: int) -> bool:
    return response.status_code == status and response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_and_concurrent_clients_count_exactly(backend, tmp_path):
    with database(backend, tmp_path) as url, running_server(workers="2", database_url=url) as server:
        assert httpx.put(f"{server.base}/v1/runs/shared", json={"losses": ["mse", "mae"]}).status_code == 201

        def client(k: int) -> list[int]:
            rng = np.random.default_rng(k)
            statuses = []
            with httpx.Client(base_url=server.base, timeout=30) as http:
                for i in range(25):
                    payload = body(
                        rng, split="train" if i % 2 else "validation", step=i, batch_id=f"c{k}-b{i}"
                    )
                    statuses.append(http.post("/v1/runs/shared/batches", json=payload).status_code)
                    if i == 10:  # a retry of a batch already answered: not counted again
                        statuses.append(http.post("/v1/runs/shared/batches", json=payload).status_code)
            return statuses

        with ThreadPoolExecutor(8) as pool:
            statuses = [s for result in pool.map(client, range(8)) for s in result]
        assert sorted(set(statuses)) == [200, 201] and statuses.count(201) == 200 and statuses.count(200) == 8
        assert summary_count(server.base, "shared") == 200 * 20
        run = httpx.get(f"{server.base}/v1/runs/shared").json()
        assert run["batches"] == 200 and run["splits"] == ["train", "validation"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_answered_batches_survive_sigkill_and_restart(backend, tmp_path):
    rng = np.random.default_rng(0)
    with database(backend, tmp_path) as url:
        with running_server(database_url=url) as server:
            httpx.put(f"{server.base}/v1/runs/durable", json={"losses": ["mse"]})
            answered = 0
            for i in range(30):
                response = httpx.post(
                    f"{server.base}/v1/runs/durable/batches", json=body(rng, step=i), timeout=10
                )
                answered += response.status_code == 201
            server.process.kill()  # SIGKILL: no shutdown, no flush
            server.process.wait(timeout=10)
        assert answered == 30
        with running_server(database_url=url) as restarted:
            assert summary_count(restarted.base, "durable") == 30 * 20
            assert httpx.get(f"{restarted.base}/v1/runs/durable").json()["batches"] == 30


def _evaluations_keep_working(server: Server) -> None:
    evaluate = httpx.post(
        f"{server.base}/v1/evaluate",
        json={"losses": ["mse"], "predictions": [1, 2], "targets": [1, 3]},
        timeout=10,
    )
    assert evaluate.status_code == 200
    assert httpx.get(f"{server.base}/v1/losses/mse", timeout=10).status_code == 200
    curve = httpx.post(f"{server.base}/v1/losses/huber/curve", json={"num": 5}, timeout=10)
    assert curve.status_code == 200


def test_postgres_outage_answers_503_and_recovers_by_itself(tmp_path):
    rng = np.random.default_rng(1)
    with postgres_database() as name, tcp_proxy(POSTGRES_HOST, POSTGRES_PORT) as proxy:
        url = postgres_url(name, "127.0.0.1", proxy.port)
        with running_server(database_url=url, database_timeout="2") as server:
            assert httpx.put(f"{server.base}/v1/runs/r", json={"losses": ["mse"]}).status_code == 201
            assert httpx.post(f"{server.base}/v1/runs/r/batches", json=body(rng)).status_code == 201

            proxy.stop()
            started = time.monotonic()
            failed = httpx.post(f"{server.base}/v1/runs/r/batches", json=body(rng), timeout=30)
            assert is_problem(failed, 503) and failed.headers["retry-after"] == "5", failed.text
            assert time.monotonic() - started < 15
            assert is_problem(httpx.get(f"{server.base}/v1/runs/r/summary", timeout=30), 503)
            assert is_problem(httpx.get(f"{server.base}/v1/runs/r/series", timeout=30), 503)
            assert is_problem(httpx.get(f"{server.base}/readyz", timeout=30), 503)
            _evaluations_keep_working(server)

            proxy.start()
            wait_until(
                lambda: httpx.get(f"{server.base}/readyz", timeout=10).status_code == 200, 30, "ready again"
            )
            assert (
                httpx.post(f"{server.base}/v1/runs/r/batches", json=body(rng), timeout=10).status_code == 201
            )
            assert summary_count(server.base, "r") == 2 * 20  # the refused batch was not recorded


def test_service_starts_while_postgres_is_down_and_migrates_when_it_is_back(tmp_path):
    with postgres_database() as name, tcp_proxy(POSTGRES_HOST, POSTGRES_PORT) as proxy:
        proxy.stop()
        url = postgres_url(name, "127.0.0.1", proxy.port)
        with running_server(database_url=url, database_timeout="1", probe="/healthz") as server:
            assert is_problem(httpx.get(f"{server.base}/readyz", timeout=30), 503)
            assert is_problem(httpx.get(f"{server.base}/v1/runs", timeout=30), 503)
            _evaluations_keep_working(server)
            proxy.start()
            wait_until(lambda: httpx.get(f"{server.base}/readyz", timeout=10).status_code == 200, 45, "ready")
            assert httpx.put(f"{server.base}/v1/runs/late", json={"losses": ["mse"]}).status_code == 201


def test_sqlite_locked_by_another_process_answers_503_and_recovers(tmp_path):
    path = tmp_path / "history.db"
    rng = np.random.default_rng(2)
    with running_server(database_url=f"sqlite:///{path}", database_timeout="1") as server:
        assert httpx.put(f"{server.base}/v1/runs/r", json={"losses": ["mse"]}).status_code == 201
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            failed = httpx.post(f"{server.base}/v1/runs/r/batches", json=body(rng), timeout=30)
            assert is_problem(failed, 503) and "retry-after" in failed.headers
            _evaluations_keep_working(server)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert httpx.post(f"{server.base}/v1/runs/r/batches", json=body(rng), timeout=10).status_code == 201
        assert summary_count(server.base, "r") == 20


def test_metrics_count_batches_and_store_latency(tmp_path):
    rng = np.random.default_rng(3)
    with running_server(database_url=f"sqlite:///{Path(tmp_path) / 'h.db'}") as server:
        httpx.put(f"{server.base}/v1/runs/m", json={"losses": ["mse"]})
        payload = body(rng, batch_id="once")
        for _ in range(2):
            httpx.post(f"{server.base}/v1/runs/m/batches", json=payload)
        text = httpx.get(f"{server.base}/metrics").text
        assert 'loss_service_batches_recorded_total{outcome="recorded"} 1.0' in text
        assert 'loss_service_batches_recorded_total{outcome="duplicate"} 1.0' in text
        assert 'loss_service_store_seconds_count{operation="record_batch"}' in text
        assert (
            'loss_service_http_requests_total{method="POST",route="/v1/runs/{run}/batches",status="201"} 1.0'
            in text
        )
