"""Serving the dashboard: ``/ui/`` and its assets, same origin, no authentication.

The assets stay open even when API keys are configured, since the page has to load to ask for a
key; every API call it makes carries that key. A strict Content-Security-Policy keeps the page from
loading or sending anything to another origin. Bundles carry a content hash in their name and are
cached for good; everything else is revalidated (ETag) on every load.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from starlette.datastructures import Headers
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).with_name("static")
PREFIX = "/ui"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Explicit, so that what a browser receives does not depend on the host's mime.types.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
HASHED_NAME = re.compile(r"-[A-Z0-9]{8}\.(js|css)$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def cache_control(name: str) -> str:
    """Content-hashed bundles never change under their name; the rest is revalidated each time."""
    return IMMUTABLE if HASHED_NAME.search(name) else REVALIDATE


class DashboardFiles(StaticFiles):
    """Starlette's static files with the dashboard's content types, caching and security headers."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        path = Path(full_path)
        headers = {**SECURITY_HEADERS, "Cache-Control": cache_control(path.name)}
        response = FileResponse(
            path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=MEDIA_TYPES.get(path.suffix),
            headers=headers,
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


router = APIRouter(include_in_schema=False)
files = DashboardFiles(directory=STATIC, html=True)


@router.get(PREFIX)
async def dashboard_root() -> RedirectResponse:
    # Relative, so that it stays right behind a proxy that serves the service under a path prefix.
    return RedirectResponse("ui/", status_code=308)


# A route rather than a mount, so that requests are counted under this template in the metrics.
@router.api_route(PREFIX + "/{path:path}", methods=["GET", "HEAD"])
async def dashboard_file(path: str, request: Request) -> Response:
    # StaticFiles refuses paths that leave its directory; "" (the page itself) is the directory.
    return await files.get_response(os.path.normpath(path), request.scope)


def install(app: FastAPI) -> None:
    """Add ``/ui`` (a redirect) and ``/ui/...`` (the dashboard's files) to ``app``."""
    app.include_router(router)
