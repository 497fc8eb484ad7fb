"""Slow and hostile clients on a real server: stalled headers, stalled bodies, idle connections and a
flood of small requests. The service keeps answering everyone else, and the stalled connections are
closed after the configured timeouts."""

from __future__ import annotations

import concurrent.futures
import socket
import time

import httpx
import pytest

from .server import read_response, running_server, status_of

pytestmark = pytest.mark.slow

SMALL = {"losses": ["mse"], "predictions": [0.1, 0.9, 0.3], "targets": [0.0, 1.0, 0.0]}


@pytest.fixture(scope="module")
def server():
    with running_server(timeout_headers="1.5", timeout_body="1.5", timeout_keep_alive="2") as s:
        yield s


def answers_promptly(server, seconds: float = 0.5) -> None:
    started = time.monotonic()
    assert httpx.get(f"{server.base}/healthz", timeout=seconds).status_code == 200
    assert httpx.post(f"{server.base}/v1/evaluate", json=SMALL, timeout=seconds).status_code == 200
    assert time.monotonic() - started < 2 * seconds


def test_stalled_clients_and_idle_connections_do_not_block_others(server):
    idle = [server.connect() for _ in range(50)]
    mid_headers = server.connect()
    mid_headers.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: test\r\nContent-Ty")
    mid_body = server.connect()
    mid_body.sendall(
        b"POST /v1/evaluate HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b'Content-Length: 500\r\n\r\n{"losses": ["mse"], "predic'
    )
    try:
        started = time.monotonic()
        for _ in range(5):
            answers_promptly(server)
        # Then the server closes them: 408 for the stalled requests, and the idle ones too.
        raw_headers = read_response(mid_headers)
        raw_body = read_response(mid_body)
        assert status_of(raw_headers) == 408, raw_headers[:200]
        assert status_of(raw_body) == 408 and b"LOSS_SERVICE_TIMEOUT_BODY" in raw_body
        for sock in idle:
            read_response(sock)  # returns when the server closes the connection
        assert time.monotonic() - started < 5
        answers_promptly(server)
    finally:
        for sock in [*idle, mid_headers, mid_body]:
            sock.close()


def test_a_trickle_of_header_bytes_does_not_extend_the_deadline(server):
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        with pytest.raises((BrokenPipeError, ConnectionResetError, socket.timeout)):
            for _ in range(40):  # one header byte every 0.1 s, for up to 4 s
                sock.sendall(b"X")
                time.sleep(0.1)
        assert time.monotonic() - started < 3


def test_a_flood_of_small_requests_while_health_stays_prompt(server):
    deadline = time.monotonic() + 3.0

    def flood() -> tuple[int, int]:
        ok = errors = 0
        with httpx.Client(base_url=server.base, timeout=5) as client:
            while time.monotonic() < deadline:
                response = client.post("/v1/evaluate", json=SMALL)
                ok += response.status_code == 200
                errors += response.status_code != 200
        return ok, errors

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        floods = [pool.submit(flood) for _ in range(6)]
        probes = []
        while time.monotonic() < deadline:
            started = time.monotonic()
            assert httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200
            probes.append(time.monotonic() - started)
            time.sleep(0.05)
        results = [f.result(timeout=10) for f in floods]
    assert sum(ok for ok, _ in results) > 100
    assert sum(errors for _, errors in results) == 0
    assert max(probes) < 1.0
