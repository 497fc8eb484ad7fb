"""Hostile JSON on a real server with two workers: every deeply nested body is a 4xx problem."""

from __future__ import annotations

import httpx
import pytest

from .server import running_server

pytestmark = pytest.mark.slow

DEEP = 20_000
BODIES = {
    "/v1/evaluate": [
        b'{"losses": ["mse"], "targets": [1], "predictions": ' + b"[" * DEEP + b"1" + b"]" * DEEP + b"}",
        b'{"losses": ["mse"], "predictions": [1], "targets": [1], "x": '
        + b'{"a":' * DEEP
        + b"1"
        + b"}" * DEEP
        + b"}",
        b'{"losses": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    ],
    "/v1/losses/mse/curve": [b'{"params": ' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}"],
}


def test_deep_bodies_are_refused_in_every_worker():
    with running_server(workers="2") as server:
        for _ in range(3):  # fresh connections, spread over both workers
            for path, bodies in BODIES.items():
                for body in bodies:
                    response = httpx.post(
                        f"{server.base}{path}",
                        content=body,
                        headers={"content-type": "application/json"},
                        timeout=30,
                    )
                    assert response.status_code == 422, response.text[:300]
                    assert response.headers["content-type"] == "application/problem+json"
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
        assert "Traceback" not in server.log() and "RecursionError" not in server.log()
