"""Request bodies, kept as lists of byte chunks so that large arrays are never copied into one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

JSON = "application/json"
NPZ = "application/x-npz"


class Body:
    """A request body as a list of byte chunks, sent without being joined into one buffer.

    The chunks of an NPZ body are views of the arrays themselves: building it copies nothing.
    Iterating yields slices of at most ``CHUNK`` bytes (what a progress bar counts).
    """

    CHUNK = 1 << 20

    def __init__(self, chunks: list[bytes], content_type: str) -> None:
        self.chunks = chunks
        self.content_type = content_type
        self.size = sum(len(chunk) for chunk in chunks)

    def __bytes__(self) -> bytes:
        return b"".join(self.chunks)

    def slices(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            for start in range(0, len(chunk), self.CHUNK):
                yield chunk[start : start + self.CHUNK]


def json_body(value: Any) -> Body:
    """A JSON body; NumPy arrays inside are written as lists."""
    return Body([orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)], JSON)
