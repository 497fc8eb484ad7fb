"""Diagnostics of a split against its reference split: closed-form runs, parameters, JSON, invariants.

The per-split early-stopping fields are pinned to Keras in test_early_stopping.py; here the
flags built on them (plateau, gap, overfitting, diverging, status) on runs whose answer is known
by construction.
"""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from service.monitoring import (
    DEFAULT_PARAMS,
    STATUSES,
    Diagnostics,
    DiagnosticsParams,
    SplitState,
    diagnose,
    to_dict,
)

STEPS = list(range(30))
# Training loss keeps falling for 30 epochs.
TRAIN = [0.8 / (1 + i) for i in STEPS]
BEST = 1 / 19


def validation(after: float) -> list[float]:
    """Falls as 1/(1+i) to its best at step 18, then moves by ``after`` per step."""
    return [1 / (1 + i) if i <= 18 else BEST + after * (i - 18) for i in STEPS]


def run(val: list[float], train: list[float] = TRAIN, **params) -> Diagnostics:
    return diagnose({"train": (STEPS, train), "validation": (STEPS, val)}, DiagnosticsParams(**params))


def test_validation_worse_while_train_falls_is_overfitting():
    d = run(validation(0.001))
    state = d.splits["validation"]
    assert state == SplitState(
        points=30, best_step=18, best_value=BEST, last_step=29, last_value=BEST + 0.011, wait=10, stop_step=28
    )
    assert (d.plateau, d.overfitting, d.diverging, d.status) == (True, True, False, "overfitting")
    assert d.gap.steps == tuple(STEPS)
    assert d.gap.values == tuple(v - t for v, t in zip(validation(0.001), TRAIN, strict=True))
    assert d.gap.last == BEST + 0.011 - 0.8 / 30
    train = d.splits["train"]
    assert (train.best_step, train.stop_step, train.wait) == (29, None, 0)


def test_flat_validation_is_a_plateau_not_overfitting():
    d = run(validation(0.0))
    assert (d.splits["validation"].best_step, d.splits["validation"].stop_step) == (18, 28)
    assert (d.plateau, d.overfitting, d.diverging, d.status) == (True, False, False, "plateau")


def test_train_not_improving_is_a_plateau_not_overfitting():
    flat_train = [t if i <= 18 else TRAIN[18] for i, t in enumerate(TRAIN)]
    d = run(validation(0.001), flat_train)
    assert (d.plateau, d.overfitting, d.status) == (True, False, "plateau")


def test_still_improving():
    d = run([1 / (1 + i) for i in STEPS])
    assert (d.plateau, d.overfitting, d.diverging, d.status) == (False, False, False, "improving")
    assert d.splits["validation"].stop_step is None


def test_rise_beyond_the_divergence_factor_is_diverging_before_overfitting():
    # last − best = 0.11 > (2 − 1)·|best| = 0.0526: diverging, and overfitting as well.
    d = run(validation(0.01))
    assert (d.plateau, d.overfitting, d.diverging, d.status) == (True, True, True, "diverging")
    # A larger factor lets the same rise count as overfitting only: 0.11 <= 2.5·0.0526.
    d = run(validation(0.01), divergence=3.5)
    assert (d.overfitting, d.diverging, d.status) == (True, False, "overfitting")


@pytest.mark.parametrize("last", [math.nan, math.inf, -math.inf])
def test_a_last_value_that_is_not_finite_is_diverging(last):
    d = run([*validation(0.0)[:-1], last])
    assert (d.diverging, d.status) == (True, "diverging")
    assert to_dict(d)["splits"][1]["last_value"] is None
    assert to_dict(d)["gap"]["last"] is None


def test_a_nan_in_the_middle_is_not_diverging_once_values_are_back():
    val = [1 / (1 + i) for i in STEPS]
    val[10] = math.nan
    d = run(val)
    assert (d.diverging, d.status) == (False, "improving")
    assert to_dict(d)["gap"]["values"][10] is None


@pytest.mark.parametrize(
    ("values", "divergence", "diverging"),
    [
        # Negative losses: the allowed rise is (divergence − 1)·|best| = 0.9 above best = −0.9.
        ([-0.5, -0.9, 0.05], 2.0, True),
        ([-0.5, -0.9, -0.05], 2.0, False),
        ([-0.5, -0.9, -0.4], 1.5, True),
        # best = 0: any rise is diverging.
        ([1.0, 0.0, 1e-9], 2.0, True),
        ([1.0, 0.0, 0.0], 2.0, False),
        # divergence = 1: any rise above the best.
        ([1.0, 0.5, 0.5000001], 1.0, True),
        # A NaN best (the first value) is never improved on; only a non-finite last value diverges.
        ([math.nan, 1.0, 100.0], 2.0, False),
        ([math.nan, 1.0, math.inf], 2.0, True),
    ],
)
def test_divergence_threshold(values, divergence, diverging):
    d = diagnose({"validation": ([0, 1, 2], values)}, DiagnosticsParams(divergence=divergence))
    assert d.diverging is diverging
    assert d.status == ("diverging" if diverging else "improving")


def test_nothing_monitored_has_no_best_and_diverges_only_on_a_non_finite_last_value():
    d = run(validation(0.01), start_from_step=30)
    state = d.splits["validation"]
    assert (state.best_step, state.best_value, state.wait, state.stop_step) == (None, None, 0, None)
    assert (d.diverging, d.status) == (False, "improving")
    d = run([*validation(0.0)[:-1], math.nan], start_from_step=30)
    assert (d.diverging, d.status) == (True, "diverging")


def test_start_from_step_delays_the_plateau():
    # Monitoring starts at step 25 of the flat tail: best there, then 4 ties, fewer than patience.
    d = run(validation(0.0), start_from_step=25)
    state = d.splits["validation"]
    assert (state.best_step, state.wait, state.stop_step, d.status) == (25, 4, None, "improving")


@pytest.mark.parametrize(
    ("series", "diverging"),
    [
        ({"validation": ([], []), "train": ([0, 1], [1.0, 0.5])}, False),
        ({"train": ([0, 1], [1.0, 0.5])}, False),
        ({"validation": ([7], [0.3]), "train": ([7], [0.2])}, False),
        ({"validation": ([7], [math.nan])}, True),
    ],
    ids=["empty", "absent", "one step", "one NaN step"],
)
def test_fewer_than_two_steps_is_insufficient_data(series, diverging):
    d = diagnose(series, DEFAULT_PARAMS)
    assert d.status == "insufficient_data"
    assert (d.plateau, d.overfitting, d.diverging) == (False, False, diverging)
    assert set(d.splits) == {"validation", "train"}


def test_no_data_at_all():
    d = diagnose({})
    assert to_dict(d) == {
        "split": "validation",
        "reference_split": "train",
        "status": "insufficient_data",
        "plateau": False,
        "overfitting": False,
        "diverging": False,
        "gap": {"last": None, "steps": [], "values": []},
        "splits": [
            {
                "split": name,
                "points": 0,
                "best_step": None,
                "best_value": None,
                "last_step": None,
                "last_value": None,
                "wait": 0,
                "stop_step": None,
                "plateau": False,
            }
            for name in ("validation", "train")
        ],
    }


def test_without_a_reference_split_there_is_no_gap_and_no_overfitting():
    d = diagnose({"validation": (STEPS, validation(0.001))}, DEFAULT_PARAMS)
    assert (d.gap.steps, d.gap.values, d.gap.last) == ((), (), None)
    assert (d.plateau, d.overfitting, d.status) == (True, False, "plateau")
    assert d.splits["train"].points == 0


def test_reference_without_the_best_step_is_not_overfitting():
    odd = [s for s in STEPS if s % 2]
    series = {"validation": (STEPS, validation(0.001)), "train": (odd, [TRAIN[s] for s in odd])}
    d = diagnose(series, DEFAULT_PARAMS)  # best_step 18 is even
    assert (d.plateau, d.overfitting, d.status) == (True, False, "plateau")
    assert d.gap.steps == tuple(odd)


def test_gap_on_non_contiguous_steps():
    series = {"validation": ([0, 2, 4, 6], [1.0, 0.8, 0.7, 0.65]), "train": ([0, 1, 2, 3, 4, 5], [0.9] * 6)}
    gap = diagnose(series, DEFAULT_PARAMS).gap
    assert gap.steps == (0, 2, 4)
    assert gap.values == pytest.approx((0.1, -0.1, -0.2), abs=1e-15)
    assert gap.last == gap.values[-1]


def test_min_delta_bounds_both_overfitting_tests():
    steps = list(range(8))
    train = [4.0, 3.0, 2.0, 1.0, 0.9, 0.8, 0.7, 0.5]

    def status(val: list[float], train: list[float], min_delta: float) -> str:
        series = {"validation": (steps, val), "train": (steps, train)}
        return diagnose(series, DiagnosticsParams(patience=3, min_delta=min_delta)).status

    val = [4.0, 3.0, 2.0, 1.0, 1.5, 1.5, 1.5, 2.0]  # best 1.0 at step 3, stops at step 6
    assert status(val, train, 0.0) == "overfitting"
    assert status(val, train, 0.25) == "overfitting"
    # Train's improvement since step 3 is 0.5, not more than min_delta = 0.5.
    assert status(val, train, 0.5) == "plateau"
    # Validation's rise above its best is 0.5, not more than min_delta = 0.5.
    assert status(val, [*train[:-1], 0.4], 0.5) == "overfitting"
    assert status([*val[:-1], 1.5], [*train[:-1], 0.4], 0.5) == "plateau"


def test_same_split_as_reference():
    d = run(validation(0.001), reference_split="validation")
    assert set(d.gap.values) == {0.0}
    assert (d.overfitting, d.status) == (False, "plateau")


def test_every_split_given_gets_its_state_in_input_order():
    series = {
        "test": ([0, 1], [3.0, 2.0]),
        "validation": (STEPS, validation(0.001)),
        "train": (STEPS, TRAIN),
    }
    d = diagnose(series, DiagnosticsParams(patience=1))
    assert list(d.splits) == ["test", "validation", "train"]
    assert [s["split"] for s in to_dict(d)["splits"]] == ["test", "validation", "train"]
    assert d.splits["test"] == SplitState(2, 1, 2.0, 1, 2.0, 0, None)


def test_to_dict_is_strict_json_with_nulls_for_non_finite_numbers():
    val = [math.nan, *validation(0.001)[1:]]
    val[20] = math.inf
    d = run(val)
    document = to_dict(d)
    assert json.loads(json.dumps(document, allow_nan=False)) == document
    assert document["splits"][1] == {
        "split": "validation",
        "points": 30,
        "best_step": 0,
        "best_value": None,
        "last_step": 29,
        "last_value": BEST + 0.011,
        "wait": 10,
        "stop_step": 10,
        "plateau": True,
    }
    assert document["gap"]["values"][0] is None and document["gap"]["values"][20] is None
    assert document["gap"]["steps"] == STEPS
    assert document["status"] == d.status == "plateau"


# --- parameters ---------------------------------------------------------------------------------


def test_parameter_defaults_are_the_specs():
    assert DEFAULT_PARAMS.model_dump() == {
        "split": "validation",
        "reference_split": "train",
        "patience": 10,
        "min_delta": 0.0,
        "baseline": None,
        "start_from_step": 0,
        "divergence": 2.0,
    }


def test_parameter_constraints_are_data():
    properties = DiagnosticsParams.model_json_schema()["properties"]
    bounds = {name: (p.get("type"), p.get("minimum")) for name, p in properties.items() if "type" in p}
    assert bounds == {
        "split": ("string", None),
        "reference_split": ("string", None),
        "patience": ("integer", 0),
        "min_delta": ("number", 0),
        "start_from_step": ("integer", 0),
        "divergence": ("number", 1),
    }
    assert (
        properties["split"]["pattern"]
        == properties["reference_split"]["pattern"]
        == r"^[A-Za-z0-9._:\-]{1,64}$"  # the split names of SPEC §7
    )
    assert [t["type"] for t in properties["baseline"]["anyOf"]] == ["number", "null"]


@pytest.mark.parametrize(
    "bad",
    [
        {"patience": -1},
        {"patience": 1.5},
        {"min_delta": -0.01},
        {"min_delta": math.inf},
        {"divergence": 0.99},
        {"divergence": math.nan},
        {"baseline": math.nan},
        {"baseline": -math.inf},
        {"start_from_step": -1},
        {"split": ""},
        {"reference_split": "a/b"},
        {"split": "x" * 65},
        {"window": 3},
    ],
)
def test_parameters_out_of_range_are_refused(bad):
    with pytest.raises(ValidationError):
        DiagnosticsParams(**bad)


def test_parameters_from_a_query_string():
    params = DiagnosticsParams.model_validate(
        {"patience": "3", "min_delta": "0.01", "baseline": "", "start_from_step": "5", "divergence": "1.5"}
    )
    assert (params.patience, params.min_delta, params.baseline, params.start_from_step) == (3, 0.01, None, 5)
    assert DiagnosticsParams.model_validate({"baseline": "0.25"}).baseline == 0.25
    with pytest.raises(ValidationError):
        params.patience = 5  # type: ignore[misc]


# --- invariants ---------------------------------------------------------------------------------

value = st.one_of(st.floats(-10, 10), st.sampled_from([math.nan, math.inf, -math.inf, 0.0]))


@st.composite
def split_series(draw: st.DrawFn) -> tuple[list[int], list[float]]:
    steps = sorted(draw(st.sets(st.integers(0, 40), max_size=25)))
    return steps, draw(st.lists(value, min_size=len(steps), max_size=len(steps)))


@given(
    validation_series=split_series(),
    train_series=st.one_of(st.none(), split_series()),
    other=split_series(),
    patience=st.integers(0, 5),
    min_delta=st.sampled_from([0.0, 0.01, 0.5]),
    divergence=st.sampled_from([1.0, 1.5, 2.0, 10.0]),
)
@settings(max_examples=300, deadline=None)
def test_flags_gap_and_status_agree(validation_series, train_series, other, patience, min_delta, divergence):
    series = {"validation": validation_series, "other": other}
    if train_series is not None:
        series["train"] = train_series
    params = DiagnosticsParams(patience=patience, min_delta=min_delta, divergence=divergence)
    d = diagnose(series, params)
    state = d.splits["validation"]
    assert d.status in STATUSES
    assert d.plateau == state.plateau == (state.stop_step is not None)
    assert not d.overfitting or d.plateau
    if state.points < 2:
        assert d.status == "insufficient_data"
    else:
        flags = [("diverging", d.diverging), ("overfitting", d.overfitting), ("plateau", d.plateau)]
        assert d.status == next((name for name, holds in flags if holds), "improving")
    # The gap: every common step, ascending, value minus reference value.
    train = dict(zip(*(train_series or ([], [])), strict=True))
    common = [s for s in validation_series[0] if s in train]
    assert list(d.gap.steps) == common
    val = dict(zip(*validation_series, strict=True))
    for step, g in zip(d.gap.steps, d.gap.values, strict=True):
        assert g == val[step] - train[step] or (math.isnan(g) and math.isnan(val[step] - train[step]))
    document = to_dict(d)
    assert json.loads(json.dumps(document, allow_nan=False)) == document
    # Other splits change nothing but their own entry.
    alone = to_dict(diagnose({k: v for k, v in series.items() if k != "other"}, params))
    assert alone == document | {"splits": [s for s in document["splits"] if s["split"] != "other"]}


def test_a_thousand_runs_of_fifty_steps_are_cheap():
    """The runs list diagnoses up to 1,000 runs per request: a plain loop, no per-call overhead."""
    steps = list(range(50))
    runs = [
        {
            "train": (steps, [1 / (1 + i) + 0.001 * (r % 7) for i in steps]),
            "validation": (
                steps,
                [1 / (1 + i) + 0.002 * (i > 20) * (i - 20) + 0.001 * (r % 5) for i in steps],
            ),
        }
        for r in range(1000)
    ]
    start = time.process_time()
    statuses = [diagnose(series, DEFAULT_PARAMS).status for series in runs]
    elapsed = time.process_time() - start
    assert set(statuses) <= set(STATUSES)
    # About 30 ms on the development machine; ten times that still fails a per-step NumPy or
    # pandas implementation.
    assert elapsed < 0.3
