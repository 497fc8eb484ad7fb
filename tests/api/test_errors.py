"""Every error status of SPEC §4 as RFC 9457 problem+json, with the culprit located."""

from __future__ import annotations

import base64

import numpy as np
import pytest

pytestmark = pytest.mark.anyio

OK = {"losses": ["mse"], "predictions": [1.0, 2.0], "targets": [1.0, 0.0]}


def assert_problem(response, status, kind, location=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status
    assert body["type"] == f"urn:loss-service:problem:{kind}"
    assert body["title"] and body["detail"]
    if location is not None:
        assert location in [e["location"] for e in body["errors"]], body
    return body


async def test_400_invalid_json(client):
    response = await client.post(
        "/v1/evaluate", content=b'{"losses": [', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "invalid-json", "body")
    response = await client.post("/v1/evaluate", content=b"", headers={"content-type": "application/json"})
    assert_problem(response, 400, "invalid-json")


@pytest.mark.parametrize(
    "tensor",
    [
        {"dtype": "float64", "shape": [3], "data": base64.b64encode(np.zeros(2).tobytes()).decode()},
        {"dtype": "float32", "shape": [2], "data": base64.b64encode(np.zeros(2).tobytes()).decode()},
        {"dtype": "float64", "shape": [1], "data": "!!!!!!!!!!!!"},
    ],
    ids=["short", "dtype-size", "not-base64"],
)
async def test_400_base64_not_matching_dtype_and_shape(client, tensor):
    body = dict(OK, predictions=tensor, targets=[0.0] * tensor["shape"][0])
    assert_problem(
        await client.post("/v1/evaluate", json=body), 400, "malformed-array", "body.predictions.data"
    )


async def test_401_without_or_with_a_wrong_key(make_client):
    async with make_client(api_keys=["k1", "k2"]) as client:
        response = await client.post("/v1/evaluate", json=OK)
        assert_problem(response, 401, "unauthorized", "header.authorization")
        assert response.headers["www-authenticate"].startswith("Bearer")
        response = await client.post("/v1/evaluate", json=OK, headers={"Authorization": "Bearer nope"})
        assert_problem(response, 401, "unauthorized")
        response = await client.get("/v1/losses", headers={"Authorization": "Basic k1"})
        assert_problem(response, 401, "unauthorized")
        for key in ("k1", "k2"):
            response = await client.post("/v1/evaluate", json=OK, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200
        for open_path in ("/healthz", "/readyz", "/v1/openapi.json"):
            assert (await client.get(open_path)).status_code == 200


async def test_404_unknown_path_and_unknown_loss(client):
    assert_problem(await client.get("/v2/evaluate"), 404, "not-found")
    body = assert_problem(await client.get("/v1/losses/hubber"), 404, "unknown-loss", "path.name")
    assert "'huber'" in body["detail"]
    assert_problem(await client.post("/v1/losses/hubber/curve", json={}), 404, "unknown-loss", "path.name")


async def test_405_wrong_method(client):
    response = await client.get("/v1/evaluate")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "POST"


async def test_413_declared_body_too_large(make_client):
    async with make_client(max_body_bytes=2048) as client:
        big = dict(OK, predictions=[0.5] * 1000, targets=[0.5] * 1000)
        assert_problem(await client.post("/v1/evaluate", json=big), 413, "payload-too-large")


async def test_413_streamed_body_without_content_length(make_client):
    async def chunks():
        yield b'{"losses": ["mse"], "predictions": ['
        for _ in range(200):
            yield b"0.5, " * 20
        yield b'0.5], "targets": [0.5]}'

    async with make_client(max_body_bytes=4096) as client:
        response = await client.post(
            "/v1/evaluate", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(response, 413, "payload-too-large")


async def test_413_too_many_elements_before_decoding(make_client):
    async with make_client(max_elements=10) as client:
        body = dict(OK, predictions=[[0.0] * 4] * 3, targets=[[0.0] * 4] * 3)
        assert_problem(
            await client.post("/v1/evaluate", json=body), 413, "payload-too-large", "body.predictions"
        )
        # A tensor claiming a huge shape is refused before its data is even looked at.
        body = dict(OK, predictions={"dtype": "float64", "shape": [10**9], "data": ""})
        assert_problem(
            await client.post("/v1/evaluate", json=body), 413, "payload-too-large", "body.predictions"
        )


async def test_415_unsupported_content_type(client):
    response = await client.post("/v1/evaluate", content=b"a=1", headers={"content-type": "text/plain"})
    assert_problem(response, 415, "unsupported-media-type", "header.content-type")


@pytest.mark.parametrize(
    ("body", "location", "kind"),
    [
        (dict(OK, losses=["msee"]), "body.losses[0]", "validation-error"),
        (dict(OK, losses=[]), "body.losses", "validation-error"),
        (dict(OK, losses=["mse"] * 33), "body.losses", "validation-error"),
        (dict(OK, losses=[{"name": "huber", "delta": -1}]), "body.losses[0].delta", "validation-error"),
        (dict(OK, losses=["mse", {"name": "huber", "alpha": 1}]), "body.losses[1].alpha", "validation-error"),
        (dict(OK, reduction="median"), "body.reduction", "validation-error"),
        (dict(OK, extra=1), "body.extra", "validation-error"),
        (dict(OK, targets=[1.0, 2.0, 3.0]), "body.targets", "invalid-input"),
        (dict(OK, targets=[[1.0], [2.0]]), "body.targets", "invalid-input"),
        (dict(OK, weights=[1.0, -1.0]), "body.weights[1]", "invalid-input"),
        (dict(OK, weights=[0.0, 0.0]), "body.weights", "invalid-input"),
        (dict(OK, weights=[1.0]), "body.weights", "invalid-input"),
        (dict(OK, predictions=[1.0, None]), "body.predictions[1]", "non-finite-input"),
        (
            dict(OK, predictions=[[1.0, 2.0], [3.0, None]], targets=[[0, 0], [0, 0]]),
            "body.predictions[1][1]",
            "non-finite-input",
        ),
        (dict(OK, predictions=[1.0, "x"]), "body.predictions[1]", "invalid-array"),
        (dict(OK, predictions=[True, False]), "body.predictions[0]", "invalid-array"),
        (dict(OK, predictions=[[1.0], [1.0, 2.0]]), "body.predictions", "ragged-array"),
        (dict(OK, predictions="abc"), "body.predictions", "invalid-array"),
        (dict(OK, predictions=[]), "body.predictions", "invalid-array"),
        (dict(OK, losses=["bce"], predictions=[0.5, 1.5]), "body.predictions[1]", "invalid-input"),
        (
            dict(OK, losses=["bce"], predictions=[0.5, 0.5], targets=[0.0, 2.0]),
            "body.targets[1]",
            "invalid-input",
        ),
        (
            dict(OK, losses=["cross_entropy"], predictions=[[0.5, 0.5], [0.2, 0.7]], targets=[0, 1]),
            "body.predictions[1]",
            "invalid-input",
        ),
        (
            dict(OK, losses=["cross_entropy"], predictions=[[0.5, 0.5], [0.3, 0.7]], targets=[0, 2]),
            "body.targets[1]",
            "invalid-input",
        ),
        (
            dict(OK, losses=["cross_entropy"], predictions=[[0.5, 0.5], [0.3, 0.7]], targets=[0, 0.5]),
            "body.targets[1]",
            "invalid-input",
        ),
        (
            dict(
                OK,
                losses=[{"name": "cross_entropy", "class_weights": [1, 2, 3]}],
                predictions=[[0.5, 0.5], [0.3, 0.7]],
                targets=[0, 1],
            ),
            "body.losses[0].class_weights",
            "invalid-input",
        ),
        (dict(OK, losses=["rmse"], reduction="sum"), "body.reduction", "invalid-input"),
        (dict(OK, top_k=-1), "body.top_k", "validation-error"),
    ],
)
async def test_422_contract_violations(client, body, location, kind):
    assert_problem(await client.post("/v1/evaluate", json=body), 422, kind, location)


async def test_422_body_of_the_wrong_type(client):
    assert_problem(await client.post("/v1/evaluate", json=[1, 2]), 422, "validation-error", "body")


async def test_a_failed_request_leaves_the_service_healthy(client):
    for _ in range(3):
        await client.post("/v1/evaluate", content=b"{", headers={"content-type": "application/json"})
    assert (await client.post("/v1/evaluate", json=OK)).status_code == 200
