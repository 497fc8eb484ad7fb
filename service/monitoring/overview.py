"""What a list of runs shows per run: each loss's diagnostics status and the latest values.

For every loss of a run, its diagnostics with the default parameters (validation against train,
patience 10) — the status, best step and value, and stop step — and, for every (split, loss), the
value at the split's last step. Computed from the by-step values (``history.values_by_step``); the
store keeps the overview of the compacted history on the run's row, so that a page of 1,000 runs
is read, not recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from .diagnostics import DEFAULT_PARAMS, diagnose
from .history import StepSeries


@dataclass(frozen=True)
class LossStatus:
    loss: int  # index into the run's losses
    status: str
    best_step: int | None
    best_value: float | None
    stop_step: int | None


@dataclass(frozen=True)
class Latest:
    split: str
    loss: int
    step: int
    value: float


@dataclass(frozen=True)
class RunOverview:
    statuses: tuple[LossStatus, ...]
    latest: tuple[Latest, ...]

    def to_json(self) -> str:
        def number(value: float | None) -> float | None:
            return value if value is not None and math.isfinite(value) else None

        return orjson.dumps(
            {
                "statuses": [
                    [s.loss, s.status, s.best_step, number(s.best_value), s.stop_step] for s in self.statuses
                ],
                "latest": [[x.split, x.loss, x.step, number(x.value)] for x in self.latest],
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str) -> RunOverview:
        data = orjson.loads(text)
        return cls(
            tuple(LossStatus(*row) for row in data["statuses"]),
            tuple(
                Latest(split, loss, step, math.nan if value is None else value)
                for split, loss, step, value in data["latest"]
            ),
        )


def overview_of(series: Mapping[int, Mapping[str, StepSeries]], losses: int) -> RunOverview:
    """The overview of a run with ``losses`` losses, from its by-step values per loss and split."""
    statuses, latest = [], []
    for loss in range(losses):
        by_split = series.get(loss, {})
        pair = (DEFAULT_PARAMS.split, DEFAULT_PARAMS.reference_split)
        result = diagnose({split: by_split.get(split, ([], [])) for split in pair})
        state = result.splits[result.split]
        statuses.append(LossStatus(loss, result.status, state.best_step, state.best_value, state.stop_step))
        latest += [
            Latest(split, loss, steps[-1], values[-1]) for split, (steps, values) in by_split.items() if steps
        ]
    return RunOverview(tuple(statuses), tuple(sorted(latest, key=lambda x: (x.split, x.loss))))
