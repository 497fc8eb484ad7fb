"""Routes under /v1. Each endpoint translates HTTP to the core's terms, delegates, and encodes.

Bodies are read and parsed here once (msgspec), not by FastAPI's default body handling, which would
parse with the standard library and then walk every array element through Pydantic. The request
models still validate everything but the arrays, and still document the body in OpenAPI; responses
are written by orjson, NumPy arrays included.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope

from .. import metrics
from ..config import Settings
from ..losses import registry
from ..losses.curve import curve, curve_grid
from ..losses.errors import LossError, UnknownLoss
from ..losses.evaluate import Options, evaluate
from ..losses.stats import describe
from . import translate
from .arrays import decode, decode_npz
from .body import NPZ, media_type, parse_json, read_json, read_limited
from .openapi import documents_body
from .problems import PROBLEM_JSON, Problem, ProblemDetails, validation_problem
from .schemas import (
    Catalogue,
    CatalogueEntry,
    CurveRequest,
    CurveResponse,
    EvaluateResponse,
    evaluate_request_model,
    params_model,
)

# Bodies above this size are parsed and evaluated on a worker thread, so that a large request
# never stalls the event loop; smaller ones are cheaper to run inline than to hand over.
INLINE_BODY_BYTES = 256 * 1024


def _problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": ProblemDetails,
            "content": {PROBLEM_JSON: {}},
            "description": "Problem details (RFC 9457).",
        }
        for status in statuses
    }


def dump(body: Any) -> bytes:
    """JSON with NumPy arrays written directly; NaN and infinities become null."""
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(body: Any, status: int = 200) -> Response:
    content = body if isinstance(body, bytes) else dump(body)
    return Response(content, status_code=status, media_type="application/json")


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def check_api_key(authorization: str | None, keys: list[str]) -> None:
    """Bearer authentication when API keys are configured; keys compared in constant time."""
    if not keys:
        return
    scheme, _, token = (authorization or "").partition(" ")
    presented = token.strip().encode()
    matched = False
    for key in keys:  # Compare with every key, so timing does not reveal which one matched.
        matched |= hmac.compare_digest(presented, key.encode())
    if scheme.lower() != "bearer" or not matched:
        raise Problem(
            401,
            "unauthorized",
            "Authentication required",
            "Send a valid API key as 'Authorization: Bearer <key>'.",
            [("header.authorization", "missing or invalid bearer token")],
            headers={"WWW-Authenticate": 'Bearer realm="loss-service"'},
        )


async def require_api_key(request: Request) -> None:
    check_api_key(request.headers.get("authorization"), settings_of(request).api_keys)


router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])


def _unknown_in_path(name: str) -> Problem:
    error = UnknownLoss(name, registry.suggest(name))
    return Problem(404, error.kind, error.title, error.detail, [("path.name", error.detail)])


def _definition(name: str) -> Any:
    try:
        return registry.get(name)
    except UnknownLoss:
        raise _unknown_in_path(name) from None


@router.get(
    "/losses",
    operation_id="list_losses",
    tags=["catalogue"],
    response_model=Catalogue,
    summary="The loss catalogue",
)
async def list_losses(request: Request) -> Response:
    return Response(request.app.state.catalogue, media_type="application/json")


@router.get(
    "/losses/{name}",
    operation_id="get_loss",
    tags=["catalogue"],
    response_model=CatalogueEntry,
    summary="One catalogue entry (aliases resolve)",
    responses=_problem_responses(404),
)
async def get_loss(
    name: Annotated[str, Path(description="A loss's canonical name or alias.")],
) -> Response:
    return json_response(translate.catalogue_entry(_definition(name)))


ARRAY_FIELDS = ("predictions", "targets", "weights")


def npz_request_fields(model: type[BaseModel]) -> Callable[[bytes, str], dict[str, Any]]:
    """The parser of an NPZ body's ``request.json``: the ``model`` request without its arrays."""

    def fields(data: bytes, location: str) -> dict[str, Any]:
        return parse_json(data, model, location)

    return fields


def parse_body(
    body: bytes | bytearray, media: str, settings: Settings, model: type[BaseModel]
) -> dict[str, Any]:
    """The payload of a ``model`` request: parsed JSON, or an NPZ body's arrays and request fields."""
    with metrics.stage("parse"):
        if media == NPZ:
            return decode_npz(body, settings.max_elements, settings.max_body_bytes, npz_request_fields(model))
        return parse_json(body, model)


async def serve_evaluate(scope: Scope, receive: Receive, settings: Settings) -> bytes:
    """POST /v1/evaluate at the ASGI level: authenticate, read the body within limits, evaluate.

    Small bodies are evaluated inline (a thread hop would cost more than the work); large ones on a
    worker thread, so that the event loop keeps serving other requests meanwhile.
    """
    headers = Headers(scope=scope)
    check_api_key(headers.get("authorization"), settings.api_keys)
    media = media_type(headers.get("content-type"))
    body = await read_limited(receive, headers.get("content-length"), settings.max_body_bytes)
    large = len(body) > INLINE_BODY_BYTES
    # The body is handed over in a list that the evaluation empties, so that no frame keeps it
    # alive once it is parsed: the peak memory of a request is then its body or its arrays.
    handover = [body]
    del body
    if large:
        return await run_in_threadpool(parse_and_evaluate, handover, media, settings)
    return parse_and_evaluate(handover, media, settings)


def parse_and_evaluate(handover: list[bytearray], media: str, settings: Settings) -> bytes:
    return evaluate_payload(parse_body(handover.pop(), media, settings, evaluate_request_model()), settings)


def decode_request(
    payload: Any, model: type[BaseModel], settings: Settings
) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Validate a request with arrays (evaluate, a run's batch) and decode its arrays to float64.

    ``payload``'s arrays are consumed (popped) on the way.
    """
    with metrics.stage("decode"):
        request = model.model_validate(payload)
        arrays: dict[str, np.ndarray | None] = {}
        for name in ARRAY_FIELDS:
            raw = getattr(request, name)
            # Drop every other reference before decoding: a list of Python floats takes four times
            # the memory of the float64 array it becomes, and is freed as soon as that exists.
            setattr(request, name, None)
            if isinstance(payload, dict):
                payload.pop(name, None)
            # null predictions: decode's 422; no targets: the core's 422 unless no loss takes any.
            optional = raw is None and name != "predictions"
            arrays[name] = None if optional else decode(raw, f"body.{name}", settings.max_elements)
            del raw
    predictions, targets, weights = arrays["predictions"], arrays["targets"], arrays["weights"]
    assert predictions is not None  # a required field of the request
    return request, predictions, targets, weights


def options_of(request: Any) -> Options:
    """The evaluation options of a validated request."""
    return Options(
        reduction=request.reduction,
        nan_policy=request.nan_policy,
        include=frozenset(request.include),
        top_k=request.top_k,
    )


def evaluate_payload(payload: Any, settings: Settings) -> bytes:
    """Validate, decode, evaluate and encode; ``payload``'s arrays are consumed (popped) on the way."""
    request, predictions, targets, weights = decode_request(payload, evaluate_request_model(), settings)
    specs = [translate.to_spec(spec) for spec in request.losses]
    options = options_of(request)
    include = options.include
    with metrics.stage("compute"):
        results = evaluate(specs, predictions, targets, weights, options)
        inputs = None
        if "inputs" in include:
            inputs = (describe(predictions), None if targets is None else describe(targets))
    for result in results:
        metrics.evaluated(result.loss, int(predictions.size))
    with metrics.stage("encode"):
        encoding = request.array_encoding
        body: dict[str, Any] = {
            "api_version": "v1",
            "n_samples": int(predictions.shape[0]),
            "results": [translate.result_body(r, encoding) for r in results],
        }
        if inputs is not None:
            body["inputs"] = {
                "predictions": translate.summary_body(inputs[0]),
                "targets": None if inputs[1] is None else translate.summary_body(inputs[1]),
            }
        return dump(body)


@router.post(
    "/evaluate",
    operation_id="evaluate",
    tags=["evaluation"],
    summary="Evaluate one or more losses on one set of arrays",
    response_model=EvaluateResponse,
    responses=_problem_responses(400, 401, 413, 415, 422),
)
@documents_body(evaluate_request_model(), npz=True)
async def evaluate_endpoint(request: Request) -> Response:
    # Normally answered by EvaluateFastPath before routing; this route documents the operation,
    # answers 405 for other methods, and serves POST when the app runs without the fast path.
    return json_response(await serve_evaluate(request.scope, request.receive, settings_of(request)))


def _curve(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    definition = _definition(name)
    if not definition.scalar_prediction:
        detail = (
            f"{definition.name} has no scalar curve (its prediction per sample is not one free "
            "number); curves exist for losses whose catalogue entry says curve: true."
        )
        raise Problem(422, "no-curve", "No scalar curve", detail, [("path.name", detail)])
    request = CurveRequest.model_validate(payload)
    param_sets = request.params if isinstance(request.params, list) else [request.params]
    x = curve_grid(request.start, request.stop, request.num)
    curves = []
    for i, raw in enumerate(param_sets):
        try:
            params = params_model(definition.name).model_validate(raw)
        except ValidationError as error:
            root = f"body.params[{i}]" if isinstance(request.params, list) else "body.params"
            # The document cannot tie the body's parameters to the loss in the path: a problem of its own.
            raise validation_problem(
                error.errors(), root, "invalid-parameters", f"Parameters do not fit {definition.name}"
            ) from None
        try:
            values, gradient = curve(definition, params, request.target, x)
        except LossError as error:
            raise _curve_problem(error, request) from None
        curves.append((params.model_dump(mode="json"), values, gradient))
    return translate.curve_body(definition.name, request.target, x, curves, request.array_encoding)


def _curve_problem(error: LossError, request: CurveRequest) -> Problem:
    """A core error on a curve, blamed on the range (the predictions) or the target."""
    blamed = {item.location[:1] for item in error.errors}
    fields = [("body.target",)] if blamed == {("targets",)} else [("body.start",), ("body.stop",)]
    detail = (
        f"The curve from start={request.start} to stop={request.stop} with target={request.target} "
        f"cannot be drawn for these parameters: {error.detail}"
    )
    return Problem(422, error.kind, error.title, detail, [(field, error.detail) for (field,) in fields])


CURVE_NAMES = [name for d in registry.definitions() if d.scalar_prediction for name in (d.name, *d.aliases)]


@router.post(
    "/losses/{name}/curve",
    operation_id="loss_curve",
    tags=["catalogue"],
    summary="A loss and its gradient over a range of scalar predictions",
    response_model=CurveResponse,
    responses=_problem_responses(400, 401, 404, 413, 415, 422),
)
@documents_body(CurveRequest)
async def curve_endpoint(
    name: Annotated[
        str,
        Path(
            description="A loss with a curve (catalogue curve: true), by canonical name or alias.",
            json_schema_extra={"enum": CURVE_NAMES},
        ),
    ],
    request: Request,
) -> Response:
    payload = await read_json(request, CurveRequest, settings_of(request).max_body_bytes)
    return json_response(_curve(name, payload))
