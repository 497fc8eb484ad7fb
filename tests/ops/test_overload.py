"""Answers from the HTTP protocol on a real server: overload (503) and bytes that are not HTTP (400).

Both are problem+json like every other error, and both are counted in /metrics.
"""

from __future__ import annotations

import time

import httpx
import orjson
import pytest

from .server import read_response, running_server, status_of

pytestmark = pytest.mark.slow


def problem_of(raw: bytes) -> tuple[dict[str, str], dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return headers, orjson.loads(body)


def metrics_text(base: str, deadline: float) -> str:
    """GET /metrics, retried while the server still counts a connection just closed (503)."""
    while True:
        response = httpx.get(f"{base}/metrics", timeout=5)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response.text
        time.sleep(0.05)


def test_overload_is_a_counted_503_problem_with_retry_after():
    with running_server(limit_concurrency="2") as server:
        deadline = time.monotonic() + 10
        with server.connect() as idle:  # one idle connection, plus the request's own: the limit
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            assert status_of(idle.recv(65536)) == 200  # the idle connection is surely accepted now
            with server.connect() as sock:
                sock.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\n{}")
                raw = read_response(sock)
        assert status_of(raw) == 503, raw[:300]
        headers, problem = problem_of(raw)
        assert headers["content-type"] == "application/problem+json"
        assert headers["retry-after"] == "1" and headers["connection"] == "close"
        assert headers["x-request-id"]
        assert problem["status"] == 503 and problem["type"] == "urn:loss-service:problem:overloaded"
        assert "LOSS_SERVICE_LIMIT_CONCURRENCY" in problem["detail"]
        text = metrics_text(server.base, deadline)
        assert 'loss_service_http_requests_total{method="POST",route="<overloaded>",status="503"} 1.0' in text
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200


def test_bytes_that_are_not_http_get_a_counted_400_problem():
    with running_server() as server:
        with server.connect() as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            raw = read_response(sock)
        assert status_of(raw) == 400, raw[:300]
        headers, problem = problem_of(raw)
        assert headers["content-type"] == "application/problem+json" and headers["connection"] == "close"
        assert problem["type"] == "urn:loss-service:problem:invalid-http" and problem["status"] == 400
        text = metrics_text(server.base, time.monotonic() + 10)
        assert 'loss_service_http_requests_total{method="OTHER",route="<unmatched>",status="400"} 1.0' in text
