"""Routes under /v1/runs (SPEC §7): translate HTTP to the monitoring layer's terms and back.

Times are RFC 3339 in the API and integer microseconds since the epoch below it.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..config import Settings
from ..losses.accumulate import RELATIVE_ACCURACY, Summary
from ..losses.base import Reduction
from ..monitoring.diagnostics import DiagnosticsParams
from ..monitoring.diagnostics import to_dict as diagnostics_dict
from ..monitoring.history import STEP_SERIES, TIME_SERIES, Merged
from ..monitoring.names import RUN_NAME, SPLIT
from ..monitoring.overview import RunOverview
from ..monitoring.runs import BatchFields, BatchOutcome, Monitor, Run
from ..monitoring.windows import INTERVAL_PATTERN, parse_interval
from ..monitoring.windows import Query as Window
from . import translate
from .body import media_type, read_json, read_limited
from .openapi import documents_body
from .problems import Problem
from .run_models import (
    MAX_STEP,
    BatchResponse,
    DiagnosticsResponse,
    Instant,
    RunList,
    RunModel,
    SeriesResponse,
    SummaryResponse,
    batch_request_model,
    run_request_model,
)
from .v1 import (
    INLINE_BODY_BYTES,
    _problem_responses,
    decode_request,
    json_response,
    options_of,
    parse_body,
    require_api_key,
    settings_of,
)

router = APIRouter(prefix="/v1/runs", tags=["runs"], dependencies=[Depends(require_api_key)])
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RunName = Annotated[
    str,
    Path(pattern=RUN_NAME, max_length=128, description="1–128 of A-Za-z0-9._:-, from a letter or digit."),
]


def monitor_of(request: Request) -> Monitor:
    monitor: Monitor = request.app.state.monitor
    return monitor


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def rfc3339(us: int | None) -> str | None:
    if us is None:
        return None
    return (EPOCH + timedelta(microseconds=us)).isoformat().replace("+00:00", "Z")


def invalid_query(location: str, detail: str) -> Problem:
    return Problem(422, "invalid-query", "Invalid query", f"{location}: {detail}", [(location, detail)])


def run_body(run: Run, overview: RunOverview | None) -> dict[str, Any]:
    record = run.record
    specs = run.losses()

    def params(index: int) -> dict[str, Any]:
        return {k: v for k, v in specs[index].items() if k != "name"}

    body = {
        "name": record.name,
        "losses": specs,
        "description": record.description,
        "tags": record.tags,
        "alerts": [rule.model_dump() for rule in run.alerts()],
        "created_at": rfc3339(record.created_at),
        "batches": record.batches,
        "splits": list(record.splits),
        "first_time": rfc3339(record.first_time),
        "last_time": rfc3339(record.last_time),
        "last_step": record.last_step,
        "quantile_relative_accuracy": RELATIVE_ACCURACY,
        "diagnostics": [],
        "latest": [],
    }
    if overview is not None:
        body["diagnostics"] = [
            {
                "loss": specs[s.loss]["name"],
                "params": params(s.loss),
                "status": s.status,
                "best_step": s.best_step,
                "best_value": s.best_value,
                "stop_step": s.stop_step,
            }
            for s in overview.statuses
        ]
        body["latest"] = [
            {
                "split": x.split,
                "loss": specs[x.loss]["name"],
                "params": params(x.loss),
                "step": x.step,
                "value": x.value,
            }
            for x in overview.latest
        ]
    return body


def figures(merged: Merged, summary: Summary) -> dict[str, Any]:
    return {
        "batches": merged.batches,
        "count": summary.count,
        "weight_sum": summary.weight_sum,
        "value": summary.value,
        "omitted": summary.omitted,
        "ignored": summary.ignored,
        "clipped": summary.clipped,
        "stats": {
            "mean": summary.mean,
            "std": summary.std,
            "min": summary.min,
            "max": summary.max,
            "sum": summary.sum,
            "quantiles": summary.quantiles,
        },
    }


def batch_body(outcome: BatchOutcome, encoding: Any) -> dict[str, Any]:
    if outcome.results is not None:
        results = [translate.result_body(r, encoding) for r in outcome.results]
    else:
        results = outcome.stored or []
    return {
        "run": outcome.run,
        "batch_id": outcome.batch_id,
        "sequence": outcome.sequence,
        "split": outcome.split,
        "step": outcome.step,
        "time": rfc3339(outcome.time),
        "duplicate": outcome.duplicate,
        "results": results,
    }


# ---- runs ----------------------------------------------------------------------------------------


@router.put(
    "/{run}",
    operation_id="create_run",
    summary="Create a run (idempotent); update its description and tags",
    response_model=RunModel,
    status_code=201,
    responses={
        200: {"model": RunModel, "description": "The run exists with the same losses."},
        **_problem_responses(400, 401, 409, 413, 415, 422, 503),
    },
)
@documents_body(run_request_model())
async def create_run(run: RunName, request: Request) -> Response:
    payload = await read_json(request, run_request_model(), settings_of(request).max_body_bytes)
    body: Any = run_request_model().model_validate(payload)
    monitor = monitor_of(request)
    found, created = await monitor.put_run(
        run,
        [translate.to_spec(spec) for spec in body.losses],
        body.description,
        body.tags,
        body.alerts,
        given=body.model_fields_set,
    )
    overview = await monitor.overview([found])
    return json_response(run_body(found, overview[found.id]), 201 if created else 200)


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = -1
    if value < 0:
        raise invalid_query("query.cursor", "cursor is not a next_cursor this service gave out.")
    return value


def _next_cursor(runs: list[Run], limit: int) -> str | None:
    if len(runs) < limit:
        return None
    return base64.urlsafe_b64encode(str(runs[-1].id).encode()).decode().rstrip("=")


def _tags(tags: list[str]) -> list[tuple[str, str]]:
    out = []
    for i, tag in enumerate(tags):
        key, colon, value = tag.partition(":")
        if not colon or not key:
            raise invalid_query(f"query.tag[{i}]", f"tag must be key:value; got {tag!r}.")
        out.append((key, value))
    return out


@router.get(
    "",
    operation_id="list_runs",
    summary="Runs, newest first, filtered by tags",
    response_model=RunList,
    responses=_problem_responses(401, 422, 503),
)
async def list_runs(
    request: Request,
    tag: Annotated[
        list[Annotated[str, Query(pattern=r"^[^:]+:", max_length=400)]],
        Query(description="key:value; repeat to require several.", max_length=32),
    ] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=64, description="next_cursor of the previous page.")
    ] = None,
) -> Response:
    monitor = monitor_of(request)
    runs = await monitor.list_runs(_tags(tag), limit, _cursor(cursor))
    overview = await monitor.overview(runs)
    return json_response(
        {"runs": [run_body(r, overview[r.id]) for r in runs], "next_cursor": _next_cursor(runs, limit)}
    )


@router.get(
    "/{run}",
    operation_id="get_run",
    summary="One run: its losses, tags, splits and extent",
    response_model=RunModel,
    responses=_problem_responses(401, 404, 422, 503),
)
async def get_run(run: RunName, request: Request) -> Response:
    monitor = monitor_of(request)
    found = await monitor.get_run(run)
    return json_response(run_body(found, (await monitor.overview([found]))[found.id]))


@router.delete(
    "/{run}",
    operation_id="delete_run",
    summary="Delete a run and all its history",
    status_code=204,
    responses=_problem_responses(401, 404, 422, 503),
)
async def delete_run(run: RunName, request: Request) -> Response:
    await monitor_of(request).delete_run(run)
    return Response(status_code=204)


# ---- batches ---------------------------------------------------------------------------------------


def parse_and_decode(handover: list[bytearray], media: str, settings: Settings) -> Any:
    payload = parse_body(handover.pop(), media, settings, batch_request_model())
    return decode_request(payload, batch_request_model(), settings)


@router.post(
    "/{run}/batches",
    operation_id="log_batch",
    summary="Evaluate a batch with the run's losses and record it (idempotent by batch_id)",
    response_model=BatchResponse,
    status_code=201,
    responses={
        200: {"model": BatchResponse, "description": "A duplicate of a recorded batch_id."},
        **_problem_responses(400, 401, 404, 409, 413, 415, 422, 503),
    },
)
@documents_body(batch_request_model(), npz=True)
async def log_batch(run: RunName, request: Request) -> Response:
    settings = settings_of(request)
    media = media_type(request.headers.get("content-type"))
    body = await read_limited(request.receive, request.headers.get("content-length"), settings.max_body_bytes)
    large = len(body) > INLINE_BODY_BYTES
    handover = [body]  # emptied by parse_and_decode, so that the body is freed once parsed
    del body
    decode = partial(parse_and_decode, handover, media, settings)
    batch, predictions, targets, weights = await run_in_threadpool(decode) if large else decode()
    fields = BatchFields(
        split=batch.split,
        step=batch.step,
        time=None if batch.time is None else to_us(batch.time),
        batch_id=batch.batch_id,
    )
    outcome = await monitor_of(request).log_batch(
        run, predictions, targets, weights, options_of(batch), fields, offload=large
    )
    return json_response(batch_body(outcome, batch.array_encoding), 200 if outcome.duplicate else 201)


# ---- history ---------------------------------------------------------------------------------------


class HistoryParams:
    """The window and the losses of a summary or series (query parameters)."""

    def __init__(
        self,
        split: Annotated[
            list[Annotated[str, Query(pattern=SPLIT)]] | None,
            Query(description="Splits (repeatable); default all.", max_length=64),
        ] = None,
        loss: Annotated[
            list[str] | None,
            Query(description="Losses by canonical name or alias (repeatable); default all.", max_length=32),
        ] = None,
        time_from: Annotated[
            Instant | None, Query(alias="from", description="RFC 3339; time >= from.")
        ] = None,
        time_to: Annotated[Instant | None, Query(alias="to", description="RFC 3339; time < to.")] = None,
        step_from: Annotated[int | None, Query(ge=0, le=MAX_STEP, description="step >= step_from.")] = None,
        step_to: Annotated[int | None, Query(ge=0, le=MAX_STEP, description="step <= step_to.")] = None,
        reduction: Annotated[
            Reduction, Query(description="How a window's value reduces; not 'none'.")
        ] = "mean",
    ) -> None:
        if reduction == "none":
            raise invalid_query("query.reduction", "a window's value needs mean, sum or sum_over_batch_size.")
        if time_from is not None and time_to is not None and time_from >= time_to:
            raise invalid_query("query.to", "to must be later than from.")
        if step_from is not None and step_to is not None and step_from > step_to:
            raise invalid_query("query.step_to", "step_to must not be below step_from.")
        self.window = Window(
            splits=tuple(split) if split else None,
            time_from=None if time_from is None else to_us(time_from),
            time_to=None if time_to is None else to_us(time_to),
            step_from=step_from,
            step_to=step_to,
        )
        self.losses = loss
        self.reduction = reduction


@router.get(
    "/{run}/summary",
    operation_id="run_summary",
    summary="One merged accumulator per (split, loss) over a window",
    response_model=SummaryResponse,
    responses=_problem_responses(401, 404, 422, 503),
)
async def run_summary(
    run: RunName, request: Request, params: Annotated[HistoryParams, Depends()]
) -> Response:
    found, items = await monitor_of(request).summary(run, params.window, params.losses, params.reduction)
    summaries = [
        {
            "split": item.split,
            "loss": item.spec["name"],
            "params": {k: v for k, v in item.spec.items() if k != "name"},
            **figures(item.merged, item.summary),
            "first_time": rfc3339(item.merged.first_time),
            "last_time": rfc3339(item.merged.last_time),
            "first_step": item.merged.first_step,
            "last_step": item.merged.last_step,
        }
        for item in items
    ]
    return json_response(
        {
            "run": found.record.name,
            "reduction": params.reduction,
            "quantile_relative_accuracy": RELATIVE_ACCURACY,
            "summaries": summaries,
        }
    )


@router.get(
    "/{run}/series",
    operation_id="run_series",
    summary="A series per (split, loss): points by step or by time bucket, adjacent ones merged",
    response_model=SeriesResponse,
    responses=_problem_responses(401, 404, 422, 503),
)
async def run_series(
    run: RunName,
    request: Request,
    params: Annotated[HistoryParams, Depends()],
    by: Annotated[
        Literal["step", "time"], Query(description="One point per step, or per time bucket.")
    ] = "step",
    interval: Annotated[
        str,
        Query(
            pattern=INTERVAL_PATTERN,
            description="by=time: seconds, or a count with s, m, h or d (30s, 5m, 1h, 1d).",
        ),
    ] = "1m",
    max_points: Annotated[
        int, Query(ge=1, le=10_000, description="Adjacent points are merged above this.")
    ] = 500,
) -> Response:
    try:
        seconds = parse_interval(interval)
    except ValueError as error:
        raise Problem(
            422, "invalid-query", "Invalid query", str(error), [("query.interval", str(error))]
        ) from None
    found, lines, factor = await monitor_of(request).series(
        run, params.window, params.losses, params.reduction, by, seconds, max_points
    )
    series = []
    for line in lines:
        points = []
        for point, summary in line.points:
            place = (
                {"step": point.start, "step_to": point.end}
                if by == STEP_SERIES
                else {"start": rfc3339(point.start), "end": rfc3339(point.end)}
            )
            points.append({**place, **figures(point.merged, summary)})
        series.append(
            {
                "split": line.split,
                "loss": line.spec["name"],
                "params": {k: v for k, v in line.spec.items() if k != "name"},
                "points": points,
            }
        )
    return json_response(
        {
            "run": found.record.name,
            "by": by,
            "interval": seconds if by == TIME_SERIES else None,
            "merged": factor,
            "reduction": params.reduction,
            "quantile_relative_accuracy": RELATIVE_ACCURACY,
            "series": series,
        }
    )


@router.get(
    "/{run}/diagnostics",
    operation_id="run_diagnostics",
    summary="Training diagnostics of one loss: early stopping, plateau, gap, overfitting, divergence; alerts",
    response_model=DiagnosticsResponse,
    responses=_problem_responses(401, 404, 422, 503),
)
async def run_diagnostics(
    run: RunName,
    request: Request,
    loss: Annotated[
        str | None, Query(max_length=64, description="Required when the run has several losses.")
    ] = None,
    split: Annotated[str, Query(pattern=SPLIT, description="The split diagnosed.")] = "validation",
    reference_split: Annotated[str, Query(pattern=SPLIT, description="Compared with.")] = "train",
    patience: Annotated[
        int, Query(ge=0, le=MAX_STEP, description="Steps without improvement before a stop.")
    ] = 10,
    min_delta: Annotated[float, Query(ge=0, allow_inf_nan=False, description="Smallest improvement.")] = 0.0,
    baseline: Annotated[
        str | None, Query(max_length=32, description="A value to beat (a number; empty: none).")
    ] = None,
    start_from_step: Annotated[
        int, Query(ge=0, le=MAX_STEP, description="Warm-up: earlier steps ignored.")
    ] = 0,
    divergence: Annotated[
        float, Query(ge=1, allow_inf_nan=False, description="Growth factor that diverges.")
    ] = 2.0,
) -> Response:
    if baseline in (None, ""):
        parsed_baseline = None
    else:
        try:
            parsed_baseline = float(baseline)  # type: ignore[arg-type]
        except ValueError:
            parsed_baseline = math.nan
        if not math.isfinite(parsed_baseline):
            raise invalid_query(
                "query.baseline", f"baseline must be a finite number or empty; got {baseline!r}."
            )
    params = DiagnosticsParams(
        split=split,
        reference_split=reference_split,
        patience=patience,
        min_delta=min_delta,
        baseline=parsed_baseline,
        start_from_step=start_from_step,
        divergence=divergence,
    )
    found, index, result, rules = await monitor_of(request).diagnostics(run, loss, params)
    spec = found.losses()[index]
    body = {
        "run": found.record.name,
        "loss": spec["name"],
        "params": {k: v for k, v in spec.items() if k != "name"},
        **diagnostics_dict(result),
        "alerts": [
            {**state.rule.model_dump(), "state": state.state, "value": state.value, "batches": state.batches}
            for state in rules
        ],
    }
    return json_response(body)
