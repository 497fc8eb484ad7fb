"""Windows of a run's history, and which stored aggregates can answer them.

A window is a set of splits and losses, a time range [from, to) and a step range
[step_from, step_to]. The store keeps merged aggregates by step and by time bucket (a minute, an
hour, a day; buckets aligned to the Unix epoch), so a window is answered by the aggregates that
lie wholly inside it plus the batches that none of them holds (those at its ragged edges, and those
recorded since the last compaction):

- a step range (and no time range): the by-step aggregates of the steps in it;
- a time range (and no step range): whole days inside it, then whole hours inside what remains,
  then whole minutes, then single batches at the edges — a window of months costs a few hundred
  rows, not one per batch;
- both: single batches (the aggregates keep steps and times apart).

A by-time series with interval I may use only the levels whose bucket size divides I, so that
every aggregate falls into exactly one point.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..store import STEP, TIME_LEVELS, Cover, Span, Window

MICROSECONDS = 1_000_000
# Coarsest first.
LEVELS: tuple[tuple[int, int], ...] = tuple(sorted(TIME_LEVELS.items(), key=lambda item: -item[1]))
# A count of 1 to 999,999 seconds, minutes, hours or days.
INTERVAL_PATTERN = r"^([1-9][0-9]{0,5})([smhd]?)$"
_INTERVAL = re.compile(INTERVAL_PATTERN)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> int:
    """An interval in seconds, from a count with an optional unit: ``90``, ``90s``, ``5m``, ``1h``, ``1d``."""
    match = _INTERVAL.match(text.strip())
    if not match:
        raise ValueError(f"interval must be 1 to 999999 seconds, or a count with s, m, h or d; got {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True)
class Query:
    """What a summary or series asks for (times in µs since the epoch)."""

    splits: tuple[str, ...] | None = None
    losses: tuple[int, ...] | None = None  # indices into the run's losses
    time_from: int | None = None
    time_to: int | None = None
    step_from: int | None = None
    step_to: int | None = None

    @property
    def window(self) -> Window:
        return Window(self.splits, self.step_from, self.step_to, self.time_from, self.time_to)

    @property
    def has_time(self) -> bool:
        return self.time_from is not None or self.time_to is not None

    @property
    def has_steps(self) -> bool:
        return self.step_from is not None or self.step_to is not None


def time_spans(time_from: int | None, time_to: int | None, levels: Sequence[tuple[int, int]]) -> list[Span]:
    """Spans of whole buckets inside [time_from, time_to) (µs), coarsest levels first, not
    overlapping; what they leave at the edges (less than the finest bucket) is read batch by batch."""
    if not levels:
        return []
    kind, size = levels[0]
    unit = size * MICROSECONDS
    first = None if time_from is None else -(-time_from // unit)  # first whole bucket
    last = None if time_to is None else time_to // unit - 1  # last whole bucket
    if first is not None and last is not None and first > last:
        return time_spans(time_from, time_to, levels[1:])
    spans = [Span(kind, None if first is None else first * size, None if last is None else last * size)]
    if first is not None and time_from is not None:
        spans += time_spans(time_from, first * unit, levels[1:])
    if last is not None and time_to is not None:
        spans += time_spans((last + 1) * unit, time_to, levels[1:])
    return spans


def summary_cover(query: Query) -> Cover:
    if query.has_steps:
        spans = [] if query.has_time else [Span(STEP, query.step_from, query.step_to)]
    else:
        spans = time_spans(query.time_from, query.time_to, LEVELS)
    return Cover(tuple(spans), query.losses)


def step_series_cover(query: Query) -> Cover:
    spans = [] if query.has_time else [Span(STEP, query.step_from, query.step_to)]
    return Cover(tuple(spans), query.losses)


def time_series_cover(query: Query, interval: int) -> Cover:
    if query.has_steps:
        return Cover((), query.losses)
    levels = [(kind, size) for kind, size in LEVELS if interval % size == 0]
    return Cover(tuple(time_spans(query.time_from, query.time_to, levels)), query.losses)
