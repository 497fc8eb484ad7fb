"""The answers of the API as typed objects (msgspec structs), with NumPy arrays for array fields.

Array fields arrive as nested JSON lists (``null`` for non-finite values) or as base64 tensor
objects, whichever ``array_encoding`` the request asked for; both decode to float64 NumPy arrays.
``to_json`` writes an answer back in the API's own JSON shape.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import msgspec
import numpy as np

from .structs import Struct


class TopRow(Struct):
    index: int
    loss: float | None


class Stats(Struct):
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    sum: float | None
    quantiles: dict[str, float | None]
    top: list[TopRow]


class Group(Struct):
    key: int
    count: int
    weight_sum: float | None
    value: float | None


class Breakdown(Struct):
    by: Literal["output", "class"]
    groups: list[Group]


class LossResult(Struct):
    """One loss's answer: ``value`` is None for reduction ``none`` and for non-finite values."""

    loss: str
    params: dict[str, Any]
    reduction: str
    value: float | None
    count: int
    weight_sum: float | None
    omitted: int
    ignored: int
    clipped: int
    stats: Stats | None = None
    per_sample: np.ndarray | None = None
    gradient: np.ndarray | None = None
    breakdown: Breakdown | None = None


class ArraySummary(Struct):
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    count: int
    non_finite: int


class Inputs(Struct):
    predictions: ArraySummary
    targets: ArraySummary


def result_of(results: list[LossResult], loss: int | str) -> LossResult:
    """The result at a position, or the first with a canonical loss name."""
    if isinstance(loss, int):
        return results[loss]
    for result in results:
        if result.loss == loss:
            return result
    raise KeyError(f"no result for loss {loss!r}; results: {[r.loss for r in results]}")


class Evaluation(Struct):
    """The answer of ``POST /v1/evaluate``: one result per requested loss, in request order."""

    api_version: str
    n_samples: int
    results: list[LossResult]
    inputs: Inputs | None = None

    def __getitem__(self, loss: int | str) -> LossResult:
        """A result by position, or by canonical loss name (the first with that name)."""
        return result_of(self.results, loss)


class Curve(Struct):
    params: dict[str, Any]
    value: np.ndarray
    gradient: np.ndarray | None


class CurveResult(Struct):
    """The answer of ``POST /v1/losses/{name}/curve``: one curve per parameter set."""

    loss: str
    target: float
    x: np.ndarray
    curves: list[Curve]


def decode_array(value: Any) -> np.ndarray:
    """A response array: a tensor object (base64 of little-endian float64) or nested lists."""
    if isinstance(value, dict):
        data = base64.b64decode(value["data"])
        return np.frombuffer(data, dtype="<f8").reshape(value["shape"])
    return np.array(value, dtype=np.float64)  # null (non-finite) becomes NaN


def _decode_hook(kind: type, value: Any) -> Any:
    if kind is np.ndarray:
        return decode_array(value)
    raise NotImplementedError(f"cannot decode {kind}")


def decoder(kind: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(kind, dec_hook=_decode_hook)


CURVE = decoder(CurveResult)
