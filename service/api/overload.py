"""Answers given before the app sees a request: overload, invalid HTTP, headers that never arrive.

A worker at ``LOSS_SERVICE_LIMIT_CONCURRENCY`` answers 503 through ``overloaded_app``: a problem with
``Retry-After``, going through the request middleware like every response (request id, access log,
``/metrics`` with the route label ``<overloaded>``), without reading the body. Requests uvicorn cannot
parse, or whose headers time out, get a problem written straight to the socket (``raw_problem``) and
are counted under ``<unmatched>``.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from .middleware import RequestMiddleware
from .problems import PROBLEM_JSON, TYPE_PREFIX, Problem, problem_response

OVERLOADED = "<overloaded>"
RETRY_AFTER_SECONDS = 1


class OverloadedRoute:
    """What the request middleware reads from ``scope["route"]``: the metrics label."""

    path = OVERLOADED


OVERLOAD = Problem(
    503,
    "overloaded",
    "Service overloaded",
    "This instance is at its concurrency limit (LOSS_SERVICE_LIMIT_CONCURRENCY); retry after "
    "Retry-After seconds, or send the request to another instance.",
    headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
)


async def overloaded(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = OverloadedRoute()
    await problem_response(OVERLOAD)(scope, receive, send)


def overloaded_app(timeout_body: float) -> ASGIApp:
    """The ASGI app that answers a request refused for overload, with the service's middleware."""
    return RequestMiddleware(overloaded, timeout_body=timeout_body)


def raw_problem(status: int, kind: str, title: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response carrying a problem, for the protocol to write; it closes the connection."""
    body = orjson.dumps(
        {"type": TYPE_PREFIX + kind, "title": title, "status": status, "detail": detail, "errors": []}
    )
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: {PROBLEM_JSON}\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body
