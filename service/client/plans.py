"""What each client method asks of the API, written once for the blocking and the asyncio client.

A plan is a generator: it yields a ``Call`` to send (and receives the ``httpx.Response``, or the
transport error) or a ``Sleep`` before trying again, and returns the method's result. The clients
only carry the calls out; everything else (bodies, retries, problems, splitting) is here, free of
I/O, and the same for both.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, TypeVar
from urllib.parse import quote

import httpx
import numpy as np

from . import bodies, merge
from .problem import ProblemError
from .results import Catalogue, CurveResult, Evaluation, LossInfo, decoder
from .retry import Retry

T = TypeVar("T")
LossSpec = str | Mapping[str, Any]
Losses = LossSpec | Sequence[LossSpec]


@dataclass(frozen=True)
class Call:
    """One HTTP request to make; ``idempotent`` calls may be retried."""

    method: str
    path: str
    body: bodies.Body | None = None
    params: Mapping[str, Any] | None = None
    idempotent: bool = True


@dataclass(frozen=True)
class Sleep:
    seconds: float


Outcome = httpx.Response | Exception | None
Plan = Generator[Call | Sleep, Outcome, T]


@dataclass(frozen=True)
class Limits:
    """What one request may carry: the service's ``LOSS_SERVICE_MAX_ELEMENTS`` (per array) and
    ``LOSS_SERVICE_MAX_BODY_BYTES``. Larger arrays are split into several requests where the
    answers merge exactly."""

    max_elements: int = 4_000_000
    max_body_bytes: int = 64 * 1024 * 1024


class EvaluateOptions(TypedDict, total=False):
    """The request fields of ``POST /v1/evaluate`` besides the arrays and the losses."""

    reduction: Literal["mean", "sum", "sum_over_batch_size", "none"]
    nan_policy: Literal["raise", "omit", "propagate"]
    include: Sequence[Literal["stats", "per_sample", "gradient", "breakdown", "inputs"]]
    top_k: int
    array_encoding: Literal["list", "base64"]


def send(retry: Retry, call: Call) -> Plan[httpx.Response]:
    """Send ``call`` until it succeeds, retrying as ``retry`` allows; a problem answer raises."""
    for attempt in itertools.count():
        outcome = yield call
        if isinstance(outcome, Exception):
            delay = retry.after_error(attempt, outcome, call.idempotent)
            if delay is None:
                raise outcome
        else:
            assert outcome is not None
            delay = retry.after_response(attempt, outcome, call.idempotent)
            if delay is None:
                if outcome.is_success:
                    return outcome
                raise ProblemError.from_response(outcome)
        yield Sleep(delay)
    raise AssertionError("unreachable")


_CATALOGUE = decoder(Catalogue)
_LOSS = decoder(LossInfo)
_EVALUATION = decoder(Evaluation)
_CURVE = decoder(CurveResult)


def catalogue(retry: Retry) -> Plan[list[LossInfo]]:
    response = yield from send(retry, Call("GET", "/v1/losses"))
    return _CATALOGUE.decode(response.content).losses


def loss(retry: Retry, name: str) -> Plan[LossInfo]:
    response = yield from send(retry, Call("GET", f"/v1/losses/{quote(name, safe='')}"))
    return _LOSS.decode(response.content)


def curve(
    retry: Retry,
    name: str,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    target: float,
    start: float,
    stop: float,
    num: int,
) -> Plan[CurveResult]:
    fields: dict[str, Any] = {"target": target, "start": start, "stop": stop, "num": num}
    if params is not None:
        fields["params"] = dict(params) if isinstance(params, Mapping) else [dict(p) for p in params]
    # Base64 arrays decode without parsing a float per point. The call has no side effect: safe to retry.
    body = bodies.json_body(fields | {"array_encoding": "base64"})
    response = yield from send(retry, Call("POST", f"/v1/losses/{quote(name, safe='')}/curve", body))
    return _CURVE.decode(response.content)


def loss_specs(losses: Losses) -> list[Any]:
    if isinstance(losses, str | Mapping):
        return [losses if isinstance(losses, str) else dict(losses)]
    return [spec if isinstance(spec, str) else dict(spec) for spec in losses]


def evaluate(
    retry: Retry,
    limits: Limits,
    predictions: Any,
    targets: Any,
    losses: Losses,
    weights: Any,
    options: EvaluateOptions,
) -> Plan[Evaluation]:
    """``POST /v1/evaluate``, split into several requests when the arrays exceed ``limits``."""
    unknown = set(options) - set(EvaluateOptions.__annotations__)
    if unknown:
        raise TypeError(
            f"evaluate() got unexpected options {sorted(unknown)}; known: "
            f"{sorted(EvaluateOptions.__annotations__)}"
        )
    arrays = {"predictions": bodies.as_array(predictions, "predictions")}
    if targets is not None:
        arrays["targets"] = bodies.as_array(targets, "targets")
    if weights is not None:
        arrays["weights"] = bodies.as_array(weights, "weights")
    # Arrays come back as base64 unless asked otherwise: decoding them parses no float.
    fields: dict[str, Any] = {"losses": loss_specs(losses), "array_encoding": "base64", **options}
    if "include" in fields:
        fields["include"] = list(fields["include"])
    rows = merge.rows_per_request(arrays, limits)
    n_samples = merge.n_rows(arrays)
    if rows is None or n_samples <= rows:
        return (yield from _evaluate_once(retry, arrays, fields))
    merge.check_splittable(arrays, fields, n_samples, rows, limits)
    if fields.get("reduction", "mean") != "none":
        merge.check_plain_sums(fields["losses"], (yield from catalogue(retry)))
    parts = []
    for start in range(0, n_samples, rows):
        part = {name: array[start : start + rows] for name, array in arrays.items()}
        try:
            parts.append((yield from _evaluate_once(retry, part, merge.chunk_fields(fields))))
        except ProblemError as problem:
            raise problem.shifted(start) from None
    return merge.merge(parts, fields.get("reduction", "mean"), fields.get("nan_policy", "raise"))


def _evaluate_once(retry: Retry, arrays: dict[str, np.ndarray], fields: dict[str, Any]) -> Plan[Evaluation]:
    elements = sum(array.size for array in arrays.values())
    body = bodies.encode(arrays, fields, npz=elements >= bodies.NPZ_FROM_ELEMENTS)
    # Evaluation has no side effect on the service: safe to retry.
    response = yield from send(retry, Call("POST", "/v1/evaluate", body))
    return _EVALUATION.decode(response.content)


def request(
    retry: Retry,
    method: str,
    path: str,
    json: Any,
    params: Mapping[str, Any] | None,
    idempotent: bool | None,
) -> Plan[Any]:
    """Any call of the API: the JSON answer (None when it has no body)."""
    body = None if json is None else bodies.json_body(json)
    if idempotent is None:
        idempotent = method.upper() in IDEMPOTENT_METHODS
    response = yield from send(retry, Call(method.upper(), path, body, params, idempotent))
    return response.json() if response.content else None


# RFC 9110 §9.2.2: requests whose effect is the same when made once or several times.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
