"""The OpenAPI 3.1 document of v1, and the command that writes it to ``openapi/v1.json``.

Request bodies are read by hand (see ``v1.py``), so their models are added to the components here.

    python -m service.api.openapi            # rewrite openapi/v1.json
    python -m service.api.openapi --check    # exit 1 if the committed file differs
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from .. import __version__
from .run_models import batch_request_model, run_request_model
from .schemas import CurveRequest, evaluate_request_model

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "v1.json"
TITLE = "Loss service"
DESCRIPTION = (
    "Loss values, per-sample losses, exact gradients and statistics for a catalogue of loss "
    "functions. Errors are RFC 9457 problem details."
)


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=TITLE, version=__version__, description=DESCRIPTION, routes=app.routes)
    _, definitions = models_json_schema(
        [
            (evaluate_request_model(), "validation"),
            (CurveRequest, "validation"),
            (run_request_model(), "validation"),
            (batch_request_model(), "validation"),
        ],
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


def render(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main(argv: list[str]) -> int:
    from ..app import create_app
    from ..config import Settings

    text = render(create_app(Settings()).openapi())
    if "--check" in argv:
        if not DOCUMENT.exists() or DOCUMENT.read_bytes() != text:
            print(f"{DOCUMENT} is out of date: run python -m service.api.openapi", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_bytes(text)
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
