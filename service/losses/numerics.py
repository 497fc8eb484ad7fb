"""Numerically stable building blocks shared by the losses.

Every function here is exact for arguments of any magnitude: logits of ±1000 give finite values and
gradients, with no overflow warning and no sigmoid-then-clip.
"""

from __future__ import annotations

import numpy as np

FLOAT64_EPS = float(np.finfo(np.float64).eps)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), finite for every finite x."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log σ(x) = −softplus(−x); log(1 − σ(x)) = log_sigmoid(−x), the latter more stable than log1p."""
    return -softplus(-x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^−x) without overflow: e^−|x| never exceeds 1."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log Σ e^x along ``axis`` (kept as a length-1 axis), shifted by the maximum."""
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log softmax over the last axis: x − logsumexp(x)."""
    return x - logsumexp(x)


def softmax(x: np.ndarray) -> np.ndarray:
    """softmax over the last axis, from the shifted exponentials."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x·log(y) with 0·log(y) = 0 for every y, including y = 0 (as scipy.special.xlogy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(y)
    return np.where(x == 0, 0.0, out)
