"""Running the app under uvicorn: its Config from Settings, its HTTP protocol, metrics across workers.

``ServiceProtocol`` is uvicorn's httptools protocol with three answers of the service's own, each a
problem+json counted in ``/metrics``:
- a client that opens a connection and trickles (or never finishes) its headers, which uvicorn does
  not time out, gets a 408 and a closed connection after ``timeout_headers`` seconds, counted from
  the connection or from the first byte of each request;
- a request that arrives while the worker is at ``limit_concurrency`` (connections or requests) gets
  a 503 with ``Retry-After`` (uvicorn's own check would answer plain text), see ``api.overload``;
- bytes that are not HTTP get a 400 (uvicorn's would be plain text).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

from . import metrics
from .api.middleware import UNMATCHED
from .api.overload import overloaded_app, raw_problem
from .config import Settings
from .logging import log_config

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools: uvicorn's own answers.
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

METRICS_DIR_PREFIX = "loss-service-metrics-"
_TIMEOUT_RESPONSE = raw_problem(
    408,
    "request-timeout",
    "Request timeout",
    "The request headers did not arrive in time (LOSS_SERVICE_TIMEOUT_HEADERS).",
)


def _write_problem(transport: asyncio.Transport, response: bytes, status: int) -> None:
    """Write a whole problem response, close the connection, and count it (no route was matched)."""
    transport.write(response)
    transport.close()
    metrics.request_done("OTHER", UNMATCHED, status, 0.0, 0, len(response))


if HttpToolsProtocol is not None:

    class ServiceProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol with a header deadline, and problem answers of its own."""

        def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            self.timeout_headers: float = getattr(config, "timeout_headers", 10.0)
            self.header_deadline: asyncio.TimerHandle | None = None
            # The concurrency check is ours (on_headers_complete), so that the 503 is a problem.
            self.concurrency_limit: int | None = self.limit_concurrency
            self.limit_concurrency = None
            self.overloaded = overloaded_app(getattr(config, "timeout_body", 30.0))

        def _arm(self) -> None:
            if self.header_deadline is None:
                self.header_deadline = self.loop.call_later(self.timeout_headers, self._headers_timed_out)

        def _disarm(self) -> None:
            if self.header_deadline is not None:
                self.header_deadline.cancel()
                self.header_deadline = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            limit = self.concurrency_limit
            if limit is None or (len(self.connections) < limit and len(self.tasks) < limit):
                super().on_headers_complete()
                return
            app, self.app = self.app, self.overloaded  # the cycle uvicorn starts runs this app
            try:
                super().on_headers_complete()
            finally:
                self.app = app

        def on_response_complete(self) -> None:
            self._disarm()  # The keep-alive timeout takes over until the next request begins.
            super().on_response_complete()

        def send_400_response(self, msg: str) -> None:
            detail = f"{msg.rstrip('.')}: the request is not valid HTTP/1.1."
            _write_problem(
                self.transport, raw_problem(400, "invalid-http", "Invalid HTTP request", detail), 400
            )

        def _headers_timed_out(self) -> None:
            self.header_deadline = None
            if self.cycle is not None and not self.cycle.response_complete:
                return  # A request is being handled: its body and response have their own limits.
            if not self.transport.is_closing():
                _write_problem(self.transport, _TIMEOUT_RESPONSE, 408)


def prepare_metrics_dir(workers: int) -> Path | None:
    """Set PROMETHEUS_MULTIPROC_DIR (a fresh, empty directory under the temp dir) for several workers.

    A directory the operator set is used as given, emptied of a previous run's files first.
    """
    if workers <= 1:
        return None
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return None  # Not ours to remove.
    path = Path(tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


def config(settings: Settings) -> uvicorn.Config:
    result = uvicorn.Config(
        "service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=ServiceProtocol if HttpToolsProtocol is not None else "auto",
        log_config=log_config(settings.log_level, settings.log_format),
        log_level=settings.log_level,
        access_log=False,  # The request middleware writes the access line, with the request id.
        proxy_headers=False,
        timeout_keep_alive=settings.timeout_keep_alive,
        limit_concurrency=settings.limit_concurrency or None,
        backlog=settings.backlog,
        timeout_graceful_shutdown=settings.timeout_graceful_shutdown,
    )
    result.timeout_headers = settings.timeout_headers  # type: ignore[attr-defined]
    result.timeout_body = settings.timeout_body  # type: ignore[attr-defined]
    return result


def run(settings: Settings) -> int:
    """Serve until shut down; the exit status."""
    from uvicorn.supervisors import Multiprocess

    metrics_dir = prepare_metrics_dir(settings.workers)
    try:
        server_config = config(settings)
        if settings.workers > 1:
            Multiprocess(server_config, sockets=[server_config.bind_socket()]).run()
            return 0
        server = uvicorn.Server(server_config)
        server.run()
        return 0 if server.started else 3
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
