"""The base of the typed answers, the catalogue's entries, and answers written back as JSON.

Kept apart from ``results`` (which needs NumPy) so that listing losses loads no NumPy.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import msgspec

ArrayEncoding = Literal["list", "base64"]


class Struct(msgspec.Struct, omit_defaults=True):
    """Base of every answer: fields the API leaves out when absent default to None."""


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
    targets: Literal["required", "none"]
    equivalents: list[Equivalent]
    differences: list[str]
    notes: list[str]


class Catalogue(Struct):
    losses: list[LossInfo]


def to_json(answer: Struct, array_encoding: ArrayEncoding = "list") -> bytes:
    """An answer in the API's JSON shape; arrays as lists (non-finite as null) or base64 tensors."""

    def hook(value: Any) -> Any:
        import numpy as np  # loaded already when an answer holds arrays

        if isinstance(value, np.ndarray):
            if array_encoding == "list":
                return value.tolist()
            data = np.ascontiguousarray(value, dtype="<f8").tobytes()
            return {"dtype": "float64", "shape": list(value.shape), "data": base64.b64encode(data).decode()}
        raise NotImplementedError(f"cannot encode {type(value)}")

    return msgspec.json.encode(answer, enc_hook=hook)
