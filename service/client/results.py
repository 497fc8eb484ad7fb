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

ArrayEncoding = Literal["list", "base64"]


class Struct(msgspec.Struct, omit_defaults=True):
    """Base of every answer: fields the API leaves out when absent default to None."""


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


class Evaluation(Struct):
    """The answer of ``POST /v1/evaluate``: one result per requested loss, in request order."""

    api_version: str
    n_samples: int
    results: list[LossResult]
    inputs: Inputs | None = None

    def __getitem__(self, loss: int | str) -> LossResult:
        """A result by position, or by canonical loss name (the first with that name)."""
        if isinstance(loss, int):
            return self.results[loss]
        for result in self.results:
            if result.loss == loss:
                return result
        raise KeyError(f"no result for loss {loss!r}; results: {[r.loss for r in self.results]}")


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


class Equivalent(Struct):
    library: str
    function: str
    mapping: str


class InputMode(Struct):
    name: str
    predictions: str
    targets: list[str]
    shapes: list[str]
    select: dict[str, Any]


class LossInfo(Struct):
    """A catalogue entry."""

    name: str
    aliases: list[str]
    family: str
    summary: str
    formula: str
    parameters: dict[str, Any]
    input_modes: list[InputMode]
    has_gradient: bool
    nonnegative: bool
    reductions: list[str]
    curve: bool
    equivalents: list[Equivalent]
    differences: list[str]
    notes: list[str]


class Catalogue(Struct):
    losses: list[LossInfo]


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


def to_json(answer: Struct, array_encoding: ArrayEncoding = "list") -> bytes:
    """An answer in the API's JSON shape; arrays as lists (non-finite as null) or base64 tensors."""

    def hook(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if array_encoding == "list":
                return value.tolist()
            data = np.ascontiguousarray(value, dtype="<f8").tobytes()
            return {"dtype": "float64", "shape": list(value.shape), "data": base64.b64encode(data).decode()}
        raise NotImplementedError(f"cannot encode {type(value)}")

    return msgspec.json.encode(answer, enc_hook=hook)
