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
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from .bodies import Body, json_body
from .problem import ProblemError
from .retry import Retry
from .structs import Catalogue, LossInfo

if TYPE_CHECKING:
    from .results import CurveResult

T = TypeVar("T")
# The most runs one page of GET /v1/runs holds.
MAX_PAGE = 1000
LossSpec = str | Mapping[str, Any]
Losses = LossSpec | Sequence[LossSpec]


@dataclass(frozen=True)
class Call:
    """One HTTP request to make; ``idempotent`` calls may be retried."""

    method: str
    path: str
    body: Body | None = None
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


def refuse_unknown(caller: str, given: Mapping[str, Any], known: Any, what: str = "options") -> None:
    """Refuse keyword arguments that the TypedDict ``known`` does not declare (as Python would)."""
    unknown = set(given) - set(known.__annotations__)
    if unknown:
        raise TypeError(
            f"{caller}() got unexpected {what} {sorted(unknown)}; known: {sorted(known.__annotations__)}"
        )


def send(retry: Retry, call: Call, done_on_retry: frozenset[int] = frozenset()) -> Plan[httpx.Response]:
    """Send ``call`` until it succeeds, retrying as ``retry`` allows; a problem answer raises.

    ``done_on_retry``: statuses that, answered to a retry, mean that an earlier try took effect
    (a DELETE whose answer was lost is answered 404 when tried again); returned, not raised.
    """
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
                if outcome.is_success or (attempt and outcome.status_code in done_on_retry):
                    return outcome
                raise ProblemError.from_response(outcome)
        yield Sleep(delay)
    raise AssertionError("unreachable")


_CATALOGUE = msgspec.json.Decoder(Catalogue)
_LOSS = msgspec.json.Decoder(LossInfo)


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
    body = json_body(fields | {"array_encoding": "base64"})
    response = yield from send(retry, Call("POST", f"/v1/losses/{quote(name, safe='')}/curve", body))
    from .results import CURVE  # NumPy, loaded by the first call that needs it

    return CURVE.decode(response.content)


def request(
    retry: Retry,
    method: str,
    path: str,
    json: Any,
    params: Mapping[str, Any] | None,
    idempotent: bool | None,
) -> Plan[Any]:
    """Any call of the API: the JSON answer (None when it has no body)."""
    body = None if json is None else json_body(json)
    if idempotent is None:
        idempotent = method.upper() in IDEMPOTENT_METHODS
    response = yield from send(retry, Call(method.upper(), path, body, params, idempotent))
    return response.json() if response.content else None


# RFC 9110 §9.2.2: requests whose effect is the same when made once or several times.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
