"""RFC 9457 problem details: every error the service returns, and the handlers that produce them.

Domain errors carry their meaning; this module alone maps them to statuses. A location is written
as the request path to the culprit: ``body.predictions[3]``, ``body.losses[0].delta``,
``path.name``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..losses.errors import LossError, TooLarge
from ..losses.registry import all_names
from ..monitoring.errors import MonitoringError
from ..store import StoreUnavailable

logger = logging.getLogger("service.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:loss-service:problem:"


class ErrorLocation(BaseModel):
    location: str = Field(description="Where the culprit is, e.g. body.predictions[3].")
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with ``errors`` naming each culprit field."""

    type: str = Field(description="A stable URI per kind of problem.")
    title: str
    status: int
    detail: str
    errors: list[ErrorLocation] = Field(description="Each culprit: where, and what is wrong (may be empty).")


class Problem(Exception):
    """An HTTP problem raised by the API layer."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        errors: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}


def format_location(location: Iterable[str | int], root: str = "body") -> str:
    text = root
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def problem_response(problem: Problem) -> Response:
    body = {
        "type": TYPE_PREFIX + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "errors": [{"location": loc, "message": msg} for loc, msg in problem.errors],
    }
    return Response(
        orjson.dumps(body),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def from_loss_error(error: LossError) -> Problem:
    """A core error is a request that breaks the contract (422), or asks for too much work (413);
    either is located in the body."""
    return Problem(
        413 if isinstance(error, TooLarge) else 422,
        error.kind,
        error.title,
        error.detail,
        [(format_location(e.location), e.message) for e in error.errors],
    )


def _clean_location(loc: Sequence[Any]) -> list[str | int]:
    """Drop the union tags Pydantic inserts (``losses[0].huber.delta`` -> ``losses[0].delta``)."""
    names = set(all_names())
    cleaned: list[str | int] = []
    for i, part in enumerate(loc):
        after_index = i >= 2 and loc[i - 2] in ("losses", "params") and isinstance(loc[i - 1], int)
        if isinstance(part, str) and (part in names and after_index or part.startswith("function-")):
            continue
        cleaned.append(part)
    return cleaned


def validation_problem(
    errors: Sequence[Any],
    root: str | None = "body",
    kind: str = "validation-error",
    title: str = "Request does not match the contract",
) -> Problem:
    """A 422 problem from Pydantic error dicts."""
    items = []
    for error in errors:
        loc = list(error.get("loc", ()))
        where_root = root
        if root is None and loc and loc[0] in ("body", "path", "query", "header"):
            where_root, loc = str(loc[0]), loc[1:]
        items.append((format_location(_clean_location(loc), where_root or "body"), error["msg"]))
    detail = items[0][1] if len(items) == 1 else f"{len(items)} fields are invalid."
    if len(items) == 1:
        detail = f"{items[0][0]}: {items[0][1]}"
    return Problem(422, kind, title, detail, items)


# Seconds a client is told to wait before retrying when the history database is unavailable.
STORE_RETRY_AFTER = 5


def store_unavailable(error: StoreUnavailable) -> Problem:
    return Problem(
        503,
        "store-unavailable",
        "History database unavailable",
        f"The run history cannot be read or written right now ({error}); retry later. Evaluations, the "
        "catalogue and curves keep working.",
        headers={"Retry-After": str(STORE_RETRY_AFTER)},
    )


def to_problem(error: Exception) -> Problem | None:
    """The problem for an error a client caused (None for anything else: a bug, answered 500)."""
    if isinstance(error, Problem):
        return error
    if isinstance(error, LossError):
        return from_loss_error(error)
    if isinstance(error, MonitoringError):
        errors = [(error.location, error.detail)] if error.location else []
        return Problem(error.status, error.kind, error.title, error.detail, errors)
    if isinstance(error, StoreUnavailable):
        return store_unavailable(error)
    if isinstance(error, ValidationError):
        return validation_problem(error.errors())
    return None


HTTP_KINDS = {
    401: ("unauthorized", "Authentication required"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def allowed_methods(routes: Iterable[Any], path: str) -> list[str]:
    """The methods of every route (included routers' too) whose path matches ``path``."""
    methods: set[str] = set()
    for route in routes:
        nested = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if nested is not None and not hasattr(route, "path_regex"):
            methods.update(allowed_methods(getattr(nested, "routes", nested), path))
            continue
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) and getattr(route, "methods", None):
            methods.update(route.methods)
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc)

    @app.exception_handler(LossError)
    @app.exception_handler(MonitoringError)
    @app.exception_handler(StoreUnavailable)
    async def _domain_error(request: Request, exc: Exception) -> Response:
        problem = to_problem(exc)
        assert problem is not None
        return problem_response(problem)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(validation_problem(exc.errors(), root=None))

    @app.exception_handler(ValidationError)
    async def _validation(request: Request, exc: ValidationError) -> Response:
        return problem_response(validation_problem(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kind, title = HTTP_KINDS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No resource at {request.url.path}. The API lives under /v1; see /docs."
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and detail == "Method Not Allowed":
            # Routing names the methods of the first route whose path matched; a path may have
            # several routes (GET, PUT and DELETE of one run), so gather them all.
            allow = ", ".join(allowed_methods(request.app.routes, request.url.path)) or headers.get(
                "allow", ""
            )
            headers = {k: v for k, v in headers.items() if k.lower() != "allow"} | {"Allow": allow}
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allow}."
        return problem_response(Problem(exc.status_code, kind, title, detail, headers=headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            Problem(
                500,
                "internal-error",
                "Internal error",
                "The service failed to handle this request; it has been logged.",
            )
        )
