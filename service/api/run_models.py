"""Request and response models of the runs API (SPEC §7).

A batch body is an evaluate body without ``losses`` (the run's losses apply), plus where the batch
falls (split, step, time) and its idempotency key (``batch_id``). Its arrays are declared as in
evaluate and decoded by the array codecs, not walked by Pydantic.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    create_model,
)

from ..monitoring.alerts import AlertRule
from ..monitoring.names import BATCH_ID, DEFAULT_SPLIT, RUN_NAME, SPLIT
from .schemas import STRICT, LossResultModel, Number, evaluate_request_model, loss_spec_type

Name = Annotated[str, StringConstraints(pattern=RUN_NAME, max_length=128)]
Split = Annotated[str, StringConstraints(pattern=SPLIT, max_length=64)]
BatchId = Annotated[str, StringConstraints(pattern=BATCH_ID, max_length=128)]
TAG_KEY = r"^[A-Za-z0-9._:\-/]{1,128}$"
Tags = Annotated[
    dict[
        Annotated[str, StringConstraints(pattern=TAG_KEY, max_length=128)],
        Annotated[str, StringConstraints(max_length=256)],
    ],
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": 64,
            "propertyNames": {"pattern": TAG_KEY, "maxLength": 128},
            "additionalProperties": {"type": "string", "maxLength": 256},
        }
    ),
]
MAX_STEP = 2**53  # exact in a JSON number
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    """Only an RFC 3339 string with an offset is a time (not a Unix timestamp, not a naive time)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with an offset, such as 2026-03-01T12:00:00Z")
    return value


# A time as the API takes it: RFC 3339 with an offset (strict=False: from a JSON string).
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339), Field(strict=False)]


@cache
def run_request_model() -> type[BaseModel]:
    return create_model(  # type: ignore[call-overload,no-any-return]
        "RunRequest",
        __config__=STRICT,
        __doc__="Create a run: its losses (fixed for its life), and a description and tags (changeable).",
        losses=(  # type: ignore[arg-type]
            list[loss_spec_type()],  # type: ignore[misc]
            Field(min_length=1, max_length=32, description="1 to 32 losses, as in evaluate."),
        ),
        description=(str | None, Field(None, max_length=4096)),
        tags=(Tags | None, Field(None, max_length=64, description="Up to 64 tags.")),
        alerts=(
            list[AlertRule] | None,
            Field(None, max_length=64, description="Alert rules (replace the run's rules when given)."),
        ),
    )


@cache
def batch_request_model() -> type[BaseModel]:
    """Evaluate's request fields but ``losses``, plus split, step, time and batch_id."""
    evaluate_fields = {
        name: (info.annotation, info)
        for name, info in evaluate_request_model().model_fields.items()
        if name != "losses"
    }
    return create_model(  # type: ignore[call-overload,no-any-return]
        "BatchRequest",
        __config__=STRICT,
        __doc__="One batch of a run, evaluated with the run's losses and recorded.",
        **evaluate_fields,
        split=(Split, Field(DEFAULT_SPLIT, description="e.g. train, validation, production.")),
        step=(int | None, Field(None, ge=0, le=MAX_STEP, description="An epoch or iteration.")),
        time=(
            AwareDatetime | None,
            # strict=False: a JSON string is the only way to send a datetime.
            Field(
                None, strict=False, description="RFC 3339 with an offset; default: when the request arrived."
            ),
        ),
        batch_id=(
            BatchId | None,
            Field(None, description="Idempotency key: a batch_id already recorded is not counted again."),
        ),
    )


class AlertRuleModel(BaseModel):
    """An alert rule as stored: its window in seconds, its loss by canonical name."""

    name: str
    loss: str
    split: str
    window: int
    max: float
    reduction: str


class LossStatus(BaseModel):
    """A loss's diagnostics with the default parameters (validation against train, patience 10)."""

    loss: str
    params: dict[str, Any]
    status: str
    best_step: int | None
    best_value: Number
    stop_step: int | None


class LatestValue(BaseModel):
    split: str
    loss: str
    params: dict[str, Any]
    step: int
    value: Number


class RunModel(BaseModel):
    name: str
    losses: list[dict[str, Any]] = Field(description="Canonical names with every parameter.")
    description: str | None
    tags: dict[str, str]
    alerts: list[AlertRuleModel]
    created_at: str
    batches: int
    splits: list[str]
    first_time: str | None
    last_time: str | None
    last_step: int | None
    quantile_relative_accuracy: float
    diagnostics: list[LossStatus] = Field(description="Per loss, from the by-step values.")
    latest: list[LatestValue] = Field(description="Per (split, loss): the value at the split's last step.")


class RunList(BaseModel):
    runs: list[RunModel]
    next_cursor: str | None


class BatchResponse(BaseModel):
    run: str
    batch_id: str
    sequence: int = Field(description="Increases per run in commit order.")
    split: str
    step: int | None
    time: str
    duplicate: bool = Field(description="True when this batch_id was recorded before (status 200).")
    results: list[LossResultModel]


class WindowStats(BaseModel):
    mean: Number
    std: Number
    min: Number
    max: Number
    sum: Number
    quantiles: dict[str, Number]


class WindowFigures(BaseModel):
    batches: int
    count: int
    weight_sum: Number
    value: Number
    omitted: int
    ignored: int
    clipped: int
    stats: WindowStats


class SummaryItem(WindowFigures):
    split: str
    loss: str
    params: dict[str, Any]
    first_time: str
    last_time: str
    first_step: int | None
    last_step: int | None


class SummaryResponse(BaseModel):
    run: str
    reduction: str
    quantile_relative_accuracy: float
    summaries: list[SummaryItem]


class SeriesPoint(WindowFigures):
    step: int | None = Field(None, description="by=step: the first step in the point.")
    step_to: int | None = Field(None, description="by=step: the last step in the point.")
    start: str | None = Field(None, description="by=time: the start of the point's range.")
    end: str | None = Field(None, description="by=time: the end of the point's range (exclusive).")


class SeriesLineModel(BaseModel):
    split: str
    loss: str
    params: dict[str, Any]
    points: list[SeriesPoint]


class SeriesResponse(BaseModel):
    run: str
    by: str
    interval: int | None = Field(description="by=time: the requested bucket width in seconds.")
    merged: int = Field(description="Adjacent steps or buckets merged into one point (1: none).")
    reduction: str
    quantile_relative_accuracy: float
    series: list[SeriesLineModel]


class SplitDiagnosticsModel(BaseModel):
    split: str
    points: int = Field(description="Steps in the series.")
    best_step: int | None
    best_value: Number
    last_step: int | None
    last_value: Number
    wait: int
    stop_step: int | None
    plateau: bool


class GapModel(BaseModel):
    last: Number
    steps: list[int]
    values: list[Number]


class RuleStateModel(AlertRuleModel):
    state: Literal["ok", "alert", "no_data"]
    value: Number
    batches: int


class DiagnosticsResponse(BaseModel):
    run: str
    loss: str
    params: dict[str, Any]
    split: str
    reference_split: str
    status: Literal["diverging", "overfitting", "plateau", "improving", "insufficient_data"]
    plateau: bool
    overfitting: bool
    diverging: bool
    gap: GapModel
    splits: list[SplitDiagnosticsModel]
    alerts: list[RuleStateModel]
