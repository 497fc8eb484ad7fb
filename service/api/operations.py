"""Operations endpoints (liveness, readiness, metrics) and the process lifecycle they report.

Shutdown, as a load balancer needs it: on SIGTERM, /readyz turns 503 at once while every request is
still served; after ``shutdown_drain_seconds`` uvicorn's own graceful shutdown begins: it closes the
listening socket (new connections are refused), lets in-flight requests complete within
``timeout_graceful_shutdown``, and closes idle keep-alive connections. The hook wraps uvicorn's
SIGTERM handler when the application starts (lifespan), so it works the same in every worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from .. import metrics
from ..monitoring import exporter
from .problems import PROBLEM_JSON, STORE_RETRY_AFTER, Problem, ProblemDetails
from .schemas import Health

logger = logging.getLogger("service.lifecycle")


@dataclass
class Lifecycle:
    """Per-application state: ``draining`` turns true when shutdown starts."""

    draining: bool = False


router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Health,
    responses={
        503: {
            "model": ProblemDetails,
            "content": {PROBLEM_JSON: {}},
            "description": "Shutting down, or the history database is unavailable: take this instance "
            "out of rotation.",
        }
    },
)
async def readyz(request: Request) -> dict[str, str]:
    """Readiness: the service takes requests (503 from the moment shutdown starts, and while the
    history database cannot be reached)."""
    if request.app.state.lifecycle.draining:
        raise Problem(
            503,
            "shutting-down",
            "Shutting down",
            "This instance is shutting down; send new requests to another one.",
            headers={"Retry-After": "1"},
        )
    if not await request.app.state.monitor.ready():
        raise Problem(
            503,
            "store-unavailable",
            "History database unavailable",
            "The run history database cannot be reached or is not migrated yet; evaluations still work.",
            headers={"Retry-After": str(STORE_RETRY_AFTER)},
        )
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text exposition (every worker's samples in multiprocess mode), and the metrics of
    recent runs, computed from the history database for this scrape."""
    settings = request.app.state.settings
    families: list[Any] = []
    if settings.metrics_max_runs:
        limits = exporter.Limits(
            settings.metrics_window_seconds, settings.metrics_recent_seconds, settings.metrics_max_runs
        )
        families = list(exporter.families(await exporter.snapshot(request.app.state.monitor, limits)))
    body, content_type = metrics.exposition(families)
    return Response(body, media_type=content_type)


Handler = Callable[[int, FrameType | None], Any]


def install_drain_hook(lifecycle: Lifecycle, delay: float) -> Callable[[], None]:
    """Wrap the server's SIGTERM handler: mark draining now, hand over to it after ``delay`` s.

    Returns a function that restores the previous handler. Does nothing unless called on the main
    thread with a Python-level SIGTERM handler installed (that is, under uvicorn's server).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return lambda: None
    server_handler: Handler = previous
    loop = asyncio.get_running_loop()

    def begin_shutdown(sig: int) -> None:
        logger.info("SIGTERM: readiness is now false; graceful shutdown in %.1f s", delay)
        loop.call_later(delay, server_handler, sig, None)

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        if lifecycle.draining:  # A second SIGTERM: stop waiting.
            server_handler(sig, frame)
            return
        lifecycle.draining = True
        if delay <= 0:
            server_handler(sig, frame)
        else:
            loop.call_soon_threadsafe(begin_shutdown, sig)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    lifecycle: Lifecycle = app.state.lifecycle
    lifecycle.draining = False  # (An app object may be started again, as test clients do.)
    restore = install_drain_hook(lifecycle, app.state.settings.shutdown_drain_seconds)
    await app.state.monitor.start()
    try:
        yield
    finally:
        lifecycle.draining = True
        restore()
        await app.state.monitor.stop()
        metrics.worker_exited(os.getpid())
