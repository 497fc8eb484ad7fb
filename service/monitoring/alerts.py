"""Alert rules of a run: an upper bound on a loss's value over a rolling time window.

A rule reads "the value of ``loss`` on ``split`` over the last ``window`` is above ``max``", the
threshold checks that monitoring tools (Evidently, NannyML) put on a production metric, e.g.
``{"name": "mse-1h", "loss": "mse", "split": "production", "window": "1h", "max": 0.3}``. Its window
is [now − window, now) by batch time; its value is the window's value with the rule's
``reduction`` (default ``mean``), exactly as ``GET /v1/runs/{run}/summary`` would give it. States:
``alert`` (the value is above ``max``, or unknown: NaN under ``nan_policy="propagate"``), ``ok``,
``no_data`` (no batch of that split in the window). Rules belong to the run and can be replaced at
any time (``PUT`` the run with the same losses); the history is not touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from .names import DEFAULT_SPLIT, RULE_NAME, SPLIT
from .windows import INTERVAL_PATTERN, parse_interval

State = Literal["ok", "alert", "no_data"]


def _seconds(value: object) -> int:
    return parse_interval(str(value))


class AlertRule(BaseModel):
    """One alert rule (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=RULE_NAME, description="Unique within the run.")
    loss: str = Field(max_length=64, description="One of the run's losses (canonical name or alias).")
    split: str = Field(DEFAULT_SPLIT, pattern=SPLIT)
    window: Annotated[
        int,
        BeforeValidator(_seconds),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 999_999},
                    {"type": "string", "pattern": INTERVAL_PATTERN},
                ]
            }
        ),
    ] = Field(description="The rolling window: seconds, or a count with s, m, h or d (1 to 999999 of them).")
    max: float = Field(description="Alert when the window's value is above this.")
    reduction: Literal["mean", "sum", "sum_over_batch_size"] = "mean"


@dataclass(frozen=True)
class RuleState:
    rule: AlertRule
    state: State
    value: float | None
    batches: int


def judge(rule: AlertRule, value: float | None, batches: int) -> RuleState:
    """The state of a rule given its window's value (None: no batch in the window)."""
    if value is None or batches == 0:
        return RuleState(rule, "no_data", None, 0)
    if math.isnan(value) or value > rule.max:
        return RuleState(rule, "alert", None if math.isnan(value) else value, batches)
    return RuleState(rule, "ok", value, batches)
