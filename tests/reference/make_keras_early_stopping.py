"""Reference states of Keras 3 ``EarlyStopping`` (JAX backend, float64) over by-step loss series.

Run by hand: ``pip install keras jax`` then
``KERAS_BACKEND=jax python -m tests.reference.make_keras_early_stopping``; writes
keras_early_stopping.json.

Each series is fed to a real ``model.fit`` of a one-weight model on one sample, with
``epochs=len(values)`` and three callbacks in this order: one that writes ``values[epoch]`` into
the epoch's logs under ``"series"`` (``CallbackList`` hands the same logs dict to every callback,
after converting it to Python floats as it does for any metric), ``EarlyStopping(monitor="series",
mode="min", patience, min_delta, baseline, start_from_epoch, restore_best_weights=False)``, and one
that notes the epoch at which ``model.stop_training`` became true. So the loop, the order of the
hooks and the ``break`` after the stopping epoch are ``fit``'s own, not a re-implementation; the
monitored value reaches the callback exactly as a ``val_loss`` of that value would.

Comparisons run in float64 (``jax_enable_x64`` and floatx float64): ``EarlyStopping`` compares with
``keras.ops.less``, which would otherwise round both sides to float32, while the service compares
its own float64 series. No series holds a subnormal number: XLA on CPU compares them as zero
(``0.0 < 5e-324`` is false there), where the service follows IEEE.

A case records the parameters (``start_from_step`` and the ``start_from_epoch`` it maps to: the
first position whose step is >= it), the steps and values, and Keras's state after ``fit``:
``best`` (null when no epoch was monitored), ``best_epoch``, ``wait``, ``stopped_epoch`` (0 when it
did not stop), ``stop_training_epoch`` (null when it did not stop) and ``epochs_run``. Non-finite
numbers are written as the strings "NaN", "Infinity" and "-Infinity", so the file is strict JSON.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import bisect  # noqa: E402
import functools  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
from typing import Any  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from .common import rng, write  # noqa: E402

keras.config.set_floatx("float64")

NAN, INF = math.nan, math.inf
MONITOR = "series"


class Inject(keras.callbacks.Callback):
    """Puts the series' value for the epoch into the logs the callbacks after it receive."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        assert logs is not None
        logs[MONITOR] = self.values[epoch]


class Observe(keras.callbacks.Callback):
    """Notes the first epoch at whose end ``model.stop_training`` is true."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.stop_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.model.stop_training and self.stop_epoch is None:
            self.stop_epoch = epoch


@functools.cache
def model() -> keras.Model:
    """One tiny compiled model, reused by every case (its training is irrelevant)."""
    m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    return m


def encode(x: float | None) -> float | str | None:
    if x is None or math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def run_keras(
    name: str,
    steps: list[int],
    values: list[float],
    patience: int,
    min_delta: float = 0.0,
    baseline: float | None = None,
    start_from_step: int = 0,
) -> dict[str, Any]:
    assert len(steps) == len(values) and all(a < b for a, b in itertools.pairwise(steps))
    values = [float(v) for v in values]
    start_from_epoch = bisect.bisect_left(steps, start_from_step)
    stopping = keras.callbacks.EarlyStopping(
        monitor=MONITOR,
        mode="min",
        patience=patience,
        min_delta=min_delta,
        baseline=baseline,
        start_from_epoch=start_from_epoch,
        restore_best_weights=False,
    )
    observe = Observe()
    history = model().fit(
        np.zeros((1, 1)),
        np.zeros((1,)),
        epochs=len(values),
        verbose=0,
        callbacks=[Inject(values), stopping, observe],
    )
    epochs_run = len(history.epoch)
    assert observe.stop_epoch in (None, epochs_run - 1)
    return {
        "name": name,
        "params": {
            "patience": patience,
            "min_delta": min_delta,
            "baseline": encode(baseline),
            "start_from_step": start_from_step,
        },
        "start_from_epoch": start_from_epoch,
        "steps": steps,
        "values": [encode(v) for v in values],
        "keras": {
            "best": encode(stopping.best),
            "best_epoch": int(stopping.best_epoch),
            "wait": int(stopping.wait),
            "stopped_epoch": int(stopping.stopped_epoch),
            "stop_training_epoch": observe.stop_epoch,
            "epochs_run": epochs_run,
        },
    }


def contiguous(values: list[float]) -> list[int]:
    return list(range(len(values)))


def rounding_pair(r: np.random.Generator) -> tuple[float, float, float]:
    """(best, current, min_delta) where ``current + min_delta < best`` and ``best - current >
    min_delta`` disagree in float64: pins the exact form of Keras's comparison."""
    while True:
        best, current = r.uniform(0.0, 1.0, size=2)
        current = min(best, current)
        min_delta = best - current
        for candidate in (min_delta, np.nextafter(min_delta, 0.0), np.nextafter(min_delta, 1.0)):
            if (current + candidate < best) != (best - current > candidate):
                return float(best), float(current), float(candidate)


def hand_made(r: np.random.Generator) -> list[dict[str, Any]]:
    cases = []

    def add(name: str, values: list[float], steps: list[int] | None = None, **params: Any) -> None:
        params.setdefault("patience", 3)
        cases.append(run_keras(name, contiguous(values) if steps is None else steps, values, **params))

    down_then_flat = [1.0, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    add("empty", [])
    add("one step", [0.7])
    add("one step, NaN", [NAN])
    add("two steps, improving", [1.0, 0.5])
    add("two steps, worse, patience 1", [0.5, 1.0], patience=1)
    add("two steps, worse, patience 0", [0.5, 1.0], patience=0)
    add("two steps, equal, patience 0", [0.5, 0.5], patience=0)
    add("ties after improvement", down_then_flat)
    add("all equal", [0.25] * 12, patience=4)
    add("patience 0", [1.0, 0.9, 0.8, 0.85, 0.7], patience=0)
    add("patience 1", [1.0, 0.9, 0.95, 0.8, 0.85, 0.84], patience=1)
    add("never stops", [1.0 / (1 + i) for i in range(40)], patience=2)
    add("long plateau", [1.0, 0.5] + [0.5] * 60, patience=25)
    add("plateau shorter than patience", [1.0, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4, 0.3], patience=3)
    uneven = [1.0, 0.9, 0.85, 0.7, 0.69, 0.5, 0.45, 0.44, 0.43, 0.2]
    for min_delta in (0.05, 0.1, 0.2, 0.3):
        add(f"min_delta {min_delta}", uneven, min_delta=min_delta)
    add("min_delta larger than every improvement", [1.0 - 0.01 * i for i in range(20)], min_delta=0.05)
    add("min_delta smaller than every improvement", [1.0 - 0.1 * i for i in range(10)], min_delta=0.05)
    add("min_delta equal to the improvement", [1.0, 0.9, 0.8, 0.7, 0.6], min_delta=0.1, patience=1)
    best, current, min_delta = rounding_pair(r)
    add("min_delta at the rounding edge", [best, current, current], min_delta=min_delta, patience=1)
    add("tiny improvements (float32 sees ties)", [1.0, 1.0 - 1e-12, 1.0 - 2e-12, 1.0 - 3e-12], patience=1)
    descending = [1.0 - 0.05 * i for i in range(16)]
    add("baseline never beaten, improving", descending, baseline=0.1)
    add("baseline never beaten, flat", [0.9] * 12, baseline=0.5, patience=4)
    add("baseline never beaten, then worse", descending[:5] + [0.95, 0.96, 0.97], baseline=0.1)
    add("baseline beaten late", descending, baseline=0.32)
    add("baseline beaten late, then flat", descending[:12] + [0.45] * 6, baseline=0.5)
    add("baseline beaten at once", [0.1, 0.2, 0.3, 0.4, 0.5], baseline=0.5)
    add("baseline equal to the value", [0.5, 0.5, 0.5, 0.5], baseline=0.5, patience=2)
    add("baseline with min_delta", descending, baseline=0.5, min_delta=0.04)
    add("baseline, patience 0", [0.9, 0.8, 0.85, 0.7], baseline=0.1, patience=0)
    add("baseline -inf", [0.9, 0.8, 0.7], baseline=-INF, patience=1)
    add("baseline +inf", [0.9, 0.8, 0.85, 0.9], baseline=INF, patience=1)
    warmup = [1.0, 2.0, 3.0, 2.5, 2.0, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0]
    for start in (0, 1, 3, 5, 10, 11, 50):
        add(f"start_from_step {start}", warmup, start_from_step=start)
    sparse = [0, 5, 10, 20, 40, 45, 50, 100, 101, 200, 300]
    for start in (0, 6, 20, 21, 150, 301):
        add(f"non-contiguous steps, start_from_step {start}", warmup, steps=sparse, start_from_step=start)
    add("non-contiguous steps, stops", [1.0, 0.5, 0.6, 0.7, 0.8], steps=[3, 7, 8, 30, 31], patience=2)
    add("NaN at the end", [1.0, 0.8, 0.6, NAN])
    add("NaN at the end, patience 0", [1.0, 0.8, 0.6, NAN], patience=0)
    add("NaN in the middle", [1.0, 0.8, NAN, 0.7, 0.75, 0.76, 0.77, 0.78])
    add("NaN run in the middle", [1.0, 0.8, NAN, NAN, NAN, 0.5, 0.4])
    add("NaN first", [NAN, 1.0, 0.5, 0.2, 0.1])
    add("NaN first, patience 0", [NAN, 1.0, 0.5], patience=0)
    add("NaN first after warm-up", [3.0, NAN, 1.0, 0.5, 0.4, 0.3], start_from_step=1)
    add("all NaN", [NAN] * 6)
    add("NaN with baseline", [0.9, NAN, 0.2, 0.1], baseline=0.5, patience=2)
    add("+inf first", [INF, 1.0, 0.5, 0.6, 0.7, 0.8])
    add("+inf at the end", [1.0, 0.5, 0.4, INF], patience=1)
    add("+inf in the middle", [1.0, INF, INF, 0.9, 0.8])
    add("-inf in the middle", [1.0, 0.5, -INF, 0.4, 0.3, 0.2, 0.1])
    add("-inf first", [-INF, -INF, 0.0, -1e300])
    add("inf then NaN", [INF, NAN, INF, 1.0], patience=5)
    add("negative values", [-0.1, -0.3, -0.5, -0.55, -0.5, -0.45, -0.4, -0.2], patience=2)
    add("negative values, min_delta", [-0.1, -0.3, -0.5, -0.55, -0.56, -0.6], min_delta=0.04, patience=1)
    add("negative values, baseline", [0.5, 0.0, -0.5, -0.9, -0.95], baseline=-0.9, patience=2)
    add("crossing zero", [0.2, 0.1, 0.0, -0.0, -0.1, 0.0, 0.1], patience=1)
    add("huge and tiny", [1e300, 1e-300, 2.3e-308, 0.0, 1e-307], patience=1)
    rising = [1.0 / (1 + i) for i in range(19)] + [0.06 + 0.01 * i for i in range(11)]
    add("down to step 18, then up", rising, patience=10)
    return cases


def random_series(r: np.random.Generator) -> dict[str, Any]:
    n = int(r.choice([2, 3, 5, 8, 13, 21, 34, 55, 89]))
    shape = r.choice(["walk", "ties", "curve", "noise"])
    if shape == "walk":
        values = 1.0 + np.cumsum(r.normal(-0.02, 0.05, size=n))
    elif shape == "ties":
        values = r.integers(0, 4, size=n) / 4.0
    elif shape == "curve":
        turn = r.integers(1, n + 1)
        i = np.arange(n)
        values = np.where(i < turn, 1.0 / (1.0 + i), 1.0 / turn + 0.01 * (i - turn)) + r.normal(0, 0.003, n)
    else:
        values = r.normal(0.0, 1.0, size=n)
    values = values.tolist()
    if r.uniform() < 0.2:
        for _ in range(int(r.integers(1, 3))):
            values[int(r.integers(0, n))] = float(r.choice([NAN, NAN, INF, -INF]))
    gaps = r.choice([1, 1, 2, 5])
    steps = np.cumsum(r.integers(1, gaps + 1, size=n)) - 1 + int(r.integers(0, 3))
    steps = steps.tolist()
    patience = int(r.choice([0, 1, 2, 3, 5, 10]))
    min_delta = float(r.choice([0.0, 0.0, 0.001, 0.01, 0.05]))
    finite = [v for v in values if math.isfinite(v)]
    baseline = None
    if r.uniform() < 0.25 and finite:
        baseline = float(np.quantile(finite, r.uniform()))
    start_from_step = 0 if r.uniform() < 0.6 else int(r.integers(0, steps[-1] + 2))
    return {
        "steps": steps,
        "values": values,
        "patience": patience,
        "min_delta": min_delta,
        "baseline": baseline,
        "start_from_step": start_from_step,
    }


def main() -> None:
    r = rng(20261202)
    anchor = f"keras {keras.__version__} (jax {jax.__version__})"
    cases = hand_made(r)
    for i in range(300):
        cases.append(run_keras(f"random {i}", **random_series(r)))
    write("keras_early_stopping", anchor, cases)


if __name__ == "__main__":
    main()
