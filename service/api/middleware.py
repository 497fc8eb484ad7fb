"""The outermost request middleware (pure ASGI): request id, metrics, access log, body guards.

For every HTTP request it
- takes ``X-Request-ID`` from the client when it is a sane token (else generates one), puts it in
  the logging context and echoes it on the response;
- refuses request bodies with a ``Content-Encoding`` (415): compressed bodies are not accepted, so
  a gzip bomb never gets decompressed;
- gives the application a ``receive`` that answers 408 when the client stalls mid-body for more
  than ``timeout_body`` seconds, and counts the body bytes received;
- closes the connection after a 413 or 408, so a client streaming an oversized body is cut off;
- records requests by method, route template and status, latency, body sizes, and writes one
  access log line (never a header: API keys stay out of logs).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import metrics
from ..logging import REQUEST_ID
from .problems import Problem, problem_response

access_logger = logging.getLogger("service.access")

REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
_CLOSE_AFTER = {408, 413}
UNMATCHED = "<unmatched>"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def route_label(scope: Scope) -> str:
    """The template of the route that handled the request (bounded cardinality)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestMiddleware:
    def __init__(self, app: ASGIApp, timeout_body: float) -> None:
        self.app = app
        self.timeout_body = timeout_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        presented = _header(scope, REQUEST_ID_HEADER)
        request_id = presented.decode() if presented and _SANE_ID.match(presented) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        state: dict[str, Any] = {"status": 500, "bytes_in": 0, "bytes_out": 0}

        async def receive_guarded() -> Message:
            try:
                async with asyncio.timeout(self.timeout_body):
                    message = await receive()
            except TimeoutError:
                raise Problem(
                    408,
                    "request-timeout",
                    "Request timeout",
                    f"The request body stalled for more than {self.timeout_body:g} s "
                    "(LOSS_SERVICE_TIMEOUT_BODY); send it without pauses.",
                ) from None
            if message["type"] == "http.request":
                state["bytes_in"] += len(message.get("body", b""))
            return message

        async def send_tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                if message["status"] in _CLOSE_AFTER:
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                state["bytes_out"] += len(message.get("body", b""))
            await send(message)

        metrics.IN_PROGRESS.inc()
        try:
            encoding = _header(scope, b"content-encoding")
            if encoding is not None and encoding.strip().lower() not in (b"", b"identity"):
                await problem_response(_unsupported_encoding(encoding)).__call__(scope, receive, send_tracked)
            else:
                await self.app(scope, receive_guarded, send_tracked)
        except ClientDisconnect:
            state["status"] = 499  # The client went away mid-body: nothing to answer, nothing broken.
        finally:
            metrics.IN_PROGRESS.dec()
            elapsed = time.perf_counter() - start
            route = route_label(scope)
            method = scope["method"]
            metrics.request_done(
                method, route, state["status"], elapsed, state["bytes_in"], state["bytes_out"]
            )
            access_logger.info(
                "%s %s %d %.1f ms in=%d out=%d",
                method,
                scope["path"],
                state["status"],
                elapsed * 1000,
                state["bytes_in"],
                state["bytes_out"],
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": state["status"],
                    "duration_ms": round(elapsed * 1000, 3),
                    "bytes_in": state["bytes_in"],
                    "bytes_out": state["bytes_out"],
                },
            )
            REQUEST_ID.reset(token)


def _unsupported_encoding(encoding: bytes) -> Problem:
    value = encoding.decode("latin-1")[:40]
    return Problem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"Content-Encoding {value!r} is not accepted: compressed request bodies are not supported; "
        "send the body uncompressed.",
        [("header.content-encoding", f"expected no encoding (identity), got {value!r}")],
    )
