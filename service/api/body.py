"""Reading request bodies: media type, byte limit while streaming, JSON parsing for a request model.

The byte limit is enforced before the body is parsed: from Content-Length when the client sends
one, and while the chunks arrive in every case (a lying or absent Content-Length, chunked uploads).
Parsing is bounded by the request model's shape (``decoding``): every JSON body goes through
``read_json`` or ``parse_json``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from . import decoding
from .problems import Problem

JSON = "application/json"
NPZ = "application/x-npz"
MEDIA_TYPES = (JSON, NPZ)


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "payload-too-large",
        "Payload too large",
        f"The request body exceeds the limit of {limit} bytes (LOSS_SERVICE_MAX_BODY_BYTES). "
        "Send fewer samples per request, or base64 tensors or an NPZ body, which are smaller than JSON.",
    )


def media_type(content_type: str | None, accepted: tuple[str, ...] = MEDIA_TYPES) -> str:
    """The body's media type: JSON (also ``application/*+json`` and no Content-Type) or NPZ; else 415."""
    if content_type is None:
        return JSON  # A client that names no type gets the benefit of the doubt: JSON.
    media = content_type.split(";", 1)[0].strip().lower()
    if media.startswith("application/") and media.endswith("+json"):
        media = JSON
    if media in accepted:
        return media
    expected = " or ".join(accepted)
    raise Problem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"Content-Type {media!r} is not supported; send {expected}.",
        [("header.content-type", f"expected {expected}, got {media!r}")],
    )


async def read_limited(receive: Receive, content_length: str | None, limit: int) -> bytearray:
    """The whole body from an ASGI ``receive``, refused (413) once known to exceed ``limit`` bytes."""
    size = 0
    if content_length is not None and content_length.isdigit():
        size = int(content_length)
        if size > limit:
            raise _too_large(limit)
    # One preallocated buffer rather than a list of chunks joined at the end: fewer fresh pages.
    buffer = bytearray(size)
    filled = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        end = filled + len(chunk)
        if end > limit:
            raise _too_large(limit)
        buffer[filled:end] = chunk
        filled = end
        if not message.get("more_body", False):
            break
    if filled != len(buffer):
        del buffer[filled:]
    return buffer


def parse_json(body: bytes | bytearray, model: type[BaseModel], location: str = "body") -> dict[str, Any]:
    """The fields of a JSON body for ``model``, parsed by msgspec into its shape (see ``decoding``)."""
    if not body:
        raise Problem(
            400, "invalid-json", "Body is not valid JSON", "The request body is empty; send a JSON object."
        )
    return decoding.decode(body, model, location)


async def read_json(request: Request, model: type[BaseModel], limit: int) -> dict[str, Any]:
    """A JSON body of a Starlette request for ``model`` (the endpoints that take JSON only)."""
    media_type(request.headers.get("content-type"), (JSON,))
    return parse_json(
        await read_limited(request.receive, request.headers.get("content-length"), limit), model
    )
