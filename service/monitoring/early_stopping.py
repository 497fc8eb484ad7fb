"""Keras 3 ``EarlyStopping(mode="min")`` replayed over a by-step loss series.

A series is two sequences of the same length: ``steps`` (distinct integers >= 0, strictly
ascending, not necessarily contiguous) and ``values`` (floats; NaN and ±inf allowed). It is fed to
the callback one epoch per step in ascending order, as ``model.fit`` would feed a ``val_loss``:
epoch index = position in the series. The replay stops where ``fit`` would, after the epoch at
which the callback sets ``model.stop_training``, and reports the callback's state at that point.

The state machine, from ``keras/src/callbacks/early_stopping.py`` and ``monitor_callback.py``
(Keras 3.15), restore_best_weights=False:

- ``on_train_begin``: ``best = None``, ``best_epoch = 0``, ``wait = 0``, ``stopped_epoch = 0``.
- ``on_epoch_end(epoch)``, for the value ``current`` of that epoch:

  1. ``epoch < start_from_epoch``: nothing (warm-up).
  2. ``wait += 1`` — before the check, so an epoch that improves without beating the baseline
     still counts.
  3. improvement: ``best is None`` (the first monitored epoch always improves, even with a NaN),
     or ``current - min_delta < best`` where Keras has stored ``min_delta = -|min_delta|`` in mode
     min; i.e. ``current + |min_delta| < best``, evaluated in exactly that order (it can round
     differently from ``best - current > |min_delta|``). A comparison with NaN is false: nothing
     improves on a NaN best, and a NaN value never improves.
     On improvement: ``best = current``, ``best_epoch = epoch``; ``wait = 0`` only when there is
     no baseline or ``current + |min_delta| < baseline`` as well. Then the epoch ends: an
     improving epoch never stops training.
  4. otherwise, ``wait >= patience`` (and ``epoch > 0``, which always holds here because the first
     monitored epoch improves): ``stopped_epoch = epoch`` and training stops.

Keras compares with ``keras.ops.less``, in the backend's float type; this module compares Python
floats (IEEE float64), as Keras does with the JAX backend in float64. A float32 Keras run can see
ties where this sees improvements of 1e-12, and XLA on CPU compares subnormal numbers (below
2.2e-308 in magnitude) as zero where this does not.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class KerasState:
    """The callback's fields after the replay, in Keras's own terms (epochs are positions).

    best: the best value monitored so far; None when no epoch was monitored (an empty series, or
        every step before ``start_from_epoch``). May be NaN (a NaN first monitored value is kept
        for good) or ±inf.
    best_epoch: the epoch of ``best``; 0 when nothing was monitored, as Keras leaves it.
    wait: epochs since the last improvement that also beat the baseline, counting the epochs that
        improved without beating it.
    stopped_epoch: the epoch at which training stopped; 0 when it did not stop.
    epochs: how many epochs ``fit`` ran: ``stopped_epoch + 1`` when it stopped, else all of them.
    """

    best: float | None
    best_epoch: int
    wait: int
    stopped_epoch: int
    epochs: int


def replay(
    values: Sequence[float],
    *,
    patience: int,
    min_delta: float,
    baseline: float | None,
    start_from_epoch: int,
) -> KerasState:
    """Feed ``values[0], values[1], ...`` to ``EarlyStopping(mode="min", ...)`` as ``fit`` would."""
    delta = abs(min_delta)
    best: float | None = None
    best_epoch = 0
    wait = 0
    for epoch in range(max(start_from_epoch, 0), len(values)):
        current = values[epoch]
        wait += 1
        if best is None or current + delta < best:
            best, best_epoch = current, epoch
            if baseline is None or current + delta < baseline:
                wait = 0
        elif wait >= patience:
            return KerasState(best, best_epoch, wait, stopped_epoch=epoch, epochs=epoch + 1)
    return KerasState(best, best_epoch, wait, stopped_epoch=0, epochs=len(values))


@dataclass(frozen=True, slots=True)
class SplitState:
    """Early stopping over one split's series, in steps.

    points: how many steps the series has.
    best_step, best_value: the step at Keras's ``best_epoch`` and its ``best``; both None when no
        step was monitored (no data, or none at or after ``start_from_step``). ``best_value`` may
        be NaN or ±inf.
    last_step, last_value: the series' last step and value (also after a stop); None when empty.
    wait: Keras's ``wait`` when it stopped, or after the last step.
    stop_step: the step at Keras's ``stopped_epoch``; None when it would not stop.
    """

    points: int
    best_step: int | None
    best_value: float | None
    last_step: int | None
    last_value: float | None
    wait: int
    stop_step: int | None

    @property
    def plateau(self) -> bool:
        """The loss stopped improving for ``patience`` steps: early stopping would have stopped."""
        return self.stop_step is not None


def as_list(sequence: Sequence[float] | Sequence[int] | np.ndarray) -> list:
    """Plain Python numbers: a loop over a list of floats is far cheaper than over NumPy scalars."""
    return sequence.tolist() if isinstance(sequence, np.ndarray) else list(sequence)


def check_series(steps: list[int], values: list[float]) -> None:
    """Raise ValueError unless ``steps`` are strictly ascending integers >= 0, one per value."""
    if len(steps) != len(values):
        raise ValueError(f"steps and values must have the same length; got {len(steps)} and {len(values)}.")
    if steps and steps[0] < 0:
        raise ValueError(f"steps must be >= 0; got {steps[0]} at position 0.")
    if not all(map(operator.lt, steps, steps[1:])):
        position = next(i for i in range(1, len(steps)) if steps[i] <= steps[i - 1])
        raise ValueError(
            f"steps must be strictly ascending; got {steps[position]} after {steps[position - 1]} "
            f"at position {position}."
        )


def early_stopping(
    steps: Sequence[int] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    patience: int,
    min_delta: float,
    baseline: float | None,
    start_from_step: int,
) -> SplitState:
    """Keras's early-stopping state over a by-step series (see the module docstring).

    ``start_from_step`` is a step: Keras's ``start_from_epoch`` is the first position whose step is
    >= it (the series' length when there is none, so that nothing is monitored).
    """
    steps, values = as_list(steps), as_list(values)
    check_series(steps, values)
    state = replay(
        values,
        patience=patience,
        min_delta=min_delta,
        baseline=baseline,
        start_from_epoch=bisect.bisect_left(steps, start_from_step),
    )
    monitored = state.best is not None
    return SplitState(
        points=len(steps),
        best_step=steps[state.best_epoch] if monitored else None,
        best_value=state.best,
        last_step=steps[-1] if steps else None,
        last_value=values[-1] if values else None,
        wait=state.wait,
        stop_step=steps[state.stopped_epoch] if state.stopped_epoch > 0 else None,
    )
