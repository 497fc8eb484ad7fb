"""Arrays in request bodies for ``POST /v1/evaluate``: JSON for small arrays, NPZ for large ones.

JSON numbers are written by orjson in their shortest exact form, so both bodies carry the same
float64 values and give the same answer. Below ``NPZ_FROM_ELEMENTS`` elements a JSON body is
answered sooner (no archive to build and read); from there on NPZ is, and by a wide margin for
large arrays (see the README's Performance section for the measurement behind the threshold).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import orjson

from .bodies import NPZ, Body, json_body

# Total elements over predictions, targets and weights from which the body is NPZ.
NPZ_FROM_ELEMENTS = 6000
# The dtypes the service reads from NPZ members as they are; any other is converted first.
NPZ_DTYPES = frozenset({"float64", "float32", "float16", "int64", "int32"})
# Bytes an NPZ body takes beyond its arrays' data: per member a zip header, a zip64 extra and a
# central directory entry (~150 bytes) plus the .npy header (at most 64 KiB; ~128 bytes in practice).
NPZ_MEMBER_OVERHEAD = 1024


def as_array(value: Any, name: str) -> np.ndarray:
    """Anything array-like as an array of a dtype the service reads exactly."""
    array = np.asarray(value)
    if array.dtype.name in NPZ_DTYPES:
        return array
    if array.dtype.kind in "biu" and array.dtype.itemsize <= 2 or array.dtype.kind == "b":
        return array.astype(np.int32)
    if array.dtype.kind == "u" and array.dtype.itemsize == 4:
        return array.astype(np.int64)
    if array.dtype.kind in "fiu" or array.dtype == object:
        return array.astype(np.float64)
    raise TypeError(f"{name}: arrays of dtype {array.dtype} cannot be evaluated; send real numbers.")


def given_arrays(predictions: Any, targets: Any, weights: Any) -> dict[str, np.ndarray]:
    """The arrays of a request by field name; targets and weights only when given."""
    given = {"predictions": as_array(predictions, "predictions")}
    if targets is not None:
        given["targets"] = as_array(targets, "targets")
    if weights is not None:
        given["weights"] = as_array(weights, "weights")
    return given


def json_array(array: np.ndarray) -> np.ndarray:
    """The array as orjson writes it exactly: int64 for integers, float64 for everything else."""
    kind = np.int64 if array.dtype.kind == "i" else np.float64
    return np.ascontiguousarray(array, dtype=kind)


class _Collector:
    """A write-only file that keeps what is written (by reference) instead of copying it.

    zipfile sees a file it cannot seek, and so writes each member's sizes and CRC after its data
    (a data descriptor), which every zip reader understands.
    """

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes | memoryview) -> int:
        self.chunks.append(cast(bytes, data))  # a view is sent as it is: bytes-like enough
        return len(data)

    def flush(self) -> None:
        pass


def encode(arrays: Mapping[str, np.ndarray], fields: Mapping[str, Any], npz: bool) -> Body:
    """``fields`` with ``arrays`` as JSON lists, or as an NPZ archive."""
    if not npz:
        return json_body(dict(fields) | {name: json_array(array) for name, array in arrays.items()})
    return Body(npz_chunks(arrays, fields), NPZ)


def array_body(arrays: Mapping[str, np.ndarray], fields: Mapping[str, Any]) -> Body:
    """``encode``, as NPZ from ``NPZ_FROM_ELEMENTS`` elements in all."""
    return encode(arrays, fields, npz=sum(array.size for array in arrays.values()) >= NPZ_FROM_ELEMENTS)


def npz_chunks(arrays: Mapping[str, np.ndarray], fields: Mapping[str, Any]) -> list[bytes]:
    """An NPZ archive as ``numpy.savez`` writes it (stored members), plus ``request.json``."""
    sink = _Collector()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                fortran = array.flags.f_contiguous and not array.flags.c_contiguous
                data = array if fortran or array.flags.c_contiguous else np.ascontiguousarray(array)
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(data))
                member.write(header.getvalue())
                member.write((data.T if fortran else data).data.cast("B"))
        archive.writestr("request.json", orjson.dumps(dict(fields)))
    return sink.chunks


def npz_size(arrays: Mapping[str, np.ndarray]) -> int:
    """An upper bound of the NPZ body's size for these arrays (the request's fields aside)."""
    return sum(array.nbytes + NPZ_MEMBER_OVERHEAD for array in arrays.values())
