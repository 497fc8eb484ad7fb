"""Running the app under uvicorn: its Config from Settings, a header timeout, metrics across workers.

uvicorn times out idle keep-alive connections but not a client that opens a connection and trickles
(or never finishes) its headers. ``HeaderTimeoutProtocol`` closes such a connection with a 408 after
``timeout_headers`` seconds, counted from the connection or from the first byte of each request.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import uvicorn

from .config import Settings
from .logging import log_config

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools: no header timeout.
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

METRICS_DIR_PREFIX = "loss-service-metrics-"
_TIMEOUT_BODY = orjson.dumps(
    {
        "type": "urn:loss-service:problem:request-timeout",
        "title": "Request timeout",
        "status": 408,
        "detail": "The request headers did not arrive in time (LOSS_SERVICE_TIMEOUT_HEADERS).",
        "errors": [],
    }
)
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


if HttpToolsProtocol is not None:

    class HeaderTimeoutProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol, with a deadline for each request's headers."""

        def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            self.timeout_headers: float = getattr(config, "timeout_headers", 10.0)
            self.header_deadline: asyncio.TimerHandle | None = None

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
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._disarm()  # The keep-alive timeout takes over until the next request begins.
            super().on_response_complete()

        def _headers_timed_out(self) -> None:
            self.header_deadline = None
            if self.cycle is not None and not self.cycle.response_complete:
                return  # A request is being handled: its body and response have their own limits.
            if not self.transport.is_closing():
                self.transport.write(_TIMEOUT_RESPONSE)
                self.transport.close()


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
        http=HeaderTimeoutProtocol if HttpToolsProtocol is not None else "auto",
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
