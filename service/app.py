"""The application factory: ``create_app(settings)``; ``uvicorn --factory service.app:create_app``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.middleware.gzip import GZipMiddleware

from . import __version__
from .api import openapi, operations, problems, runs, v1
from .api.fastpath import EvaluateFastPath
from .api.middleware import RequestMiddleware
from .api.translate import catalogue_entry
from .config import Settings
from .losses import registry
from .monitoring.runs import Monitor
from .ui import install as install_dashboard


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPIOffline(
        title=openapi.TITLE,
        version=__version__,
        description=openapi.DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs/static",
        lifespan=operations.lifespan,
        # The service has its own Prometheus metrics; FastAPI's OpenTelemetry hooks would only add
        # a per-request check of the environment.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.lifecycle = operations.Lifecycle()
    app.state.monitor = Monitor(
        settings.database_url,
        pool_size=settings.database_pool_size,
        timeout=settings.database_timeout,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    app.state.catalogue = orjson.dumps({"losses": [catalogue_entry(d) for d in registry.definitions()]})
    problems.install(app)
    app.include_router(v1.router)
    app.include_router(runs.router)
    app.include_router(operations.router)
    install_dashboard(app)
    # The hot endpoint, innermost: every middleware added after it (outside it) still applies.
    app.add_middleware(EvaluateFastPath, settings=settings)

    # Middleware, innermost first: gzip (opt-in), CORS (allow-list), then the request middleware
    # (request id, metrics, access log, body guards), so it sees every response the others make.
    if settings.gzip_min_bytes:
        app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestMiddleware, timeout_body=settings.timeout_body)

    document: dict[str, Any] = {}

    def build_openapi() -> dict[str, Any]:
        if not document:
            document.update(openapi.build(app))
        return document

    app.openapi = build_openapi  # type: ignore[method-assign]
    return app
