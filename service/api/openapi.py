"""The OpenAPI 3.1 document of v1, built from an app's routes.

Request bodies are read by hand (see ``v1.py``), so their models are added to the components here.
``service.openapi_document`` renders the document and writes ``openapi/v1.json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from .. import __version__
from .schemas import CurveRequest, evaluate_request_model

TITLE = "Loss service"
DESCRIPTION = (
    "Loss values, per-sample losses, exact gradients and statistics for a catalogue of loss "
    "functions. Errors are RFC 9457 problem details."
)


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=TITLE, version=__version__, description=DESCRIPTION, routes=app.routes)
    _, definitions = models_json_schema(
        [(evaluate_request_model(), "validation"), (CurveRequest, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    document["components"]["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "Needed when the service has LOSS_SERVICE_API_KEYS set.",
        }
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if path.startswith("/v1/"):
                operation["security"] = [{}, {"bearerAuth": []}]
            # Every error is problem+json, FastAPI's own validation errors included.
            for status, response in operation.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    response["content"] = problem
                    if status == "422":
                        response["description"] = "Problem details (RFC 9457)."
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document
