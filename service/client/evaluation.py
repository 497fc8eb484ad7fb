"""The plan of ``evaluate``: one request, or several when the arrays exceed one request's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .arrays import array_body, given_arrays
from .merge import check_plain_sums, check_splittable, chunk_fields, n_rows, rows_per_request
from .merge import merge as merge_parts
from .plans import Call, EvaluateOptions, Limits, Losses, Plan, catalogue, refuse_unknown, send
from .problem import ProblemError
from .results import Evaluation, decoder
from .retry import Retry

_EVALUATION = decoder(Evaluation)


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
    refuse_unknown("evaluate", options, EvaluateOptions)
    given = given_arrays(predictions, targets, weights)
    # Arrays come back as base64 unless asked otherwise: decoding them parses no float.
    fields: dict[str, Any] = {"losses": loss_specs(losses), "array_encoding": "base64", **options}
    if "include" in fields:
        fields["include"] = list(fields["include"])
    rows = rows_per_request(given, limits)
    n_samples = n_rows(given)
    if rows is None or n_samples <= rows:
        return (yield from _evaluate_once(retry, given, fields))
    check_splittable(given, fields, n_samples, rows, limits)
    if fields.get("reduction", "mean") != "none":
        check_plain_sums(fields["losses"], (yield from catalogue(retry)))
    parts = []
    for start in range(0, n_samples, rows):
        part = {name: array[start : start + rows] for name, array in given.items()}
        try:
            parts.append((yield from _evaluate_once(retry, part, chunk_fields(fields))))
        except ProblemError as problem:
            raise problem.shifted(start) from None
    return merge_parts(parts, fields.get("reduction", "mean"), fields.get("nan_policy", "raise"))


def _evaluate_once(retry: Retry, given: dict[str, np.ndarray], fields: dict[str, Any]) -> Plan[Evaluation]:
    body = array_body(given, fields)
    # Evaluation has no side effect on the service: safe to retry.
    response = yield from send(retry, Call("POST", "/v1/evaluate", body))
    return _EVALUATION.decode(response.content)
