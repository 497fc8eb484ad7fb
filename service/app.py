"""The application factory: ``create_app(settings)``; ``uvicorn --factory service.app:create_app``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from . import __version__
from .api import openapi, problems, v1
from .api.schemas import Health
from .api.translate import catalogue_entry
from .config import Settings
from .losses import registry


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
    )
    app.state.settings = settings
    app.state.catalogue = orjson.dumps({"losses": [catalogue_entry(d) for d in registry.definitions()]})
    problems.install(app)
    app.include_router(v1.router)

    @app.get("/healthz", operation_id="healthz", response_model=Health, tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", operation_id="readyz", response_model=Health, tags=["operations"])
    async def readyz() -> dict[str, str]:
        """Readiness: the service takes requests."""
        return {"status": "ready"}

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )

    document: dict[str, Any] = {}

    def build_openapi() -> dict[str, Any]:
        if not document:
            document.update(openapi.build(app))
        return document

    app.openapi = build_openapi  # type: ignore[method-assign]
    return app
