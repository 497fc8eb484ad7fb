"""NPZ request bodies (application/x-npz): same results, limits and problems as JSON."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from service.api.arrays import decode_npz
from service.api.problems import Problem
from service.api.schemas import evaluate_request_model
from service.api.v1 import npz_request_fields

pytestmark = pytest.mark.anyio
NPZ = {"content-type": "application/x-npz"}


def npz(request: dict | None = None, compressed: bool = False, **arrays) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    if request is not None:
        with zipfile.ZipFile(buffer, "a") as archive:
            archive.writestr("request.json", json.dumps(request))
    return buffer.getvalue()


@pytest.mark.parametrize("compressed", [False, True])
async def test_npz_equals_json(client, compressed):
    rng = np.random.default_rng(0)
    p, t, w = rng.normal(size=(20, 3)), rng.normal(size=(20, 3)), rng.uniform(size=20)
    request = {"losses": ["mse", {"name": "huber", "delta": 0.5}], "include": ["stats", "gradient"]}
    body = npz(request, compressed, predictions=p.astype(np.float32), targets=t, weights=w)
    from_npz = await client.post("/v1/evaluate", content=body, headers=NPZ)
    assert from_npz.status_code == 200, from_npz.text
    from_json = await client.post(
        "/v1/evaluate",
        json=dict(
            request,
            predictions=p.astype(np.float32).astype(float).tolist(),
            targets=t.tolist(),
            weights=w.tolist(),
        ),
    )
    assert from_npz.json() == from_json.json()


def test_stored_members_are_decoded_without_a_copy():
    p = np.arange(12.0).reshape(4, 3)
    body = bytearray(npz({"losses": ["mse"]}, predictions=p, targets=p))
    payload = decode_npz(body, 100, 10_000, npz_request_fields(evaluate_request_model()))
    assert np.shares_memory(payload["predictions"], np.frombuffer(body, dtype=np.uint8))
    np.testing.assert_array_equal(payload["predictions"], p)
    assert payload["losses"] == ["mse"]


@pytest.mark.parametrize(
    ("body", "status", "location"),
    [
        (b"PK\x03\x04 not really a zip", 400, "body"),
        (npz({"losses": ["mse"]}, predictions=np.zeros(3), targets=np.zeros(3))[:-30], 400, "body"),
        (
            npz({"losses": ["mse"]}, predictions=np.zeros(3, dtype=np.complex128), targets=np.zeros(3)),
            422,
            "body.predictions",
        ),
        (
            npz({"losses": ["mse"]}, predictions=np.zeros(3), targets=np.zeros(3), extra=np.zeros(3)),
            422,
            "body.extra.npy",
        ),
        (
            npz({"losses": ["mse"], "targets": [1, 2]}, predictions=np.zeros(2)),
            422,
            "body.request.json.targets",
        ),
        (npz(None, predictions=np.zeros(3), targets=np.zeros(3)), 422, "body.losses"),
        (npz({"losses": ["msee"]}, predictions=np.zeros(3), targets=np.zeros(3)), 422, "body.losses[0]"),
        (
            npz({"losses": ["mse"]}, predictions=np.array([1.0, np.nan]), targets=np.zeros(2)),
            422,
            "body.predictions[1]",
        ),
    ],
    ids=["not-zip", "truncated", "dtype", "member", "array-in-json", "no-request", "unknown-loss", "nan"],
)
async def test_npz_problems(client, body, status, location):
    response = await client.post("/v1/evaluate", content=body, headers=NPZ)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert location in [e["location"] for e in response.json()["errors"]]


async def test_npz_element_limit_from_the_header(make_client):
    body = npz({"losses": ["mse"]}, predictions=np.zeros(50), targets=np.zeros(50))
    async with make_client(max_elements=10) as client:
        response = await client.post("/v1/evaluate", content=body, headers=NPZ)
    assert response.status_code == 413
    assert response.json()["errors"][0]["location"] == "body.predictions"


def test_compressed_bomb_is_never_inflated_past_the_limit():
    body = npz({"losses": ["mse"]}, compressed=True, predictions=np.zeros(1_000_000), targets=np.zeros(1))
    assert len(body) < 20_000  # a million zeros deflate to almost nothing
    with pytest.raises(Problem) as info:
        decode_npz(body, 1000, 10_000, npz_request_fields(evaluate_request_model()))
    assert info.value.status == 413
