"""Array codecs: request arrays (nested JSON lists or base64 tensor objects) to float64 NumPy,
and response arrays back to JSON lists or tensor objects.

Kept apart from the schemas and the core so that a faster decoder can replace it alone. Element
limits are checked before any array is materialised: from the claimed shape of a tensor, and from
the lengths along the first path of a nested list. Every array has 1 to ``MAX_DIMENSIONS``
dimensions and at least one element, whichever form it comes in.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import struct
import zipfile
from collections.abc import Callable
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
# What the losses take, (N, T, C) at most; the OpenAPI document declares the same.
MAX_DIMENSIONS = 3


def bad_array(location: str, message: str, status: int = 422) -> Problem:
    kind = "invalid-array" if status == 422 else "malformed-array"
    title = "Invalid array" if status == 422 else "Malformed array data"
    return Problem(status, kind, title, f"{location}: {message}", [(location, message)])


def _too_many(location: str, count: int, limit: int) -> Problem:
    message = f"{count} elements exceed the limit of {limit} per array."
    return Problem(
        413, "payload-too-large", "Payload too large", f"{location}: {message}", [(location, message)]
    )


def _to_float64(array: np.ndarray) -> np.ndarray:
    """float64 data as is (no copy); other dtypes converted once. A signalling NaN in float16/32
    becomes a quiet NaN without a warning: nan_policy decides what happens to it."""
    with np.errstate(invalid="ignore"):
        return array.astype(np.float64, copy=False)


def nested_size(value: list[Any]) -> int:
    """Element count implied by the lengths along the first path of a nested list."""
    size = 1
    while isinstance(value, list):
        size *= len(value)
        if not value:
            break
        value = value[0]
    return size


def check_shape(shape: tuple[int, ...], location: str) -> None:
    """1 to MAX_DIMENSIONS dimensions and at least one element, or a 422 naming the array."""
    if not 1 <= len(shape) <= MAX_DIMENSIONS:
        raise bad_array(location, f"an array has 1 to {MAX_DIMENSIONS} dimensions; got {len(shape)}.")
    if min(shape) < 1:
        raise bad_array(
            location, f"an array needs at least one element along every dimension; got shape {list(shape)}."
        )


def decode(value: Any, location: str, max_elements: int) -> np.ndarray:
    """A request array (nested list, tensor object, or an NPZ member) as a float64 NumPy array."""
    if isinstance(value, np.ndarray):
        return _to_float64(value)  # NPZ members: decoded and checked already
    if isinstance(value, dict):
        return decode_tensor(value, location, max_elements)
    if isinstance(value, list):
        count = nested_size(value)
        if count > max_elements:
            raise _too_many(location, count, max_elements)
        array = decode_nested(value, location)
        check_shape(array.shape, location)
        return array
    raise bad_array(
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


def _ragged(location: str) -> Problem:
    message = "nested lists must be rectangular: every row needs the same length."
    return Problem(
        422, "ragged-array", "Array is not rectangular", f"{location}: {message}", [(location, message)]
    )


def decode_nested(value: list[Any], location: str) -> np.ndarray:
    """Nested lists of numbers; JSON null stands for a missing value (NaN)."""
    try:
        array = np.asarray(value)
    except (ValueError, OverflowError):
        raise _ragged(location) from None
    if array.dtype.kind in "fiu":
        return array.astype(np.float64, copy=False)
    culprit = _first_non_number(value, location)
    if culprit is not None:
        where, item = culprit
        raise bad_array(where, f"expected a number or null, got {type(item).__name__} {item!r:.40}.")
    # Only numbers and nulls (or integers too large for int64): convert element by element.
    try:
        flat = [math.nan if x is None else float(x) for x in array.ravel()]
    except OverflowError:
        raise bad_array(location, "a number is too large for float64.") from None
    return np.array(flat, dtype=np.float64).reshape(array.shape)


def _is_integer(value: Any) -> bool:
    """An integer as JSON Schema has it: 3 or 3.0, but not true."""
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def decode_tensor(value: dict[str, Any], location: str, max_elements: int) -> np.ndarray:
    """``{"dtype", "shape", "data"}``: base64 of the little-endian C-order bytes."""
    unknown = sorted(set(value) - {"dtype", "shape", "data"})
    if unknown:
        raise bad_array(f"{location}.{unknown[0]}", "unknown tensor field; expected dtype, shape and data.")
    dtype = value.get("dtype")
    if not isinstance(dtype, str) or dtype not in DTYPES:  # a list or dict here is unhashable
        raise bad_array(f"{location}.dtype", f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}.")
    shape = value.get("shape")
    if not isinstance(shape, list) or not all(_is_integer(n) for n in shape):
        raise bad_array(f"{location}.shape", "shape must be a list of positive integers.")
    shape = [int(n) for n in shape]
    check_shape(tuple(shape), f"{location}.shape")
    count = math.prod(shape)
    if count > max_elements:
        raise _too_many(location, count, max_elements)
    data = value.get("data")
    if not isinstance(data, str):
        raise bad_array(f"{location}.data", "data must be a base64 string.")
    itemsize = np.dtype(DTYPES[dtype]).itemsize
    expected = count * itemsize
    if len(data) != 4 * math.ceil(expected / 3):
        raise bad_array(
            f"{location}.data",
            f"{len(data)} base64 characters cannot hold {expected} bytes "
            f"({count} elements of {dtype}, shape {shape}).",
            status=400,
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise bad_array(f"{location}.data", "data is not valid base64.", status=400) from None
    if len(raw) != expected:
        raise bad_array(
            f"{location}.data",
            f"decoded {len(raw)} bytes, but dtype {dtype} and shape {shape} need {expected}.",
            status=400,
        )
    # float64 data is used in place (read-only); other dtypes are converted once.
    return _to_float64(np.frombuffer(raw, dtype=DTYPES[dtype]).reshape(shape))


def encode(array: np.ndarray, encoding: ArrayEncoding) -> Any:
    """A response array: a NumPy array (orjson writes it as lists, NaN as null) or a tensor."""
    if encoding == "list":
        return np.ascontiguousarray(array, dtype=np.float64)
    data = np.ascontiguousarray(array, dtype="<f8").tobytes()
    return {"dtype": "float64", "shape": list(array.shape), "data": base64.b64encode(data).decode("ascii")}


# ---- NPZ bodies ------------------------------------------------------------------------------

NPZ_ARRAYS = ("predictions", "targets", "weights")
NPZ_REQUEST = "request.json"
NPY_DTYPES = {np.dtype(code).str: name for name, code in DTYPES.items()} | {
    np.dtype(code).newbyteorder(">").str: name for name, code in DTYPES.items()
}
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # ZIP local file header, 30 bytes
NPY_HEADER_MAX = 65536 + 12  # magic, version, header length and a header of up to 64 KiB


class BufferReader(io.RawIOBase):
    """A read-only, seekable file over a bytes-like object, without copying it (io.BytesIO copies
    a bytearray): what zipfile needs to list an archive's members in place."""

    def __init__(self, buffer: bytes | bytearray) -> None:
        super().__init__()
        self._view = memoryview(buffer).cast("B")
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, target: Any) -> int:
        chunk = self._view[self._position : self._position + len(target)]
        target[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


def _malformed_npz(location: str, message: str) -> Problem:
    return bad_array(location, message, status=400)


def decode_npz(
    body: bytes | bytearray,
    max_elements: int,
    max_request_bytes: int,
    read_fields: Callable[[bytes, str], dict[str, Any]],
) -> dict[str, Any]:
    """An NPZ body (``np.savez``) as a request payload: its arrays plus the fields of ``request.json``.

    Members: ``predictions.npy``, ``targets.npy``, optional ``weights.npy``, and ``request.json``
    (the JSON request without the arrays), parsed by ``read_fields(data, location)``. Stored
    (uncompressed) members are viewed in place, with no copy; compressed ones are inflated only after
    their declared size passed the limits, and never past it. Element limits are checked from each
    array's header, before its data is touched.
    """
    try:
        archive = zipfile.ZipFile(BufferReader(body))
        members = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise _malformed_npz("body", f"not a valid NPZ (zip) archive: {error}.") from None
    payload: dict[str, Any] = {}
    for name, info in members.items():
        stem = name.removesuffix(".npy")
        location = f"body.{stem}"
        if name == NPZ_REQUEST:
            if info.file_size > max_request_bytes:
                raise _malformed_npz(location, "request.json is too large.")
            payload.update(_request_fields(archive, info, read_fields))
        elif stem in NPZ_ARRAYS and name.endswith(".npy"):
            payload[stem] = _npy_member(body, archive, info, location, max_elements)
        else:
            raise bad_array(
                f"body.{name}",
                f"unexpected NPZ member {name!r}; expected predictions.npy, targets.npy, "
                "weights.npy and request.json.",
            )
    return payload


def _request_fields(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, read_fields: Callable[[bytes, str], dict[str, Any]]
) -> dict[str, Any]:
    location = "body.request.json"
    try:
        data = archive.read(info)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise _malformed_npz(location, f"cannot read request.json: {error}.") from None
    fields = read_fields(data, location)
    arrays = sorted(set(fields) & set(NPZ_ARRAYS))
    if arrays:
        raise bad_array(f"{location}.{arrays[0]}", "arrays go in their own .npy members.")
    return fields


def _npy_member(
    body: bytes | bytearray, archive: zipfile.ZipFile, info: zipfile.ZipInfo, location: str, max_elements: int
) -> np.ndarray:
    if info.compress_type == zipfile.ZIP_STORED:
        start = _data_offset(body, info, location)
        # Only the .npy header is read through a stream; the data is viewed in the body itself.
        header_end = start + min(info.file_size, NPY_HEADER_MAX)
        stream: io.BytesIO = io.BytesIO(memoryview(body)[start:header_end])
    else:
        # Inflate no more than the declared size allows: a lying header cannot make a bomb.
        limit = max_elements * 8 + 4096
        if info.file_size > limit:
            raise _too_many(location, info.file_size // 8, max_elements)
        try:
            with archive.open(info) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
            raise _malformed_npz(location, f"cannot inflate the member: {error}.") from None
        if len(data) > limit:
            raise _too_many(location, len(data) // 8, max_elements)
        stream = io.BytesIO(data)
        start = None
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, SyntaxError, OSError, EOFError) as error:
        raise _malformed_npz(location, f"not a valid .npy array: {error}.") from None
    if dtype.str not in NPY_DTYPES:
        raise bad_array(location, f"dtype {dtype} is not supported; use one of {', '.join(DTYPES)}.")
    check_shape(shape, location)
    count = math.prod(shape)
    if count > max_elements:
        raise _too_many(location, count, max_elements)
    offset = stream.tell()
    size = count * dtype.itemsize
    member_size = info.file_size if start is not None else len(stream.getbuffer())
    if member_size - offset != size:
        raise _malformed_npz(location, f"the data does not hold {count} elements of {dtype} (shape {shape}).")
    source = body if start is not None else stream.getbuffer()
    array = np.frombuffer(source, dtype=dtype, count=count, offset=offset + (start or 0))
    return array.reshape(shape, order="F" if fortran else "C")


def _data_offset(body: bytes | bytearray, info: zipfile.ZipInfo, location: str) -> int:
    """Where a stored member's bytes start in the body: after its local header."""
    header = bytes(memoryview(body)[info.header_offset : info.header_offset + _LOCAL_HEADER.size])
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _malformed_npz(location, "the zip local header is damaged.")
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[-2], fields[-1]
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    if start + info.file_size > len(body):
        raise _malformed_npz(location, "the member runs past the end of the body.")
    return start
