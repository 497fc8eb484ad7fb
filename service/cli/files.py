"""Arrays from files a person has at hand: ``.npy``, ``.npz``, ``.csv`` and ``.parquet``, or stdin.

A source is ``PATH`` or ``PATH:KEY``; KEY picks an NPZ member or CSV/Parquet columns (comma
separated). Without KEY an NPZ with one member gives it, and one with several gives the member named
for the array's role (``predictions``, ``targets``, ``weights``); a CSV or Parquet file gives all its
columns, a single column as a 1-D array. ``-`` reads stdin, its format told by its first bytes.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..arrow import column_array

SUFFIXES = {".npy": "npy", ".npz": "npz", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
READ_CHUNK = 1 << 20
Progress = Callable[[str, int], Callable[[int], None] | None]


class UsageError(ValueError):
    """A source that cannot be read as asked: the person has to change the command."""


def split_source(source: str) -> tuple[str, str | None]:
    """``PATH`` or ``PATH:KEY`` (a path that exists as written is never split)."""
    if source == "-" or Path(source).exists() or ":" not in source:
        return source, None
    path, _, key = source.rpartition(":")
    return path, key or None


def read_array(source: str, role: str, progress: Progress | None = None) -> np.ndarray:
    """The array at ``source``; ``role`` names it in messages and picks an NPZ member."""
    path, key = split_source(source)
    if path == "-":
        data = sys.stdin.buffer.read()
        kind = _sniff(data)
    else:
        file = Path(path)
        kind = SUFFIXES.get(file.suffix.lower(), "")
        if not kind:
            raise UsageError(f"{role}: {path} is not a .npy, .npz, .csv or .parquet file.")
        if not file.is_file():
            raise UsageError(f"{role}: no such file: {path}")
        data = _read_bytes(file, progress)
    try:
        return READERS[kind](data, key, role)
    except UsageError:
        raise
    except (ValueError, OSError, KeyError) as error:
        raise UsageError(f"{role}: cannot read {path} as {kind}: {error}") from None


def _read_bytes(file: Path, progress: Progress | None) -> bytes:
    size = file.stat().st_size
    advance = progress(f"reading {file.name}", size) if progress else None
    if advance is None:
        return file.read_bytes()
    buffer = bytearray(size)
    view = memoryview(buffer)
    with file.open("rb") as handle:
        filled = 0
        while filled < size:
            count = handle.readinto(view[filled : filled + READ_CHUNK])
            if not count:
                break
            filled += count
            advance(count)
    return bytes(view[:filled])


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if data.startswith(b"PK"):
        return "npz"
    if data.startswith(b"PAR1"):
        return "parquet"
    return "csv"


def _npy(data: bytes, key: str | None, role: str) -> np.ndarray:
    if key:
        raise UsageError(f"{role}: a .npy file holds one array; drop ':{key}'.")
    return np.load(io.BytesIO(data), allow_pickle=False)


def _npz(data: bytes, key: str | None, role: str) -> np.ndarray:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        names = list(archive.files)
        if key is None:
            key = names[0] if len(names) == 1 else role if role in names else None
        if key not in names:
            wanted = f"no member {key!r}" if key else f"{len(names)} members and none is named {role!r}"
            raise UsageError(
                f"{role}: the archive has {wanted}; pick one with FILE.npz:NAME ({', '.join(names)})."
            )
        return archive[key]


def _columns(table: dict[str, np.ndarray], key: str | None, role: str) -> np.ndarray:
    names = list(table)
    chosen = names if key is None else [name.strip() for name in key.split(",")]
    missing = [name for name in chosen if name not in table]
    if missing:
        raise UsageError(f"{role}: no column {missing[0]!r}; columns: {', '.join(names)}.")
    arrays = [table[name] for name in chosen]
    return arrays[0] if len(arrays) == 1 else np.column_stack(arrays)


def _csv(data: bytes, key: str | None, role: str) -> np.ndarray:
    text = data.decode()
    first = text.split("\n", 1)[0]
    header = not _numeric(first.split(",")[0])
    values = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=int(header), ndmin=2, dtype=np.float64)
    names = [n.strip() for n in first.split(",")] if header else [str(i) for i in range(values.shape[1])]
    return _columns(dict(zip(names, values.T, strict=True)), key, role)


def _numeric(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _parquet(data: bytes, key: str | None, role: str) -> np.ndarray:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(f"{role}: reading Parquet needs pyarrow: pip install pyarrow") from None
    table = pq.read_table(pa.BufferReader(data))
    columns: dict[str, Any] = {name: column_array(table.column(name)) for name in table.column_names}
    return _columns(columns, key, role)


READERS: dict[str, Callable[[bytes, str | None, str], np.ndarray]] = {
    "npy": _npy,
    "npz": _npz,
    "csv": _csv,
    "parquet": _parquet,
}
