"""Inputs shared by the generators of two anchor libraries (PyTorch and Optax/rax), so that both
record the same kinds of cases. Plain NumPy: no anchor library is imported here."""

from __future__ import annotations

import numpy as np

REDUCTIONS = ("mean", "sum", "sum_over_batch_size", "none")


def relevance(r: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Graded relevance 0..3 with ties; row 1 all equal (no pair), row 2 all 0 (no relevance)."""
    t = r.integers(0, 4, size=(n, length)).astype(float)
    t[1] = 2.0
    t[2] = 0.0
    return t


def scores(r: np.random.Generator, n: int, length: int) -> np.ndarray:
    """List scores, with a row of +-1000 and a difference of exactly 1 (the default hinge's kink)."""
    s = r.normal(size=(n, length)) * 2.0
    s[0] = [1000.0, -1000.0, 999.0, 0.0, -3.0][:length]
    s[3, 1] = s[3, 0] + 1.0
    return s


def triplets(r: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """(n, 3, dim) anchors, positives, negatives. Row 0: the positive equals the anchor (distance
    eps * dim^(1/p); with swap, d(a, n) = d(p, n)); row 1: embeddings of +-1000; row 2: the negative
    nearer than the positive (an active hinge)."""
    t = r.normal(size=(n, 3, dim))
    t[0, 1] = t[0, 0]
    t[1] = r.choice([-1000.0, 1000.0], size=(3, dim)) + r.normal(size=(3, dim))
    t[2, 2] = t[2, 0] + 0.1
    return t


def label_sequences(
    r: np.random.Generator, n: int, frames: int, classes: int, blank: int, infeasible: bool
) -> np.ndarray:
    """CTC labels (n, S) of random lengths padded with -1: classes other than the blank, with
    repeated labels (which need a blank between them) and an empty row. With ``infeasible`` the last
    two rows need more frames than there are: more labels than frames, and labels whose repeats do
    not fit."""
    width = frames + 1 if infeasible else frames // 2
    choices = np.array([c for c in range(classes) if c != blank])
    labels = np.full((n, width), -1.0)
    for row in range(n):
        length = int(r.integers(1, frames // 2 + 1))
        labels[row, :length] = r.choice(choices, size=length)
    labels[0, :3] = labels[0, 0]  # a label repeated three times
    labels[1] = -1.0  # an empty label sequence
    if infeasible:
        labels[-2] = r.choice(choices, size=width)
        labels[-1] = -1.0
        labels[-1, : frames // 2 + 1] = choices[0]  # k repeats need 2k - 1 frames
    return labels


def frame_logits(r: np.random.Generator, n: int, frames: int, classes: int) -> np.ndarray:
    """(n, frames, classes) logits; one frame of +-1000."""
    z = r.normal(size=(n, frames, classes)) * 2.0
    z[2, 1] = np.where(np.arange(classes) % 2 == 0, 1000.0, -1000.0)
    return z
