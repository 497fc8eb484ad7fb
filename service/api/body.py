"""Reading request bodies: content type, byte limit while streaming, JSON parsing with orjson.

The byte limit is enforced before the body is parsed: from Content-Length when the client sends
one, and while the chunks arrive in every case (a lying or absent Content-Length, chunked uploads).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from .problems import Problem

JSON_TYPES = ("application/json",)


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "payload-too-large",
        "Payload too large",
        f"The request body exceeds the limit of {limit} bytes (LOSS_SERVICE_MAX_BODY_BYTES). "
        "Send fewer samples per request or base64 tensors, which are smaller than JSON numbers.",
    )


def check_json_content_type(request: Request) -> None:
    raw = request.headers.get("content-type")
    if raw is None:
        return  # A client that names no type gets the benefit of the doubt: JSON.
    media_type = raw.split(";", 1)[0].strip().lower()
    if media_type in JSON_TYPES or (media_type.startswith("application/") and media_type.endswith("+json")):
        return
    raise Problem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"Content-Type {media_type!r} is not supported; send application/json.",
        [("header.content-type", f"expected application/json, got {media_type!r}")],
    )


async def read_limited(request: Request, limit: int) -> bytearray:
    """The whole body, refusing (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    size = 0
    if declared is not None and declared.isdigit():
        size = int(declared)
        if size > limit:
            raise _too_large(limit)
    # One preallocated buffer rather than a list of chunks joined at the end: fewer fresh pages.
    buffer = bytearray(size)
    filled = 0
    async for chunk in request.stream():
        end = filled + len(chunk)
        if end > limit:
            raise _too_large(limit)
        buffer[filled:end] = chunk
        filled = end
    if filled != len(buffer):
        del buffer[filled:]
    return buffer


def parse_json(body: bytes | bytearray) -> Any:
    if not body:
        raise Problem(
            400, "invalid-json", "Body is not valid JSON", "The request body is empty; send a JSON object."
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Problem(
            400,
            "invalid-json",
            "Body is not valid JSON",
            f"The request body is not valid JSON: {error}.",
            [("body", str(error))],
        ) from None


async def read_json(request: Request, limit: int) -> Any:
    check_json_content_type(request)
    return parse_json(await read_limited(request, limit))
