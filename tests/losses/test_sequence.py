"""ctc: against a brute-force sum over every alignment, the feasibility rule, blanks and extremes.

PyTorch's and Optax's numbers are in tests/reference/{torch,optax}_sequence.json.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.losses import registry
from service.losses.errors import InvalidInput, TooLarge
from service.losses.numerics import log_softmax
from service.losses.sequence import ctc

from .helpers import evaluate_loss

run = functools.partial(evaluate_loss, "ctc", reduction="none")


def collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    """CTC's many-to-one map: merge repeats, then drop blanks."""
    merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
    return tuple(k for k in merged if k != blank)


def brute_force(logits: np.ndarray, labels: tuple[int, ...], blank: int) -> float:
    """−log of the total probability of the alignments that collapse to ``labels``."""
    log_p = log_softmax(logits)
    frames, classes = log_p.shape
    total = sum(
        np.exp(log_p[np.arange(frames), list(path)].sum())
        for path in itertools.product(range(classes), repeat=frames)
        if collapse(path, blank) == labels
    )
    return -np.log(total) if total > 0 else np.inf


@st.composite
def small_batches(draw):
    classes = draw(st.integers(2, 3))
    frames = draw(st.integers(1, 5))
    blank = draw(st.integers(0, classes - 1))
    others = [c for c in range(classes) if c != blank]
    n = draw(st.integers(1, 3))
    width = draw(st.integers(0, 4))
    rows = []
    for _ in range(n):
        length = draw(st.integers(0, width))
        rows.append([draw(st.sampled_from(others)) for _ in range(length)] + [-1] * (width - length))
    seed = draw(st.integers(0, 2**32 - 1))
    logits = np.random.default_rng(seed).normal(size=(n, frames, classes)) * 2
    return logits, np.array(rows, dtype=float).reshape(n, width), blank


@given(small_batches())
@settings(max_examples=60, deadline=None)
def test_equals_the_sum_over_every_alignment(batch):
    logits, labels, blank = batch
    result = run(logits, labels, blank=blank)
    for row in range(len(labels)):
        sequence = tuple(int(k) for k in labels[row] if k >= 0)
        expected = brute_force(logits[row], sequence, blank)
        if np.isinf(expected):
            assert result.per_sample[row] == np.inf
            np.testing.assert_array_equal(result.gradient[row], 0.0)
        else:
            assert result.per_sample[row] == pytest.approx(expected, rel=1e-12, abs=1e-12)
            # The gradient with respect to logits of a softmax sums to 0 over each frame's classes.
            np.testing.assert_allclose(result.gradient[row].sum(axis=1), 0.0, atol=1e-13)


def test_repeated_labels_need_a_blank_between_them():
    logits = np.zeros((3, 3, 3))
    labels = np.array([[1, 1, -1], [1, 2, -1], [1, 1, 1]], dtype=float)
    # Row 0 needs 3 frames (1, blank, 1): exactly one alignment of uniform frames, p = 3^-3.
    result = run(logits, labels)
    assert result.per_sample[0] == pytest.approx(3 * np.log(3), rel=1e-14)
    # Row 1 (1, 2) in 3 frames: 5 alignments (11 2, 1 22, 1 b 2, b 12, 12 b).
    assert result.per_sample[1] == pytest.approx(3 * np.log(3) - np.log(5), rel=1e-14)
    assert result.per_sample[2] == np.inf  # 1, 1, 1 needs 5 frames


def test_empty_label_sequence_is_all_blanks():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 3))
    labels = np.full((2, 2), -1.0)
    for blank in (0, 2):
        result = run(logits, labels, blank=blank)
        expected = -log_softmax(logits)[:, :, blank].sum(axis=1)
        np.testing.assert_allclose(result.per_sample, expected, rtol=1e-14)
    no_columns = run(logits, np.empty((2, 0)))
    np.testing.assert_allclose(no_columns.per_sample, -log_softmax(logits)[:, :, 0].sum(axis=1), rtol=1e-14)


def test_logits_of_a_thousand_stay_exact():
    logits = np.full((1, 4, 3), -1000.0)
    logits[0, :, 0] = 1000.0  # every frame says blank
    result = run(logits, np.array([[1.0, 2.0]]))
    # The two labels must each take one frame with log p = -2000: the loss is 4000 - log 6 plus
    # terms of e^-2000, and the blank-only frames contribute log p = -e^-2000 = 0.
    assert result.per_sample[0] == pytest.approx(4000.0 - np.log(6.0), rel=1e-15)
    assert np.isfinite(result.gradient).all()


def test_the_value_alone_equals_the_value_with_the_gradient():
    rng = np.random.default_rng(5)
    logits, labels = rng.normal(size=(5, 12, 6)), rng.integers(1, 6, size=(5, 4)).astype(float)
    labels[1, 2:] = -1
    definition = registry.get("ctc")
    params = definition.params()
    with_gradient = ctc(logits, labels, params, True)
    alone = ctc(logits, labels, params, False)
    np.testing.assert_array_equal(alone.contribution, with_gradient.contribution)
    assert alone.gradient is None


def test_labels_are_validated():
    logits = np.zeros((1, 3, 3))
    with pytest.raises(InvalidInput, match=r"targets\[0\]\[1\] = 0.0 is the blank \(blank=0\)"):
        run(logits, [[1.0, 0.0]])
    with pytest.raises(InvalidInput, match=r"targets\[0\]\[0\] = -2.0 is not a label"):
        run(logits, [[-2.0, 1.0]])
    with pytest.raises(InvalidInput, match=r"targets\[0\]\[1\] = 2.0 follows padding"):
        run(logits, [[-1.0, 2.0]])
    with pytest.raises(InvalidInput, match="blank = 3 is not a class") as info:
        run(logits, [[1.0]], blank=3)
    assert info.value.errors[0].location == ("losses", 0, "blank")


def test_a_lattice_beyond_the_limits_is_refused():
    with pytest.raises(TooLarge, match="CTC lattice of 2 rows, 2048 frames and 512 labels"):
        run(np.zeros((2, 2048, 2)), np.ones((2, 512)))
    with pytest.raises(TooLarge, match="32769 frames"):
        run(np.zeros((1, 2**15 + 1, 2)), np.empty((1, 0)))
