"""Array codecs: request arrays (nested JSON lists or base64 tensor objects) to float64 NumPy,
and response arrays back to JSON lists or tensor objects.

Kept apart from the schemas and the core so that a faster decoder can replace it alone. Element
limits are checked before any array is materialised: from the claimed shape of a tensor, and from
the lengths along the first path of a nested list.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Literal

import numpy as np

from .problems import Problem

DTYPES: dict[str, str] = {
    "float64": "<f8",
    "float32": "<f4",
    "float16": "<f2",
    "int64": "<i8",
    "int32": "<i4",
}
ArrayEncoding = Literal["list", "base64"]


def _bad_array(location: str, message: str, status: int = 422) -> Problem:
    kind = "invalid-array" if status == 422 else "malformed-array"
    title = "Invalid array" if status == 422 else "Malformed array data"
    return Problem(status, kind, title, f"{location}: {message}", [(location, message)])


def _too_many(location: str, count: int, limit: int) -> Problem:
    message = f"{count} elements exceed the limit of {limit} per array."
    return Problem(
        413, "payload-too-large", "Payload too large", f"{location}: {message}", [(location, message)]
    )


def nested_size(value: list[Any]) -> int:
    """Element count implied by the lengths along the first path of a nested list."""
    size = 1
    while isinstance(value, list):
        size *= len(value)
        if not value:
            break
        value = value[0]
    return size


def decode(value: Any, location: str, max_elements: int) -> np.ndarray:
    """A request array (nested list or tensor object) as a float64 NumPy array."""
    if isinstance(value, dict):
        return decode_tensor(value, location, max_elements)
    if isinstance(value, list):
        count = nested_size(value)
        if count > max_elements:
            raise _too_many(location, count, max_elements)
        return decode_nested(value, location)
    raise _bad_array(
        location,
        'expected an array: nested lists of numbers, or a tensor object {"dtype", "shape", "data"}.',
    )


def _first_non_number(value: Any, location: str) -> tuple[str, Any] | None:
    """Location and value of the first element that is not a number or null (error path only)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_non_number(item, f"{location}[{i}]")
            if found is not None:
                return found
        return None
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return None
    return location, value


def decode_nested(value: list[Any], location: str) -> np.ndarray:
    """Nested lists of numbers; JSON null stands for a missing value (NaN)."""
    try:
        array = np.asarray(value)
    except (ValueError, OverflowError):
        raise _bad_array(
            location, "nested lists must be rectangular: every row needs the same length."
        ) from None
    if array.dtype.kind in "fiu":
        return array.astype(np.float64, copy=False)
    culprit = _first_non_number(value, location)
    if culprit is not None:
        where, item = culprit
        raise _bad_array(where, f"expected a number or null, got {type(item).__name__} {item!r:.40}.")
    # Only numbers and nulls (or integers too large for int64): convert element by element.
    try:
        flat = [math.nan if x is None else float(x) for x in array.ravel()]
    except OverflowError:
        raise _bad_array(location, "a number is too large for float64.") from None
    return np.array(flat, dtype=np.float64).reshape(array.shape)


def decode_tensor(value: dict[str, Any], location: str, max_elements: int) -> np.ndarray:
    """``{"dtype", "shape", "data"}``: base64 of the little-endian C-order bytes."""
    unknown = sorted(set(value) - {"dtype", "shape", "data"})
    if unknown:
        raise _bad_array(f"{location}.{unknown[0]}", "unknown tensor field; expected dtype, shape and data.")
    dtype = value.get("dtype")
    if dtype not in DTYPES:
        raise _bad_array(f"{location}.dtype", f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}.")
    shape = value.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise _bad_array(f"{location}.shape", "shape must be a list of non-negative integers.")
    count = math.prod(shape)
    if count > max_elements:
        raise _too_many(location, count, max_elements)
    data = value.get("data")
    if not isinstance(data, str):
        raise _bad_array(f"{location}.data", "data must be a base64 string.")
    itemsize = np.dtype(DTYPES[dtype]).itemsize
    expected = count * itemsize
    if len(data) != 4 * math.ceil(expected / 3):
        raise _bad_array(
            f"{location}.data",
            f"{len(data)} base64 characters cannot hold {expected} bytes "
            f"({count} elements of {dtype}, shape {shape}).",
            status=400,
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_array(f"{location}.data", "data is not valid base64.", status=400) from None
    if len(raw) != expected:
        raise _bad_array(
            f"{location}.data",
            f"decoded {len(raw)} bytes, but dtype {dtype} and shape {shape} need {expected}.",
            status=400,
        )
    return np.frombuffer(raw, dtype=DTYPES[dtype]).reshape(shape).astype(np.float64)


def encode(array: np.ndarray, encoding: ArrayEncoding) -> Any:
    """A response array: a NumPy array (orjson writes it as lists, NaN as null) or a tensor."""
    if encoding == "list":
        return np.ascontiguousarray(array, dtype=np.float64)
    data = np.ascontiguousarray(array, dtype="<f8").tobytes()
    return {"dtype": "float64", "shape": list(array.shape), "data": base64.b64encode(data).decode("ascii")}
