"""Graceful shutdown of a real server on SIGTERM: readiness turns false first, requests in flight
complete with 200, new connections are refused once the drain period is over, and the process exits."""

from __future__ import annotations

import concurrent.futures
import signal
import time
from collections.abc import Iterator

import httpx
import numpy as np
import orjson
import pytest

from .server import running_server

pytestmark = pytest.mark.slow

DRAIN = 1.5


def slow_body(pause: float, pieces: int) -> Iterator[bytes]:
    """A valid evaluate body, sent in pieces with pauses (each shorter than the body timeout)."""
    body = orjson.dumps({"losses": ["mse"], "predictions": [0.5] * 2000, "targets": [0.0] * 2000})
    size = len(body) // pieces + 1
    for start in range(0, len(body), size):
        yield body[start : start + size]
        time.sleep(pause)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_drains_then_refuses_while_in_flight_requests_complete(workers):
    n = 1_000_000
    rng = np.random.default_rng(2)
    large = orjson.dumps(
        {
            "losses": ["mse", "huber"],
            "predictions": rng.normal(size=n).tolist(),
            "targets": rng.normal(size=n).tolist(),
            "include": ["stats", "gradient"],
        }
    )
    with running_server(
        workers=workers, shutdown_drain_seconds=str(DRAIN), timeout_graceful_shutdown="20", timeout_body="5"
    ) as server:
        url = f"{server.base}/v1/evaluate"
        headers = {"content-type": "application/json"}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            # In flight when SIGTERM arrives: a body still uploading, and a large evaluation.
            uploading = pool.submit(httpx.post, url, content=slow_body(0.4, 8), headers=headers, timeout=30)
            evaluating = pool.submit(httpx.post, url, content=large, headers=headers, timeout=30)
            time.sleep(0.5)
            # The upload takes over 3 s, so it is surely in flight; the evaluation (~0.3-0.6 s here)
            # may already be done on a fast machine, and must succeed either way.
            assert not uploading.done()
            server.terminate()
            signalled = time.monotonic()

            # Readiness turns false first, while requests are still served. (With several workers
            # the supervisor polls for signals every 0.5 s before passing SIGTERM on.)
            while True:
                ready = httpx.get(f"{server.base}/readyz", timeout=2)
                if ready.status_code != 200 or time.monotonic() - signalled > 1.0:
                    break
                time.sleep(0.05)
            assert ready.status_code == 503, ready.text
            assert ready.headers["content-type"] == "application/problem+json"
            assert httpx.get(f"{server.base}/healthz", timeout=2).status_code == 200
            assert time.monotonic() - signalled < DRAIN

            # After the drain period, the listening socket is closed: new connections are refused.
            refused_at = None
            while time.monotonic() - signalled < DRAIN + 5:
                try:
                    httpx.get(f"{server.base}/healthz", timeout=1, headers={"connection": "close"})
                except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout):
                    # One worker: connection refused. Several: the supervisor still holds the
                    # listening socket, and a connection the kernel queued is never answered (then
                    # closed when the supervisor exits).
                    refused_at = time.monotonic() - signalled
                    break
                time.sleep(0.1)
            assert refused_at is not None and refused_at >= DRAIN - 0.1, refused_at

            # Both requests in flight complete normally.
            assert uploading.result(timeout=30).status_code == 200
            response = evaluating.result(timeout=30)
            assert response.status_code == 200 and len(response.json()["results"]) == 2
        # uvicorn re-raises the captured SIGTERM once it has shut down cleanly (exit status 143 in a
        # shell, -15 here), so that a supervisor sees the signal it sent.
        assert server.process.wait(timeout=25) in (0, -signal.SIGTERM)
        log = server.log()
    assert "readiness is now false" in log
    assert "Application shutdown complete" in log and "Cancel" not in log
