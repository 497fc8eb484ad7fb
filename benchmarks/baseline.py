"""Bare ASGI baselines: the least a server must do for the benchmark's requests.

Each reads the whole body, decodes the arrays (orjson for JSON lists and base64 tensors, NumPy for
an NPZ body), computes the MSE with NumPy and returns it as JSON. No validation, no statistics:
the floor our service is measured against. Run with
``uvicorn --factory benchmarks.baseline:create_app``.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import orjson


def _array(value: Any) -> np.ndarray:
    if isinstance(value, dict):
        raw = base64.b64decode(value["data"])
        return np.frombuffer(raw, dtype="<f8").reshape(value["shape"])
    return np.asarray(value, dtype=np.float64)


def _mse(p: np.ndarray, t: np.ndarray) -> float:
    d = (p - t).ravel()
    return float(d @ d / d.size)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    if content_type.startswith(b"application/x-npz"):
        arrays = np.load(io.BytesIO(body))
        value = _mse(arrays["predictions"], arrays["targets"])
    else:
        payload = orjson.loads(body)
        value = _mse(_array(payload["predictions"]), _array(payload["targets"]))
    response = orjson.dumps({"value": value})
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(response)).encode())]})
    await send({"type": "http.response.body", "body": response})


def create_app() -> Any:
    return app
