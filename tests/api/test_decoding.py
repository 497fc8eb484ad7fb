"""Hostile and loose JSON: nesting, booleans, empty and many-dimensional arrays, huge numbers.

Every case is a 4xx problem naming the field (and position) to blame, found while parsing, never a
500; what the parser accepts at its limits still gets through.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile

import numpy as np
import pytest

from service.api.arrays import MAX_DIMENSIONS
from service.api.decoding import FIELD_DEPTH

from .test_errors import OK, assert_problem

pytestmark = pytest.mark.anyio
DEEP = 10_000
JSON = {"content-type": "application/json"}


def nested_list(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def body_with(field: str, raw: str, base: dict | None = None) -> bytes:
    """``base`` as JSON with ``field`` set to the raw JSON text ``raw``."""
    text = json.dumps({k: v for k, v in (base or OK).items() if k != field})
    return (text[:-1] + f', "{field}": {raw}' + "}").encode()


async def post_raw(client, path: str, content: bytes, headers: dict[str, str] = JSON):
    return await client.post(path, content=content, headers=headers)


async def json_operations(client) -> list[str]:
    """Every path of the served document whose operation takes a JSON body (concrete paths)."""
    document = (await client.get("/v1/openapi.json")).json()
    paths = []
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                paths.append(path.replace("{name}", "mse").replace("{run}", "a-run"))
    return paths


async def test_every_json_operation_refuses_deep_nesting_with_a_problem(client):
    paths = await json_operations(client)
    assert "/v1/evaluate" in paths and "/v1/losses/mse/curve" in paths
    for path in paths:
        for content in (
            nested_list(DEEP).encode(),  # the body itself
            ('{"unknown": ' + nested_object(DEEP) + "}").encode(),
            ('{"losses": ' + nested_list(DEEP) + "}").encode(),
        ):
            response = await post_raw(client, path, content)
            assert 400 <= response.status_code < 500, (path, response.text[:200])
            assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("field", "raw", "location", "kind"),
    [
        ("predictions", nested_list(DEEP), "body.predictions", "invalid-array"),
        ("targets", nested_list(DEEP, '{"a": 1}'), "body.targets", "invalid-array"),
        ("weights", nested_list(DEEP), "body.weights", "invalid-array"),
        ("unknown", nested_object(DEEP), "body.unknown", "validation-error"),
        ("unknown", nested_list(DEEP), "body.unknown", "validation-error"),
        ("losses", nested_list(DEEP), "body.losses", "validation-error"),
        ("losses", "[" + nested_object(DEEP) + "]", "body.losses", "validation-error"),
        ("include", nested_list(DEEP), "body.include", "validation-error"),
    ],
)
async def test_deep_nesting_in_evaluate_names_the_field(client, field, raw, location, kind):
    response = await post_raw(client, "/v1/evaluate", body_with(field, raw))
    assert_problem(response, 422, kind, location)


async def test_deep_nesting_in_a_curve(client):
    for field, raw, location in [
        ("params", nested_object(DEEP), "body.params"),
        ("params", nested_list(DEEP), "body.params"),
        ("target", nested_list(DEEP), "body.target"),
        ("extra", nested_list(DEEP), "body.extra"),
    ]:
        response = await post_raw(client, "/v1/losses/mse/curve", body_with(field, raw, {"num": 3}))
        assert_problem(response, 422, "validation-error", location)


async def test_the_nesting_limits_are_exact(client):
    # An array of MAX_DIMENSIONS levels is read (and then refused by the loss, which takes 1 or 2).
    one_row = dict(OK, targets=[0.0])
    at_limit = await post_raw(
        client, "/v1/evaluate", body_with("predictions", nested_list(MAX_DIMENSIONS), one_row)
    )
    body = assert_problem(at_limit, 422, "invalid-input", "body.predictions")
    assert f"got shape {(1,) * MAX_DIMENSIONS}" in body["detail"]
    beyond = await post_raw(client, "/v1/evaluate", body_with("predictions", nested_list(MAX_DIMENSIONS + 1)))
    body = assert_problem(beyond, 422, "invalid-array", "body.predictions")
    assert f"at most {MAX_DIMENSIONS} dimensions" in body["detail"]
    # Any other field: FIELD_DEPTH levels are read (and refused by validation), one more is not.
    at_limit = await post_raw(client, "/v1/evaluate", body_with("losses", nested_list(FIELD_DEPTH)))
    body = assert_problem(at_limit, 422, "validation-error", "body.losses[0]")
    assert "nested" not in body["detail"]
    beyond = await post_raw(client, "/v1/evaluate", body_with("losses", nested_list(FIELD_DEPTH + 1)))
    body = assert_problem(beyond, 422, "validation-error", "body.losses")
    assert f"nested more than {FIELD_DEPTH} levels" in body["detail"]


def tensor(shape: list[int], data: bytes | None = None) -> dict[str, object]:
    size = int(np.prod(shape)) if shape else 1
    raw = data if data is not None else np.zeros(max(size, 0)).tobytes()
    return {"dtype": "float64", "shape": shape, "data": base64.b64encode(raw).decode()}


@pytest.mark.parametrize(
    ("body", "location"),
    [
        (dict(OK, predictions=tensor([1] * 100, np.zeros(1).tobytes())), "body.predictions.shape"),
        (dict(OK, predictions=tensor([1] * (MAX_DIMENSIONS + 1))), "body.predictions.shape"),
        (dict(OK, weights=tensor([1] * 64 + [2])), "body.weights.shape"),
        (dict(OK, predictions=tensor([])), "body.predictions.shape"),
        (dict(OK, predictions=tensor([2, 0])), "body.predictions.shape"),
        (dict(OK, targets=tensor([0])), "body.targets.shape"),
        (dict(OK, predictions=[[]], targets=[[]]), "body.predictions"),
        (dict(OK, predictions=[[], []], targets=[1.0, 2.0]), "body.predictions"),
        (dict(OK, targets=[[]]), "body.targets"),
        (dict(OK, weights=[]), "body.weights"),
    ],
    ids=[
        "100-dims",
        "33-dims",
        "65-dims",
        "0-dims",
        "zero-size",
        "empty-tensor",
        "[[]]",
        "[[],[]]",
        "targets",
        "weights",
    ],
)
async def test_too_many_dimensions_and_zero_elements_are_422(client, body, location):
    assert_problem(await client.post("/v1/evaluate", json=body), 422, "invalid-array", location)


@pytest.mark.parametrize(
    ("body", "location"),
    [
        (dict(OK, predictions=[1.0, True]), "body.predictions[1]"),
        (dict(OK, predictions=[True, 2.0]), "body.predictions[0]"),
        (dict(OK, targets=[0.0, False]), "body.targets[1]"),
        (dict(OK, weights=[1.0, True]), "body.weights[1]"),
        (
            dict(OK, predictions=[[1.0, 2.0], [3.0, False]], targets=[[0, 0], [0, 0]]),
            "body.predictions[1][1]",
        ),
        (dict(OK, predictions=tensor([True])), "body.predictions.shape"),  # type: ignore[list-item]
    ],
)
async def test_booleans_in_arrays_are_not_numbers(client, body, location):
    response = await client.post("/v1/evaluate", json=body)
    detail = assert_problem(response, 422, "invalid-array", location)["detail"]
    if not location.endswith("shape"):
        assert "booleans are not numbers" in detail


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("/v1/evaluate", dict(OK, losses=[{"name": "huber", "delta": True}]), "body.losses[0].delta"),
        ("/v1/evaluate", dict(OK, losses=[{"name": "bce", "from_logits": 1}]), "body.losses[0].from_logits"),
        (
            "/v1/evaluate",
            dict(OK, losses=[{"name": "bce", "from_logits": "yes"}]),
            "body.losses[0].from_logits",
        ),
        (
            "/v1/evaluate",
            dict(OK, losses=[{"name": "cross_entropy", "class_weights": [1.0, True]}]),
            "body.losses[0].class_weights[1]",
        ),
        ("/v1/evaluate", dict(OK, top_k=True), "body.top_k"),
        ("/v1/evaluate", dict(OK, top_k=5.5), "body.top_k"),
        ("/v1/evaluate", dict(OK, reduction=1), "body.reduction"),
        ("/v1/losses/mse/curve", {"target": True}, "body.target"),
        ("/v1/losses/mse/curve", {"start": False}, "body.start"),
        ("/v1/losses/mse/curve", {"num": True}, "body.num"),
    ],
)
async def test_fields_take_their_json_type_only(client, path, body, location):
    assert_problem(await client.post(path, json=body), 422, "validation-error", location)


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"params": {"delta": True}}, "body.params.delta"),
        ({"params": [{"delta": 1.0}, {"delta": True}]}, "body.params[1].delta"),
        ({"params": {"beta": 1.0}}, "body.params.beta"),
    ],
)
async def test_curve_parameters_that_do_not_fit_the_loss(client, body, location):
    response = await client.post("/v1/losses/huber/curve", json=body)
    assert (
        assert_problem(response, 422, "invalid-parameters", location)["title"]
        == "Parameters do not fit huber"
    )


async def test_integral_numbers_are_integers_as_in_json_schema(client):
    response = await client.post(
        "/v1/evaluate", json=dict(OK, top_k=1.0, predictions=tensor([2.0], np.ones(2).tobytes()))
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["results"][0]["stats"]["top"]) == 1
    curve = await client.post("/v1/losses/mse/curve", json={"num": 3.0})
    assert curve.status_code == 200 and len(curve.json()["x"]) == 3


async def test_tuple_parameters_take_json_arrays(client):
    body = dict(
        OK, losses=[{"name": "bce", "pos_weight": [1.0, 2]}], predictions=[[0.5, 0.5]], targets=[[1, 0]]
    )
    response = await client.post("/v1/evaluate", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["params"]["pos_weight"] == [1.0, 2.0]


@pytest.mark.parametrize(
    ("field", "raw", "location", "kind"),
    [
        ("predictions", "[1, 1e400]", "body.predictions[1]", "invalid-array"),
        ("targets", "[1, -1" + "0" * 400 + "]", "body.targets[1]", "invalid-array"),
        ("top_k", "1e400", "body.top_k", "validation-error"),
    ],
)
async def test_numbers_beyond_float64_are_422(client, field, raw, location, kind):
    response = await post_raw(client, "/v1/evaluate", body_with(field, raw))
    assert "too large for float64" in assert_problem(response, 422, kind, location)["detail"]


def npy(shape: tuple[int, ...], data: bytes) -> bytes:
    """A .npy file claiming ``shape`` (any shape, unlike numpy.save) with ``data`` after its header."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


def npz(request: str, **members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(f"{name}.npy", content)
        archive.writestr("request.json", request)
    return buffer.getvalue()


ONE = npy((1,), np.zeros(1).tobytes())


@pytest.mark.parametrize(
    ("body", "status", "location"),
    [
        (
            npz('{"losses": ["mse"]}', predictions=npy((1,) * 100, np.zeros(1).tobytes()), targets=ONE),
            422,
            "body.predictions",
        ),
        (
            npz('{"losses": ["mse"]}', predictions=npy((), np.zeros(1).tobytes()), targets=ONE),
            422,
            "body.predictions",
        ),
        (npz('{"losses": ["mse"]}', predictions=npy((2, 0), b""), targets=ONE), 422, "body.predictions"),
        (npz('{"losses": ["mse"]}', predictions=npy((-1,), b""), targets=ONE), 422, "body.predictions"),
        (
            npz('{"losses": ["mse"], "x": ' + nested_list(DEEP) + "}", predictions=ONE, targets=ONE),
            422,
            "body.request.json.x",
        ),
        (
            npz('{"losses": ' + nested_list(DEEP) + "}", predictions=ONE, targets=ONE),
            422,
            "body.request.json.losses",
        ),
        (npz('{"losses": ["mse"], "top_k": true}', predictions=ONE, targets=ONE), 422, "body.top_k"),
        (npz(nested_list(DEEP), predictions=ONE, targets=ONE), 422, "body.request.json"),
        (
            npz(
                '{"losses": ["mse"]}',
                predictions=b"\x93NUMPY\x01\x00\x11\x27" + b"(" * 9999 + b"\n",
                targets=ONE,
            ),
            400,
            "body.predictions",
        ),
    ],
    ids=[
        "100-dims",
        "0-dims",
        "zero-size",
        "negative",
        "deep-unknown",
        "deep-losses",
        "boolean",
        "deep-body",
        "deep-header",
    ],
)
async def test_npz_bodies_get_the_same_limits(client, body, status, location):
    response = await client.post("/v1/evaluate", content=body, headers={"content-type": "application/x-npz"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert location in [e["location"] for e in response.json()["errors"]], response.text
