"""Bare ASGI baselines: the least a server must do for the benchmark's requests.

It reads the whole body, decodes the arrays (orjson for JSON lists and base64 tensors, NumPy for
an NPZ body), computes the MSE with NumPy (and the per-sample losses and gradient when the request
includes them) and returns it as JSON. No validation, no statistics: the floor our service is
measured against. Run with
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


def _encode(array: np.ndarray, encoding: str) -> Any:
    if encoding == "base64":
        return {
            "dtype": "float64",
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode(),
        }
    return array


def _evaluate(p: np.ndarray, t: np.ndarray, include: list[str], encoding: str) -> dict[str, Any]:
    """MSE, and the per-sample losses and gradient when asked: what the response must carry."""
    d = p - t
    flat = d.ravel()
    result: dict[str, Any] = {"value": float(flat @ flat / flat.size)}
    if "per_sample" in include:
        result["per_sample"] = _encode(d * d if d.ndim == 1 else (d * d).mean(axis=1), encoding)
    if "gradient" in include:
        result["gradient"] = _encode(d * (2.0 / flat.size), encoding)
    return result


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
    if scope["method"] == "GET":
        response = b"{}"
    elif dict(scope["headers"]).get(b"content-type", b"").startswith(b"application/x-npz"):
        arrays = np.load(io.BytesIO(body))
        response = orjson.dumps(_evaluate(arrays["predictions"], arrays["targets"], [], "list"))
    else:
        payload = orjson.loads(body)
        result = _evaluate(
            _array(payload["predictions"]),
            _array(payload["targets"]),
            payload.get("include", []),
            payload.get("array_encoding", "list"),
        )
        response = orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(response)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": response})


def create_app() -> Any:
    return app
