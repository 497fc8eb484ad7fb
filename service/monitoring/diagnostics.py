"""Training diagnostics over the by-step series of one loss: plateau, gap, overfitting, divergence.

Input: for each split, the series of the loss's ``value`` by step (see ``early_stopping``), and
the parameters (``DiagnosticsParams``). For the diagnosed ``split`` (default ``validation``) against
its ``reference_split`` (default ``train``):

- per split: Keras's early-stopping state (``SplitState``: best step and value, last step and
  value, wait, stop step).
- ``plateau``: early stopping would have stopped on ``split`` (``stop_step`` is not None).
- ``gap``: value(split) − value(reference_split) at every step present in both, ascending; ``last``
  is the gap at the latest such step. Empty (``last`` None) when they share no step, for instance
  when the reference split has no data.
- ``overfitting``: ``plateau``, and ``split``'s last value is above its best by more than
  ``min_delta`` (``last − min_delta > best``: validation got worse, not just flat), and the
  reference split's value at its last step is below its value at ``split``'s ``best_step`` by more
  than ``min_delta`` (``ref_last + min_delta < ref_at_best``, Keras's improvement test: training
  still improves). False when the reference split has no value at exactly ``best_step``.
- ``diverging``: ``split``'s last value is not finite (NaN or ±inf), or
  ``last − best > (divergence − 1)·|best|``. With ``|best|`` the allowed rise stays >= 0 for
  negative losses (cosine similarity); with ``best = 0`` any rise above 0 diverges. Only the first
  test applies when nothing was monitored (no best), and the second is false when ``best`` is NaN
  (Keras never improves on a NaN, so a NaN best stays; the last value then decides alone).
- ``status``: ``insufficient_data`` when ``split`` has fewer than 2 steps (whatever the flags say:
  one point shows no trend; ``split`` absent from the input counts as 0 steps); otherwise the first
  that holds of ``diverging``, ``overfitting``, ``plateau``, else ``improving``.

All comparisons are IEEE float64 comparisons on the service's own series: one with a NaN is false.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .early_stopping import SplitState, as_list, early_stopping
from .names import SPLIT as SPLIT_PATTERN

Status = Literal["diverging", "overfitting", "plateau", "improving", "insufficient_data"]
STATUSES: tuple[Status, ...] = get_args(Status)


# One split's by-step series: (steps, values), as ``early_stopping`` takes them; Plain once the
# sequences are Python lists.
Series = tuple[Sequence[int] | np.ndarray, Sequence[float] | np.ndarray]
Plain = tuple[list[int], list[float]]


class DiagnosticsParams(BaseModel):
    """The parameters of ``GET /v1/runs/{run}/diagnostics``, with their constraints as data.

    They mean what they mean for ``keras.callbacks.EarlyStopping(mode="min")``, with a step in
    place of an epoch. Where Keras accepts more, the service refuses what has no sensible meaning:
    a negative ``patience`` (Keras would stop at the first non-improving epoch, as with 0), a
    negative ``min_delta`` (Keras silently takes its absolute value), non-finite numbers, and a
    ``divergence`` below 1 (it would call a run diverging whose last value is below its best).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    split: str = Field("validation", pattern=SPLIT_PATTERN, description="The split diagnosed.")
    reference_split: str = Field(
        "train", pattern=SPLIT_PATTERN, description="The split the gap and overfitting compare with."
    )
    patience: int = Field(10, ge=0, description="Steps without improvement after which early stopping stops.")
    min_delta: float = Field(0.0, ge=0, description="Smallest decrease that counts as an improvement.")
    baseline: float | None = Field(
        None,
        description="A value to beat: until one beats it by min_delta, improvements do not reset the wait.",
    )
    start_from_step: int = Field(0, ge=0, description="Steps before this one are not monitored (warm-up).")
    divergence: float = Field(
        2.0, ge=1, description="Diverging when last − best > (divergence − 1)·|best|, or last is not finite."
    )

    @field_validator("baseline", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # ``baseline=`` in a query string means no baseline.
        return None if value == "" else value


DEFAULT_PARAMS = DiagnosticsParams()


@dataclass(frozen=True, slots=True)
class Gap:
    """value(split) − value(reference_split) at each step both have, in ascending step order."""

    steps: tuple[int, ...]
    values: tuple[float, ...]

    @property
    def last(self) -> float | None:
        """The gap at the latest common step; None when there is none."""
        return self.values[-1] if self.values else None


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """The diagnostics of ``split`` against ``reference_split`` (see the module docstring).

    splits: every split of the input, in its order, plus ``split`` and ``reference_split`` (empty
        when absent), each with its early-stopping state.
    """

    split: str
    reference_split: str
    splits: Mapping[str, SplitState]
    gap: Gap
    plateau: bool
    overfitting: bool
    diverging: bool
    status: Status


def gap(series: Plain, reference: Plain) -> Gap:
    """value(series) − value(reference) at every step present in both."""
    (steps, values), (reference_steps, reference_values) = series, reference
    if steps == reference_steps:  # the usual case: both splits logged at the same steps
        return Gap(tuple(steps), tuple(map(operator.sub, values, reference_values)))
    by_step = dict(zip(reference_steps, reference_values, strict=True))
    common = [
        (step, value - by_step[step]) for step, value in zip(steps, values, strict=True) if step in by_step
    ]
    if not common:
        return Gap((), ())
    common_steps, differences = zip(*common, strict=True)
    return Gap(common_steps, differences)


def value_at(series: Plain, step: int) -> float | None:
    """The series' value at ``step``; None when the series has no such step."""
    steps, values = series
    position = bisect.bisect_left(steps, step)
    return values[position] if position < len(steps) and steps[position] == step else None


def is_diverging(state: SplitState, divergence: float) -> bool:
    """The last value is not finite, or has risen above the best by more than (divergence − 1)·|best|."""
    last, best = state.last_value, state.best_value
    if last is None:
        return False
    if not math.isfinite(last):
        return True
    return best is not None and last - best > (divergence - 1.0) * abs(best)


def is_overfitting(state: SplitState, reference: Plain, min_delta: float) -> bool:
    """Plateau, worse than the best by more than min_delta, while the reference still improves."""
    if state.stop_step is None or state.best_step is None or state.best_value is None:
        return False
    if not (state.last_value is not None and state.last_value - min_delta > state.best_value):
        return False
    at_best = value_at(reference, state.best_step)
    return at_best is not None and reference[1][-1] + min_delta < at_best


def diagnose(series: Mapping[str, Series], params: DiagnosticsParams = DEFAULT_PARAMS) -> Diagnostics:
    """Diagnostics of ``params.split`` against ``params.reference_split`` over the given series.

    ``series`` maps a split name to its ``(steps, values)``; splits other than the two named ones
    get their early-stopping state too (pass only the two when nothing else is needed).
    """
    plain: dict[str, Plain] = {
        name: (as_list(steps), as_list(values)) for name, (steps, values) in series.items()
    }
    plain.setdefault(params.split, ([], []))
    plain.setdefault(params.reference_split, ([], []))
    states = {
        name: early_stopping(
            steps,
            values,
            patience=params.patience,
            min_delta=params.min_delta,
            baseline=params.baseline,
            start_from_step=params.start_from_step,
        )
        for name, (steps, values) in plain.items()
    }
    state, reference = states[params.split], plain[params.reference_split]
    plateau = state.plateau
    overfitting = is_overfitting(state, reference, params.min_delta)
    diverging = is_diverging(state, params.divergence)
    status: Status
    if state.points < 2:
        status = "insufficient_data"
    elif diverging:
        status = "diverging"
    elif overfitting:
        status = "overfitting"
    elif plateau:
        status = "plateau"
    else:
        status = "improving"
    return Diagnostics(
        split=params.split,
        reference_split=params.reference_split,
        splits=states,
        gap=gap(plain[params.split], reference),
        plateau=plateau,
        overfitting=overfitting,
        diverging=diverging,
        status=status,
    )


def json_number(value: float | None) -> float | None:
    """A number as JSON can carry it: None for NaN, ±inf and None."""
    return value if value is not None and math.isfinite(value) else None


def split_dict(name: str, state: SplitState) -> dict[str, Any]:
    """One split's state, JSON-ready."""
    return {
        "split": name,
        "points": state.points,
        "best_step": state.best_step,
        "best_value": json_number(state.best_value),
        "last_step": state.last_step,
        "last_value": json_number(state.last_value),
        "wait": state.wait,
        "stop_step": state.stop_step,
        "plateau": state.plateau,
    }


def to_dict(diagnostics: Diagnostics) -> dict[str, Any]:
    """The diagnostics as the API returns them: plain JSON types, null for non-finite numbers.

    ``{"split", "reference_split", "status", "plateau", "overfitting", "diverging",
    "gap": {"last", "steps", "values"}, "splits": [{"split", "points", "best_step", "best_value",
    "last_step", "last_value", "wait", "stop_step", "plateau"}, ...]}``.
    """
    return {
        "split": diagnostics.split,
        "reference_split": diagnostics.reference_split,
        "status": diagnostics.status,
        "plateau": diagnostics.plateau,
        "overfitting": diagnostics.overfitting,
        "diverging": diagnostics.diverging,
        "gap": {
            "last": json_number(diagnostics.gap.last),
            "steps": list(diagnostics.gap.steps),
            "values": [json_number(value) for value in diagnostics.gap.values],
        },
        "splits": [split_dict(name, state) for name, state in diagnostics.splits.items()],
    }
