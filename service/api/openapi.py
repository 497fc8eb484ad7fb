"""The OpenAPI 3.1 document of v1, built from an app's routes, in a form client generators can use.

Conventions every operation follows (``build`` enforces the shared parts):

- a named tag from ``TAGS`` and a snake_case ``operation_id``, both given in the route decorator;
- a request body read by hand (``body.read_json``) is documented with ``@documents_body(Model)``:
  its model's schema goes into the components in *validation* mode (fields with defaults are
  optional), while response models are in FastAPI's *serialization* mode;
- arrays are the named components of ``schemas.SHARED_SCHEMAS`` (``ArrayInput``, ``ArrayOutput``);
- every error is a problem (``application/problem+json``), and any operation may answer 503 with
  ``Retry-After`` when its worker is overloaded; every operation takes an optional ``X-Request-ID``.

``service.openapi_document`` renders the document and writes ``openapi/v1.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

from .. import __version__
from .body import JSON, NPZ
from .problems import PROBLEM_JSON
from .schemas import COMPONENTS, SHARED_SCHEMAS

TITLE = "Loss service"
DESCRIPTION = (
    "Loss values, per-sample losses, exact gradients and statistics for a catalogue of loss "
    "functions. Errors are RFC 9457 problem details."
)
# The tags of the document, in the order /docs shows them; only those in use are listed.
TAGS: dict[str, str] = {
    "catalogue": "The losses: their parameters, formulas and equivalents, and their curves.",
    "evaluation": "Evaluate losses on arrays: values, per-sample losses, gradients, statistics.",
    "runs": "Runs of batches over time: summaries, series and training diagnostics.",
    "operations": "Liveness and readiness, for load balancers and orchestrators.",
}
NPZ_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "binary",
    "contentMediaType": NPZ,
    "description": "An NPZ archive (numpy.savez, stored or compressed) with members predictions.npy, "
    "targets.npy, optional weights.npy, and request.json: the JSON request without its arrays. "
    "Stored members are decoded without a copy.",
}
OVERLOADED: dict[str, Any] = {
    "description": "Overloaded (LOSS_SERVICE_LIMIT_CONCURRENCY) or shutting down: retry after "
    "Retry-After seconds.",
    "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
}


REQUEST_ID: dict[str, Any] = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": "A request id for logs, echoed on the response when it is 1-128 of A-Za-z0-9._:- "
    "(otherwise the service makes one).",
    "schema": {"type": "string"},
}


@dataclass(frozen=True)
class RequestBody:
    """A request body read by hand: its model, and whether an NPZ archive may carry it instead."""

    model: type[BaseModel]
    npz: bool = False


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def documents_body(model: type[BaseModel], *, npz: bool = False) -> Callable[[Endpoint], Endpoint]:
    """Decorator (below the route's): the endpoint reads a ``model`` JSON body; ``build`` documents it."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.request_body = RequestBody(model, npz)  # type: ignore[attr-defined]
        return endpoint

    return mark


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI may keep those nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _request_bodies(app: FastAPI) -> dict[str, RequestBody]:
    """operationId -> the body documented on its endpoint, for every operation that has one."""
    found = {}
    for route in _api_routes(app.routes):
        body = getattr(route.endpoint, "request_body", None)
        if isinstance(body, RequestBody) and route.operation_id:
            found[route.operation_id] = body
    return found


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=TITLE, version=__version__, description=DESCRIPTION, routes=app.routes)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    bodies = _request_bodies(app)
    _, definitions = models_json_schema(
        [(body.model, "validation") for body in {b.model: b for b in bodies.values()}.values()],
        ref_template=COMPONENTS + "{model}",
    )
    for name, schema in {**definitions.get("$defs", {}), **SHARED_SCHEMAS}.items():
        if schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two schemas are named {name}: a request model and a response model?")
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    document["components"]["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "Needed when the service has LOSS_SERVICE_API_KEYS set.",
        }
    }
    problem = {PROBLEM_JSON: {"schema": {"$ref": f"{COMPONENTS}ProblemDetails"}}}
    used_tags = set()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            used_tags.update(operation.get("tags", ()))
            body = bodies.get(operation.get("operationId", ""))
            if body is not None:
                content = {JSON: {"schema": {"$ref": f"{COMPONENTS}{body.model.__name__}"}}}
                if body.npz:
                    content[NPZ] = {"schema": NPZ_SCHEMA}
                operation["requestBody"] = {"required": True, "content": content}
            operation["parameters"] = [*operation.get("parameters", []), REQUEST_ID]
            if path.startswith("/v1/"):
                operation["security"] = [{}, {"bearerAuth": []}]
            responses = operation.setdefault("responses", {})
            responses["503"] = {**OVERLOADED, **responses.get("503", {}), "headers": OVERLOADED["headers"]}
            # Every error is problem+json, FastAPI's own validation errors included.
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response["content"] = problem
                    if status == "422":
                        response["description"] = "Problem details (RFC 9457)."
    document["tags"] = [
        {"name": name, "description": text} for name, text in TAGS.items() if name in used_tags
    ]
    return document
