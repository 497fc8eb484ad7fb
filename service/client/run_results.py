"""The answers of the runs API (``/v1/runs``) as typed objects (msgspec structs).

Each struct has the fields of the API's JSON answer, so that ``to_json`` writes it back exactly;
times are ``datetime`` objects (UTC). A series line also offers its points as NumPy arrays
(``line.steps``, ``line.values``, ``line.quantile("0.9")``...), ready to plot; ``None`` (a value
that is not finite, or unknown) is NaN there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .results import LossResult, decoder, result_of
from .structs import Struct


class AlertRule(Struct):
    """An alert rule: the value of ``loss`` on ``split`` over the last ``window`` seconds (with
    ``reduction``) is above ``max``."""

    name: str
    loss: str
    split: str
    window: int
    max: float
    reduction: str


class LossStatus(Struct):
    """A loss's diagnostics with the default parameters (validation against train, patience 10)."""

    loss: str
    params: dict[str, Any]
    status: str
    best_step: int | None
    best_value: float | None
    stop_step: int | None


class LatestValue(Struct):
    """The value of a (split, loss) at the split's last step."""

    split: str
    loss: str
    params: dict[str, Any]
    step: int
    value: float | None


class Run(Struct):
    """A run: its losses (canonical names with every parameter), tags, alert rules and extent, each
    loss's diagnostics status and the latest value per (split, loss)."""

    name: str
    losses: list[dict[str, Any]]
    description: str | None
    tags: dict[str, str]
    alerts: list[AlertRule]
    created_at: datetime
    batches: int
    splits: list[str]
    first_time: datetime | None
    last_time: datetime | None
    last_step: int | None
    quantile_relative_accuracy: float
    diagnostics: list[LossStatus]
    latest: list[LatestValue]


class CreatedRun(Struct):
    """What ``create_run`` found: the run, and whether this call created it (201) or it existed with
    the same losses (200)."""

    run: Run
    created: bool


class RunList(Struct):
    """Runs, newest first; ``next_cursor`` continues after the last one (None: no more)."""

    runs: list[Run]
    next_cursor: str | None

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)


class LoggedBatch(Struct):
    """The answer of ``log_batch``. ``duplicate`` is True when this ``batch_id`` had been recorded
    before (a retry): the batch was not counted again, and ``results`` are the stored values."""

    run: str
    batch_id: str
    sequence: int
    split: str
    step: int | None
    time: datetime
    duplicate: bool
    results: list[LossResult]

    def __getitem__(self, loss: int | str) -> LossResult:
        """A result by position, or by canonical loss name (the first with that name)."""
        return result_of(self.results, loss)


class WindowStats(Struct):
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    sum: float | None
    quantiles: dict[str, float | None]


class WindowSummary(Struct):
    """One (split, loss) over a window: evaluate's figures for all its batches together."""

    split: str
    loss: str
    params: dict[str, Any]
    batches: int
    count: int
    weight_sum: float | None
    value: float | None
    omitted: int
    ignored: int
    clipped: int
    stats: WindowStats
    first_time: datetime
    last_time: datetime
    first_step: int | None
    last_step: int | None


def _find(items: list[Any], loss: str | None, split: str | None) -> Any:
    for item in items:
        if (loss is None or item.loss == loss) and (split is None or item.split == split):
            return item
    found = [(item.split, item.loss) for item in items]
    raise KeyError(f"nothing for loss={loss!r}, split={split!r}; present (split, loss): {found}")


class RunSummary(Struct):
    """The answer of ``summary``: one ``WindowSummary`` per (split, loss) with batches in the window."""

    run: str
    reduction: str
    quantile_relative_accuracy: float
    summaries: list[WindowSummary]

    def get(self, loss: str | None = None, split: str | None = None) -> WindowSummary:
        """The first summary of ``loss`` (canonical name) in ``split``; either may be left out."""
        return _find(self.summaries, loss, split)  # type: ignore[no-any-return]


class SeriesPoint(Struct):
    """A step (``step`` to ``step_to``) or a time range (``start`` to ``end``, exclusive); merged
    from several steps or buckets when the series had more than ``max_points``."""

    batches: int
    count: int
    weight_sum: float | None
    value: float | None
    omitted: int
    ignored: int
    clipped: int
    stats: WindowStats
    step: int | None = None
    step_to: int | None = None
    start: datetime | None = None
    end: datetime | None = None


def _floats(values: Iterable[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _times(values: Iterable[datetime | None]) -> np.ndarray:
    """UTC times as datetime64[us] (NaT where absent)."""
    return np.array(
        [np.datetime64("NaT") if v is None else v.astimezone(UTC).replace(tzinfo=None) for v in values],
        dtype="datetime64[us]",
    )


class SeriesLine(Struct):
    """The points of one (split, loss), in ascending order, and the same as NumPy arrays."""

    split: str
    loss: str
    params: dict[str, Any]
    points: list[SeriesPoint]

    @property
    def steps(self) -> np.ndarray:
        """by=step: each point's first step (int64)."""
        return np.array([p.step for p in self.points], dtype=np.int64)

    @property
    def steps_to(self) -> np.ndarray:
        """by=step: each point's last step (int64)."""
        return np.array([p.step_to for p in self.points], dtype=np.int64)

    @property
    def starts(self) -> np.ndarray:
        """by=time: each point's start (datetime64[us], UTC)."""
        return _times(p.start for p in self.points)

    @property
    def ends(self) -> np.ndarray:
        """by=time: each point's end, exclusive (datetime64[us], UTC)."""
        return _times(p.end for p in self.points)

    @property
    def values(self) -> np.ndarray:
        return _floats(p.value for p in self.points)

    @property
    def counts(self) -> np.ndarray:
        return np.array([p.count for p in self.points], dtype=np.int64)

    @property
    def batches(self) -> np.ndarray:
        return np.array([p.batches for p in self.points], dtype=np.int64)

    @property
    def weight_sums(self) -> np.ndarray:
        return _floats(p.weight_sum for p in self.points)

    def stat(self, name: str) -> np.ndarray:
        """One statistic of every point: ``mean``, ``std``, ``min``, ``max`` or ``sum``."""
        if name not in ("mean", "std", "min", "max", "sum"):
            raise KeyError(f"no statistic {name!r}; mean, std, min, max or sum")
        return _floats(getattr(p.stats, name) for p in self.points)

    def quantile(self, q: str | float) -> np.ndarray:
        """One quantile of every point (``"0.5"``, ``"0.9"``, ``"0.95"``, ``"0.99"``, or as a float)."""
        key = q if isinstance(q, str) else format(q, "g")
        return _floats(p.stats.quantiles.get(key) for p in self.points)


class Series(Struct):
    """The answer of ``series``: one line per (split, loss). ``merged`` adjacent steps or buckets
    make one point (1: none were merged)."""

    run: str
    by: str
    interval: int | None
    merged: int
    reduction: str
    quantile_relative_accuracy: float
    series: list[SeriesLine]

    def get(self, loss: str | None = None, split: str | None = None) -> SeriesLine:
        """The first line of ``loss`` (canonical name) in ``split``; either may be left out."""
        return _find(self.series, loss, split)  # type: ignore[no-any-return]


class SplitDiagnostics(Struct):
    """Keras ``EarlyStopping`` fed one split's by-step values: its state where it stops (or at the
    end), and whether it stopped (``plateau``)."""

    split: str
    points: int
    best_step: int | None
    best_value: float | None
    last_step: int | None
    last_value: float | None
    wait: int
    stop_step: int | None
    plateau: bool


class Gap(Struct):
    """value(split) − value(reference_split) at every step present in both."""

    last: float | None
    steps: list[int]
    values: list[float | None]

    @property
    def step_array(self) -> np.ndarray:
        return np.array(self.steps, dtype=np.int64)

    @property
    def value_array(self) -> np.ndarray:
        return _floats(self.values)


class RuleState(Struct):
    """An alert rule and its state now: ``ok``, ``alert`` or ``no_data``."""

    name: str
    loss: str
    split: str
    window: int
    max: float
    reduction: str
    state: str
    value: float | None
    batches: int


class Diagnostics(Struct):
    """The answer of ``diagnostics``: the status (``diverging``, ``overfitting``, ``plateau``,
    ``improving`` or ``insufficient_data``), its parts, each split's early-stopping state, the gap,
    and the run's alert rules with their states."""

    run: str
    loss: str
    params: dict[str, Any]
    split: str
    reference_split: str
    status: str
    plateau: bool
    overfitting: bool
    diverging: bool
    gap: Gap
    splits: list[SplitDiagnostics]
    alerts: list[RuleState]

    def get(self, split: str) -> SplitDiagnostics:
        """One split's early-stopping state."""
        for item in self.splits:
            if item.split == split:
                return item
        raise KeyError(f"no split {split!r}; splits: {[item.split for item in self.splits]}")


RUN = decoder(Run)
DIAGNOSTICS = decoder(Diagnostics)
RUN_LIST = decoder(RunList)
LOGGED_BATCH = decoder(LoggedBatch)
RUN_SUMMARY = decoder(RunSummary)
SERIES = decoder(Series)
