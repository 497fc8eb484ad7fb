"""Early stopping against the states real Keras 3 ``EarlyStopping`` reached over the same series.

The cases live in ``tests/reference/keras_early_stopping.json``, written by
``make_keras_early_stopping.py`` (a real ``model.fit`` per series, float64); every field must be
equal, NaN to NaN. Then invariants over random series, and the input checks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.monitoring import SplitState, early_stopping
from service.monitoring.early_stopping import replay

DOCUMENT = json.loads((Path(__file__).parents[1] / "reference" / "keras_early_stopping.json").read_text())
CASES = [pytest.param(c, id=f"{i}:{c['name']}") for i, c in enumerate(DOCUMENT["cases"])]


def number(encoded: float | str | None) -> float | None:
    """A number as the generator wrote it: "NaN", "Infinity" and "-Infinity" as strings."""
    return float(encoded) if isinstance(encoded, str) else encoded


def same(a: float | None, b: float | None) -> bool:
    """Equal, with None equal to None and NaN equal to NaN; -0.0 and 0.0 told apart."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def series(case: dict[str, Any]) -> tuple[list[int], list[float]]:
    return case["steps"], [number(v) for v in case["values"]]


def params(case: dict[str, Any]) -> dict[str, Any]:
    return case["params"] | {"baseline": number(case["params"]["baseline"])}


def test_reference_file_covers_the_cases_asked_for():
    assert DOCUMENT["produced_by"].startswith("keras 3.")
    cases = DOCUMENT["cases"]
    assert len(cases) >= 300
    stopped = [c for c in cases if c["keras"]["stopped_epoch"] > 0]
    assert 0.3 * len(cases) < len(stopped) < 0.9 * len(cases)
    values = [number(v) for c in cases for v in c["values"]]
    assert any(math.isnan(v) for v in values)
    assert any(v == math.inf for v in values) and any(v == -math.inf for v in values)
    assert any(v < 0 for v in values)
    assert {0, 1} <= {c["params"]["patience"] for c in cases}
    assert {0, 1, 2} <= {len(c["steps"]) for c in cases}
    assert any(c["params"]["baseline"] is not None and c["keras"]["wait"] > 0 for c in cases)
    assert any(c["start_from_epoch"] > 0 for c in cases)
    assert any(c["steps"] != list(range(len(c["steps"]))) for c in cases)
    assert any(c["keras"]["best"] is None for c in cases)


@pytest.mark.parametrize("case", CASES)
def test_replay_matches_keras(case):
    keras = case["keras"]
    _, values = series(case)
    p = params(case)
    state = replay(
        values,
        patience=p["patience"],
        min_delta=p["min_delta"],
        baseline=p["baseline"],
        start_from_epoch=case["start_from_epoch"],
    )
    assert same(state.best, number(keras["best"]))
    assert state.best_epoch == keras["best_epoch"]
    assert state.wait == keras["wait"]
    assert state.stopped_epoch == keras["stopped_epoch"]
    assert state.epochs == keras["epochs_run"]
    # fit stops right after the epoch at which the callback set stop_training, and only then.
    stopped_at = keras["stop_training_epoch"]
    assert stopped_at == (keras["stopped_epoch"] if keras["stopped_epoch"] > 0 else None)


@pytest.mark.parametrize("case", CASES)
def test_early_stopping_matches_keras_in_steps(case):
    keras = case["keras"]
    steps, values = series(case)
    # The SPEC's mapping: start_from_epoch is the first position whose step is >= start_from_step.
    start = case["params"]["start_from_step"]
    assert case["start_from_epoch"] == next((i for i, s in enumerate(steps) if s >= start), len(steps))
    state = early_stopping(steps, values, **params(case))
    best = number(keras["best"])
    assert state.points == len(steps)
    assert state.best_step == (None if best is None else steps[keras["best_epoch"]])
    assert same(state.best_value, best)
    assert state.last_step == (steps[-1] if steps else None)
    assert same(state.last_value, values[-1] if values else None)
    assert state.wait == keras["wait"]
    stopped = keras["stop_training_epoch"]
    assert state.stop_step == (None if stopped is None else steps[stopped])
    assert state.plateau == (stopped is not None)


def test_numpy_arrays_give_plain_numbers():
    steps, values = np.array([0, 2, 4, 6]), np.array([1.0, 0.5, 0.6, 0.7])
    state = early_stopping(steps, values, patience=2, min_delta=0.0, baseline=None, start_from_step=0)
    assert state == SplitState(4, 2, 0.5, 6, 0.7, 2, 6)
    assert all(type(x) in (int, float) for x in (state.best_step, state.best_value, state.stop_step))


@pytest.mark.parametrize(
    ("steps", "values", "message"),
    [
        ([0, 1], [1.0], "steps and values must have the same length; got 2 and 1."),
        ([-1, 1], [1.0, 2.0], "steps must be >= 0; got -1 at position 0."),
        ([0, 3, 3], [1.0, 2.0, 3.0], "steps must be strictly ascending; got 3 after 3 at position 2."),
        ([0, 3, 2], [1.0, 2.0, 3.0], "steps must be strictly ascending; got 2 after 3 at position 2."),
    ],
)
def test_series_is_checked(steps, values, message):
    with pytest.raises(ValueError) as error:
        early_stopping(steps, values, patience=1, min_delta=0.0, baseline=None, start_from_step=0)
    assert str(error.value) == message


# Small integers (as floats) and non-finite values: sums of them are exact in float64, so shifting
# changes no comparison.
integer_values = st.lists(
    st.one_of(st.integers(-50, 50).map(float), st.sampled_from([math.nan, math.inf, -math.inf])),
    max_size=40,
)


def ascending_steps(n: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(1, 7), min_size=n, max_size=n).map(
        lambda gaps: [int(s) for s in np.cumsum(gaps) - 1]
    )


def positions(steps: list[int], state: SplitState) -> tuple[int | None, int | None, int]:
    """Where best and stop are, as positions, and the wait: what must not depend on step values."""

    def at(step: int | None) -> int | None:
        return None if step is None else steps.index(step)

    return at(state.best_step), at(state.stop_step), state.wait


@given(data=st.data(), values=integer_values, patience=st.integers(0, 6), min_delta=st.integers(0, 3))
@settings(max_examples=200, deadline=None)
def test_only_the_order_of_steps_matters(data, values, patience, min_delta):
    """Two step sequences of the same length give the same positions; start_from_step is a step,
    so it maps through the steps (here: the k-th step of each)."""
    a = data.draw(ascending_steps(len(values)))
    b = data.draw(ascending_steps(len(values)))
    k = data.draw(st.integers(0, len(values)))
    baseline = data.draw(st.one_of(st.none(), st.integers(-50, 50).map(float)))
    common = {"patience": patience, "min_delta": float(min_delta), "baseline": baseline}
    on_a = early_stopping(
        a, values, **common, start_from_step=a[k] if k < len(a) else (a[-1] + 1 if a else 0)
    )
    on_b = early_stopping(
        b, values, **common, start_from_step=b[k] if k < len(b) else (b[-1] + 1 if b else 0)
    )
    assert positions(a, on_a) == positions(b, on_b)
    assert same(on_a.best_value, on_b.best_value) and same(on_a.last_value, on_b.last_value)


@given(
    values=integer_values,
    shift=st.integers(-1000, 1000),
    patience=st.integers(0, 6),
    min_delta=st.integers(0, 3),
    baseline=st.one_of(st.none(), st.integers(-50, 50)),
    start=st.integers(0, 10),
)
@settings(max_examples=200, deadline=None)
def test_shifting_every_value_changes_only_the_values(values, shift, patience, min_delta, baseline, start):
    steps = list(range(len(values)))

    def run(offset: float) -> SplitState:
        return early_stopping(
            steps,
            [v + offset for v in values],
            patience=patience,
            min_delta=float(min_delta),
            baseline=None if baseline is None else float(baseline + offset),
            start_from_step=start,
        )

    plain, shifted = run(0.0), run(float(shift))
    assert positions(steps, plain) == positions(steps, shifted)
    if plain.best_value is not None and shifted.best_value is not None:
        assert same(plain.best_value + shift, shifted.best_value)


@given(values=integer_values, replacement=integer_values, patience=st.integers(0, 6))
@settings(max_examples=200, deadline=None)
def test_values_after_the_stop_do_not_matter(values, replacement, patience):
    common = {"patience": patience, "min_delta": 0.0, "baseline": None, "start_from_step": 0}
    state = early_stopping(list(range(len(values))), values, **common)
    if state.stop_step is None:
        return
    changed = values[: state.stop_step + 1] + replacement
    other = early_stopping(list(range(len(changed))), changed, **common)
    assert (other.best_step, other.wait, other.stop_step) == (state.best_step, state.wait, state.stop_step)
    assert same(other.best_value, state.best_value)


@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=60),
    patience=st.integers(0, 8),
)
@settings(max_examples=300, deadline=None)
def test_without_min_delta_or_baseline_best_is_the_running_minimum(values, patience):
    """Finite values, no min_delta, no baseline: best is the first minimum so far, and training
    stops at the first step that is max(patience, 1) steps past the last new minimum."""
    state = early_stopping(
        list(range(len(values))), values, patience=patience, min_delta=0.0, baseline=None, start_from_step=0
    )
    limit = max(patience, 1)
    best_at, stop_at = None, None
    for i, v in enumerate(values):
        if best_at is None or v < values[best_at]:
            best_at = i
        elif i - best_at >= limit:
            stop_at = i
            break
    assert state.best_step == best_at
    assert state.stop_step == stop_at
    assert state.wait == (
        limit if stop_at is not None else (0 if best_at is None else len(values) - 1 - best_at)
    )
