"""The service in this process, behind an httpx transport: what ``loss-service --local`` uses.

The client then talks to the very app a server runs (same routes, codecs and core), so local and
remote answers are the same; only the network is gone.
"""

from __future__ import annotations

from typing import Any

import httpx

# No network and no shared server to protect: the only limit in-process is the machine's memory.
UNLIMITED = 2**62


def app(**settings: Any) -> Any:
    """The ASGI app with ``Settings(**settings)``, limits lifted unless given."""
    from ..app import create_app
    from ..config import Settings

    settings = {"max_elements": UNLIMITED, "max_body_bytes": UNLIMITED, **settings}
    return create_app(Settings(**settings))


class LocalTransport(httpx.BaseTransport):
    """A blocking transport that serves each request with the ASGI app, on an event loop of its own
    (an anyio portal thread)."""

    def __init__(self, asgi_app: Any) -> None:
        from anyio.from_thread import start_blocking_portal

        self._asgi = httpx.ASGITransport(app=asgi_app)
        self._portal_context = start_blocking_portal()
        self._portal = self._portal_context.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()  # the sync body stream, read here, where it may be iterated
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        return self._portal.call(self._handle, forwarded)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def close(self) -> None:
        self._portal_context.__exit__(None, None, None)


def transport(**settings: Any) -> LocalTransport:
    """A transport to a fresh in-process app: ``Client(transport=local.transport())``."""
    return LocalTransport(app(**settings))
