"""Merging a window's stored accumulators into summaries and series points (pure functions).

The store hands over aggregates (many batches merged, on one step or time bucket) and single
batches; both become ``Piece``s of one (split, loss). A summary merges all pieces of a (split,
loss); a series groups them by step or by time bucket, and when there are more groups than
``max_points``, merges adjacent groups — never samples — so that a point of a long run is the exact
accumulator of the batches in its range.

Adjacent groups are merged on a grid shared by every series of the answer: by step, groups of
k consecutive step values [g·k, (g+1)·k); by time, buckets of k·interval aligned to the epoch; k is
the smallest of 1, 2, 5, 10, 20, 50, … for which no series has more than ``max_points`` points. Train
and validation points therefore cover the same ranges and can be compared point by point.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..losses.accumulate import Accumulator, Summary, Sums, Table, Transform
from ..store import Aggregate, AggregateKey, BatchRecord, StepSums
from .windows import MICROSECONDS

STEP_SERIES, TIME_SERIES = "step", "time"


@dataclass(frozen=True)
class Piece:
    """Accumulated batches of one (split, loss): one batch or one stored aggregate."""

    split: str
    loss: int
    batches: int
    first_time: int
    last_time: int
    first_step: int | None
    last_step: int | None
    blob: bytes

    @classmethod
    def of_aggregate(cls, key: AggregateKey, a: Aggregate) -> Piece:
        return cls(
            key.split,
            key.loss,
            a.batches,
            a.first_time,
            a.last_time,
            a.first_step,
            a.last_step,
            a.accumulator,
        )

    @classmethod
    def of_batch(cls, batch: BatchRecord, loss: int) -> Piece:
        blob = batch.accumulators[loss]
        return cls(batch.split, loss, 1, batch.time, batch.time, batch.step, batch.step, blob)

    def accumulator(self) -> Accumulator:
        return Accumulator.from_bytes(self.blob)


def pieces(
    aggregates: Iterable[tuple[AggregateKey, Aggregate]],
    batches: Iterable[BatchRecord],
    losses: Sequence[int],
) -> list[Piece]:
    out = [Piece.of_aggregate(key, a) for key, a in aggregates if key.loss in losses]
    out += [Piece.of_batch(batch, loss) for batch in batches for loss in losses]
    return out


@dataclass(frozen=True)
class Merged:
    """Some pieces merged: their counts and ranges, and their accumulator (a row of ``table``)."""

    split: str
    loss: int
    batches: int
    first_time: int
    last_time: int
    first_step: int | None
    last_step: int | None
    table: Table
    row: int

    def accumulator(self) -> Accumulator:
        return self.table.row(self.row)


def merge_groups(groups: Sequence[Sequence[Piece]]) -> list[Merged]:
    """Each group of pieces merged into one accumulator, all in one ``Table.merge``."""
    blobs = [piece.blob for group in groups for piece in group]
    owners = np.repeat(np.arange(len(groups)), [len(group) for group in groups])
    table = Table.from_blobs(blobs).merge(owners, len(groups))
    out = []
    for row, group in enumerate(groups):
        steps = [s for p in group for s in (p.first_step, p.last_step) if s is not None]
        out.append(
            Merged(
                group[0].split,
                group[0].loss,
                sum(p.batches for p in group),
                min(p.first_time for p in group),
                max(p.last_time for p in group),
                min(steps) if steps else None,
                max(steps) if steps else None,
                table,
                row,
            )
        )
    return out


def finalize(merged: Sequence[Merged], reduction: str, transform: Transform | None) -> list[Summary]:
    """The figures of merged pieces that share one table (one ``merge_groups``)."""
    if not merged:
        return []
    summaries = merged[0].table.summaries(reduction, transform)
    return [summaries[m.row] for m in merged]


def by_series(items: Iterable[Piece]) -> dict[tuple[str, int], list[Piece]]:
    """Pieces per (split, loss), in the order of splits and then losses."""
    groups: dict[tuple[str, int], list[Piece]] = defaultdict(list)
    for piece in items:
        groups[piece.split, piece.loss].append(piece)
    return dict(sorted(groups.items()))


def summarize(items: Iterable[Piece]) -> list[Merged]:
    """One merged accumulator per (split, loss)."""
    return merge_groups(list(by_series(items).values()))


def nice_factors() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, 100, …"""
    for power in itertools.count():
        for mantissa in (1, 2, 5):
            yield mantissa * 10**power


@dataclass(frozen=True)
class Point:
    """A series point: the merged pieces whose step (or time bucket) lies in [start, end]."""

    start: int  # step, or µs since the epoch
    end: int  # last step (inclusive), or the end of the time range (exclusive), µs
    merged: Merged


def _grid(keys: dict[tuple[str, int], set[int]], max_points: int) -> int:
    """The smallest nice factor k for which no series has more than ``max_points`` groups."""
    for k in nice_factors():
        if all(len({key // k for key in series}) <= max_points for series in keys.values()):
            return k
    raise AssertionError("unreachable: a large enough factor makes one group")


def series(
    items: Iterable[Piece], by: str, interval: int, max_points: int
) -> tuple[dict[tuple[str, int], list[Point]], int]:
    """Points per (split, loss), and the factor k by which adjacent groups were merged.

    ``by="step"``: a piece's key is its step (pieces without a step are left out). ``by="time"``:
    its time bucket of ``interval`` seconds (an aggregate lies in exactly one: its bucket size
    divides the interval).
    """
    unit = interval * MICROSECONDS

    def key(piece: Piece) -> int | None:
        return piece.first_step if by == STEP_SERIES else piece.first_time // unit

    grouped = {
        name: [(k, p) for p in group if (k := key(p)) is not None] for name, group in by_series(items).items()
    }
    grouped = {name: keyed for name, keyed in grouped.items() if keyed}
    k = _grid({name: {key for key, _ in keyed} for name, keyed in grouped.items()}, max_points)
    out: dict[tuple[str, int], list[Point]] = {}
    for name, keyed in grouped.items():
        cells: dict[int, list[Piece]] = defaultdict(list)
        for key_value, piece in keyed:
            cells[key_value // k].append(piece)
        order = sorted(cells)
        points = []
        for cell, merged in zip(order, merge_groups([cells[c] for c in order]), strict=True):
            if by == STEP_SERIES:
                assert merged.first_step is not None and merged.last_step is not None
                points.append(Point(merged.first_step, merged.last_step, merged))
            else:
                points.append(Point(cell * k * unit, (cell + 1) * k * unit, merged))
        out[name] = points
    return out, k


# A by-step series of values: (steps ascending, values).
StepSeries = tuple[list[int], list[float]]


def values_by_step(
    sums: Iterable[StepSums],
    pending: Iterable[tuple[int, BatchRecord]],
    transforms: Mapping[tuple[int, int], Transform | None],
) -> dict[tuple[int, int], dict[str, StepSeries]]:
    """Per (run id, loss index), per split, the value (reduction mean) at every step.

    From the by-step aggregates' sums and the stepped batches no aggregate holds yet (whose sums
    are read from their accumulators' headers): nothing is decoded but a few numbers per step.
    ``transforms`` gives each (run id, loss index)'s transform (RMSE's square root), if any.
    """
    cells: dict[tuple[int, int, str], dict[int, list[float]]] = defaultdict(dict)
    for s in sums:
        cells[s.run_id, s.loss, s.split][s.step] = [s.count, s.weight_sum, s.total, s.nonfinite]
    for run_id, batch in pending:
        assert batch.step is not None
        for loss, blob in enumerate(batch.accumulators):
            more = Sums.of_blob(blob)
            cell = cells[run_id, loss, batch.split].setdefault(batch.step, [0, 0.0, 0.0, 0])
            cell[0] += more.count
            cell[1] += more.weight_sum
            cell[2] += more.total
            cell[3] += more.nonfinite
    out: dict[tuple[int, int], dict[str, StepSeries]] = defaultdict(dict)
    for (run_id, loss, split), by_step in sorted(cells.items()):
        transform = transforms.get((run_id, loss))
        steps = sorted(by_step)
        values = [
            Sums(int(c[0]), c[1], c[2], int(c[3])).value("mean", transform)
            for c in (by_step[s] for s in steps)
        ]
        out[run_id, loss][split] = (steps, values)
    return out
