"""The plans of the runs methods (``/v1/runs``), written once for both clients (see ``plans``).

Every call here is idempotent and so retried: PUT, GET and DELETE by their nature, and a batch
because it always carries a ``batch_id`` (generated when the caller gives none, once per call, so
that each retry sends the same one): a batch the service recorded before its answer was lost is
answered as a duplicate and not counted twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypedDict
from urllib.parse import quote

from .arrays import array_body, given_arrays
from .bodies import json_body
from .evaluation import loss_specs
from .plans import Call, EvaluateOptions, Losses, Plan, refuse_unknown, send
from .retry import Retry
from .run_results import (
    DIAGNOSTICS,
    LOGGED_BATCH,
    RUN,
    RUN_LIST,
    RUN_SUMMARY,
    SERIES,
    CreatedRun,
    Diagnostics,
    LoggedBatch,
    Run,
    RunList,
    RunSummary,
    Series,
)

Time = datetime | str
Names = str | Sequence[str]
Tags = Mapping[str, str] | Sequence[str]


class BatchOptions(EvaluateOptions, total=False):
    """A batch's request fields besides its arrays, where it falls and its ``batch_id``: they shape
    only this answer (``reduction``, ``include``...) or how non-finite rows count (``nan_policy``)."""


class Window(TypedDict, total=False):
    """Which batches a summary or a series covers, and how a window's value reduces."""

    split: Names
    loss: Names
    from_: Time
    to: Time
    step_from: int
    step_to: int
    reduction: Literal["mean", "sum", "sum_over_batch_size"]


def run_path(run: str, *rest: str) -> str:
    return "/".join(["/v1/runs", quote(run, safe=""), *rest])


def timestamp(value: Time) -> str:
    """RFC 3339 with an offset; a naive datetime is refused rather than guessed."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone; give an aware datetime (e.g. tzinfo=UTC).")
    return value.isoformat()


def _names(value: Names | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def window_params(caller: str, window: Window) -> dict[str, Any]:
    refuse_unknown(caller, window, Window, "arguments")
    params: dict[str, Any] = {}
    for name, value in window.items():
        if value is None:
            continue
        if name in ("split", "loss"):
            params[name] = _names(value)  # type: ignore[arg-type]
        elif name in ("from_", "to"):
            params[name.rstrip("_")] = timestamp(value)  # type: ignore[arg-type]
        else:
            params[name] = value
    return params


def create_run(
    retry: Retry,
    name: str,
    losses: Losses,
    description: str | None,
    tags: Mapping[str, str] | None,
    alerts: Sequence[Mapping[str, Any]] | None,
) -> Plan[CreatedRun]:
    """``PUT /v1/runs/{name}``: 201 created, 200 found with the same losses, 409 (raised) otherwise.
    A description, tags or alert rules given replace the stored ones."""
    body: dict[str, Any] = {"losses": loss_specs(losses)}
    if description is not None:
        body["description"] = description
    if tags is not None:
        body["tags"] = dict(tags)
    if alerts is not None:
        body["alerts"] = [dict(rule) for rule in alerts]
    response = yield from send(retry, Call("PUT", run_path(name), json_body(body)))
    return CreatedRun(RUN.decode(response.content), response.status_code == 201)


def tag_params(tags: Tags | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, Mapping):
        return [f"{key}:{value}" for key, value in tags.items()]
    return list(tags)


def runs(retry: Retry, tags: Tags | None, limit: int | None, page_size: int) -> Plan[RunList]:
    """``GET /v1/runs`` page after page (``next_cursor``) until ``limit`` runs or the last one."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1; got {limit}.")
    found: list[Run] = []
    cursor: str | None = None
    while True:
        wanted = page_size if limit is None else min(page_size, limit - len(found))
        params: dict[str, Any] = {"limit": wanted, "tag": tag_params(tags)}
        if cursor is not None:
            params["cursor"] = cursor
        response = yield from send(retry, Call("GET", "/v1/runs", params=params))
        page = RUN_LIST.decode(response.content)
        found.extend(page.runs)
        cursor = page.next_cursor
        if cursor is None or (limit is not None and len(found) >= limit):
            return RunList(found, cursor)


def run(retry: Retry, name: str) -> Plan[Run]:
    response = yield from send(retry, Call("GET", run_path(name)))
    return RUN.decode(response.content)


def delete_run(retry: Retry, name: str) -> Plan[None]:
    """``DELETE /v1/runs/{name}``; 404 raises, unless it answers a retry: the try whose answer was
    lost had deleted the run."""
    yield from send(retry, Call("DELETE", run_path(name)), done_on_retry=frozenset({404}))


def log_batch(
    retry: Retry,
    run: str,
    predictions: Any,
    targets: Any,
    weights: Any,
    split: str,
    step: int | None,
    time: Time | None,
    batch_id: str | None,
    options: BatchOptions,
) -> Plan[LoggedBatch]:
    """``POST /v1/runs/{run}/batches`` with a ``batch_id`` (a fresh UUID when none is given)."""
    refuse_unknown("log_batch", options, BatchOptions)
    given = given_arrays(predictions, targets, weights)
    fields: dict[str, Any] = {
        "split": split,
        "batch_id": batch_id or uuid.uuid4().hex,
        "array_encoding": "base64",
        **options,
    }
    if step is not None:
        fields["step"] = step
    if time is not None:
        fields["time"] = timestamp(time)
    if "include" in fields:
        fields["include"] = list(fields["include"])
    body = array_body(given, fields)
    response = yield from send(retry, Call("POST", run_path(run, "batches"), body))
    return LOGGED_BATCH.decode(response.content)


def summary(retry: Retry, run: str, window: Window) -> Plan[RunSummary]:
    response = yield from send(
        retry, Call("GET", run_path(run, "summary"), params=window_params("summary", window))
    )
    return RUN_SUMMARY.decode(response.content)


def series(
    retry: Retry,
    run: str,
    by: Literal["step", "time"],
    interval: str | int | None,
    max_points: int | None,
    window: Window,
) -> Plan[Series]:
    params = window_params("series", window) | {"by": by}
    if interval is not None:
        params["interval"] = str(interval)
    if max_points is not None:
        params["max_points"] = max_points
    response = yield from send(retry, Call("GET", run_path(run, "series"), params=params))
    return SERIES.decode(response.content)


class DiagnosticsOptions(TypedDict, total=False):
    """The parameters of ``GET /v1/runs/{run}/diagnostics`` (Keras ``EarlyStopping``'s and more)."""

    loss: str
    split: str
    reference_split: str
    patience: int
    min_delta: float
    baseline: float
    start_from_step: int
    divergence: float


def diagnostics(retry: Retry, run: str, options: DiagnosticsOptions) -> Plan[Diagnostics]:
    refuse_unknown("diagnostics", options, DiagnosticsOptions, "arguments")
    params = {key: value for key, value in options.items() if value is not None}
    response = yield from send(retry, Call("GET", run_path(run, "diagnostics"), params=params))
    return DIAGNOSTICS.decode(response.content)
