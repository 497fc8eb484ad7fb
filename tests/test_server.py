"""The real server process: `python -m service` on a free 127.0.0.1 port, spoken to over a socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(command: list[str], **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = dict(os.environ, LOSS_SERVICE_HOST="127.0.0.1", LOSS_SERVICE_PORT=str(port), **env)
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stdout.read().decode() if process.stdout else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not become healthy within 30 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout:
        process.stdout.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    process, base = start_server([sys.executable, "-m", "service"])
    yield base
    stop_server(process)


def test_real_server_answers_over_a_socket(server):
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server}/readyz").status_code == 200
    response = httpx.post(
        f"{server}/v1/evaluate",
        json={
            "losses": ["mse"],
            "predictions": [[0.1, 0.9], [0.3, 0.7]],
            "targets": [[0.0, 1.0], [1.0, 0.0]],
            "weights": [1.0, 2.0],
        },
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["value"] == pytest.approx(0.33)
    response = httpx.post(
        f"{server}/v1/evaluate", content=b"not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{server}/v1/losses").status_code == 200
