"""POST /v1/evaluate with rows of stacked parts (pairs, triplets, lists, frame sequences): every
array form, optional targets, nan_policy on 3-D predictions, and the problems a client can cause."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from .test_errors import assert_problem
from .test_evaluate import evaluate, from_tensor, tensor

pytestmark = pytest.mark.anyio
EVERYTHING = ["stats", "per_sample", "gradient", "breakdown"]


def ctc_inputs(n: int = 4, frames: int = 6, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = np.array([[1, 2, 2], [3, -1, -1], [-1, -1, -1], [2, 1, 3]], dtype=float)[:n]
    return rng.normal(size=(n, frames, classes)), labels


def npz_body(request: dict, **arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("request.json", json.dumps(request))
    return buffer.getvalue()


async def test_ctc_is_the_same_from_lists_tensors_and_npz(client):
    z, labels = ctc_inputs()
    fields = {"losses": ["ctc"], "include": ["per_sample", "gradient"]}
    listed = (await evaluate(client, **fields, predictions=z.tolist(), targets=labels.tolist()))["results"][0]
    assert np.asarray(listed["gradient"]).shape == z.shape
    tensors = (
        await evaluate(
            client,
            **fields,
            predictions=tensor(z, "float32"),
            targets=tensor(labels, "int32"),
            array_encoding="base64",
        )
    )["results"][0]
    assert from_tensor(tensors["gradient"]).shape == z.shape
    response = await client.post(
        "/v1/evaluate",
        content=npz_body(fields, predictions=z, targets=labels.astype(np.int64)),
        headers={"content-type": "application/x-npz"},
    )
    assert response.status_code == 200, response.text
    from_npz = response.json()["results"][0]
    assert from_npz["value"] == listed["value"]
    np.testing.assert_array_equal(from_npz["gradient"], listed["gradient"])
    # float32 predictions: the same computation on the rounded logits.
    assert tensors["value"] == pytest.approx(listed["value"], rel=1e-5)


async def test_triplet_margin_needs_no_targets(client):
    rng = np.random.default_rng(4)
    triplets = rng.normal(size=(5, 3, 4))
    omitted = await evaluate(
        client, losses=["triplet_margin"], predictions=triplets.tolist(), include=EVERYTHING
    )
    null = await evaluate(client, losses=["triplet_margin"], predictions=triplets.tolist(), targets=None)
    assert omitted["results"][0]["value"] == null["results"][0]["value"]
    assert np.asarray(omitted["results"][0]["gradient"]).shape == (5, 3, 4)
    assert "breakdown" not in omitted["results"][0]
    a, p, n = triplets[:, 0], triplets[:, 1], triplets[:, 2]
    expected = np.maximum(np.linalg.norm(a - p + 1e-6, axis=1) - np.linalg.norm(a - n + 1e-6, axis=1) + 1, 0)
    assert omitted["results"][0]["value"] == pytest.approx(expected.mean(), rel=1e-12)
    # Sent anyway (another loss of the request could need them): checked as any targets, not used.
    sent = await evaluate(client, losses=["triplet_margin"], predictions=triplets.tolist(), targets=[0] * 5)
    assert sent["results"][0]["value"] == omitted["results"][0]["value"]
    body = await evaluate(
        client, losses=["triplet_margin"], predictions=triplets.tolist(), include=["inputs"]
    )
    assert body["inputs"]["targets"] is None and body["inputs"]["predictions"]["count"] == 60


async def test_missing_targets_are_a_422_when_a_loss_takes_them(client):
    triplets = np.zeros((2, 3, 2)).tolist()
    for body in (
        {"losses": ["triplet_margin", "mse"], "predictions": triplets},
        {"losses": ["mse"], "predictions": [1.0, 2.0], "targets": None},
    ):
        problem = assert_problem(
            await client.post("/v1/evaluate", json=body), 422, "invalid-input", "body.targets"
        )
        assert "mean_squared_error take targets" in problem["detail"]


async def test_nan_policy_on_three_dimensional_predictions(client):
    z, labels = ctc_inputs()
    z[1, 4, 2] = np.nan
    listed = z.tolist()
    listed[1][4][2] = None
    raised = await client.post(
        "/v1/evaluate", json={"losses": ["ctc"], "predictions": listed, "targets": labels.tolist()}
    )
    assert_problem(raised, 422, "non-finite-input", "body.predictions[1][4][2]")

    async def ctc(predictions, targets, **fields):
        body = await evaluate(client, losses=["ctc"], predictions=predictions, targets=targets, **fields)
        return body["results"][0]

    omit = await ctc(listed, labels.tolist(), nan_policy="omit", include=EVERYTHING)
    keep = [0, 2, 3]
    dropped = await ctc(z[keep].tolist(), labels[keep].tolist(), include=EVERYTHING)
    assert omit["omitted"] == 1 and omit["count"] == 3 and omit["value"] == dropped["value"]
    assert omit["per_sample"][1] is None
    np.testing.assert_array_equal(np.asarray(omit["gradient"])[1], 0.0)
    np.testing.assert_array_equal(np.asarray(omit["gradient"])[keep], dropped["gradient"])
    propagate = await ctc(listed, labels.tolist(), nan_policy="propagate", include=EVERYTHING)
    assert propagate["value"] is None and propagate["stats"]["top"][0] == {"index": 1, "loss": None}


async def test_an_impossible_label_sequence_is_infinite_or_zero(client):
    z, labels = ctc_inputs(frames=2)  # rows 0 and 3 need 4 and 3 frames
    fields = {"losses": ["ctc"], "predictions": z.tolist(), "targets": labels.tolist(), "include": EVERYTHING}
    for policy in ("raise", "omit", "propagate"):
        result = (await evaluate(client, **fields, nan_policy=policy))["results"][0]
        assert result["value"] is None and result["count"] == 4  # +inf, written as null
        assert result["per_sample"][0] is None and result["per_sample"][3] is None
        assert np.isfinite(result["per_sample"][1]) and result["stats"]["max"] is None
        gradient = np.asarray(result["gradient"])
        np.testing.assert_array_equal(gradient[[0, 3]], 0.0)
        assert np.abs(gradient[1]).sum() > 0
    zero = (await evaluate(client, **dict(fields, losses=[{"name": "ctc", "zero_infinity": True}])))[
        "results"
    ][0]
    assert zero["per_sample"][0] == 0.0 and zero["per_sample"][3] == 0.0 and zero["count"] == 4
    assert zero["value"] == pytest.approx(sum(zero["per_sample"]) / 4, rel=1e-12)
    # A row of weight 0 counts nowhere, even with an infinite loss.
    weighted = (await evaluate(client, **fields, weights=[0, 1, 1, 0]))["results"][0]
    assert weighted["value"] == pytest.approx((weighted["per_sample"][1] + weighted["per_sample"][2]) / 2)


async def test_pairs_without_a_pair_are_ignored(client):
    body = await evaluate(
        client,
        losses=["pairwise_logistic", {"name": "ranking_softmax", "normalize": True}, "ranking_softmax"],
        predictions=[[1.0, 0.0, 2.0], [0.5, 0.1, 0.3], [3.0, 1.0, 2.0]],
        targets=[[2, 0, 1], [1, 1, 1], [0, 0, 0]],
        include=["per_sample", "stats"],
    )
    pairwise, listnet, softmax = body["results"]
    assert (pairwise["ignored"], pairwise["count"]) == (2, 1)
    assert pairwise["per_sample"][1:] == [0.0, 0.0]
    assert pairwise["value"] == pairwise["per_sample"][0] and pairwise["stats"]["max"] == pairwise["value"]
    assert (listnet["ignored"], listnet["count"]) == (1, 2)  # only the row of zero relevance
    assert (softmax["ignored"], softmax["count"]) == (0, 3) and softmax["per_sample"][2] == 0.0
    nobody = await evaluate(client, losses=["pairwise_hinge"], predictions=[[1.0, 2.0]], targets=[[1, 1]])
    result = nobody["results"][0]
    assert result["value"] is None and result["count"] == 0 and result["ignored"] == 1


@pytest.mark.parametrize(
    ("loss", "predictions", "targets", "location", "message"),
    [
        ("margin_ranking", [[1.0, 2.0, 3.0]], [1], "body.predictions", "must have shape (N, 2)"),
        ("margin_ranking", [[1.0, 2.0]], [0], "body.targets[0]", "is not one of {-1, 1}"),
        ("margin_ranking", [[1.0, 2.0]], [[1, 1]], "body.targets", "must have shape (N,)"),
        ("pairwise_logistic", [[1.0, 2.0]], [[1.0, -1.0]], "body.targets[0][1]", "relevance"),
        ("ranking_softmax", [[1.0, 2.0]], [[1.0, 2.0, 3.0]], "body.targets", "same shape"),
        ("contrastive", [-0.5], [1], "body.predictions[0]", "distances are >= 0"),
        ("contrastive", [0.5], [-1], "body.targets[0]", "is not one of {0, 1}"),
        ("cosine_embedding", [[1.0, 2.0]], [1], "body.predictions", "must have shape (N, 2, D)"),
        ("triplet_margin", [[[1.0], [2.0]]], None, "body.predictions", "must have shape (N, 3, D)"),
        ("gaussian_nll", [[0.0, -1.0]], [0.0], "body.predictions[0][1]", "negative variance"),
        ("gaussian_nll", [0.0, 1.0], [0.0, 1.0], "body.predictions", "must have shape (N, 2)"),
        ("ctc", [[[0.0, 1.0]]], [[0]], "body.targets[0][0]", "is the blank"),
        ("ctc", [[[0.0, 1.0]]], [[2]], "body.targets[0][0]", "is not a label: predictions have 2 classes"),
        ("ctc", [[[0.0, 1.0]]], [[1.5]], "body.targets[0][0]", "is not a label index"),
        ("ctc", [[[0.0, 1.0, 2.0]]], [[-1, 1]], "body.targets[0][1]", "follows padding"),
        ("ctc", [[0.0, 1.0]], [[1]], "body.predictions", "must have shape (N, T, C)"),
    ],
)
async def test_shape_and_label_problems_name_the_field(client, loss, predictions, targets, location, message):
    body = {"losses": [loss], "predictions": predictions, "targets": targets}
    problem = assert_problem(await client.post("/v1/evaluate", json=body), 422, "invalid-input", location)
    assert message in problem["detail"]


async def test_embeddings_of_no_dimension_are_refused_as_arrays(client):
    body = {"losses": ["triplet_margin"], "predictions": [[[], [], []]]}
    problem = assert_problem(
        await client.post("/v1/evaluate", json=body), 422, "invalid-array", "body.predictions"
    )
    assert "at least one element" in problem["detail"]


async def test_parameter_problems_name_the_parameter(client):
    z, labels = ctc_inputs()
    body = {"losses": [{"name": "ctc", "blank": 4}], "predictions": z.tolist(), "targets": labels.tolist()}
    problem = assert_problem(
        await client.post("/v1/evaluate", json=body), 422, "invalid-input", "body.losses[0].blank"
    )
    assert "4 classes" in problem["detail"]
    for spec, field in (
        ({"name": "triplet_margin", "p": 0.5}, "p"),
        ({"name": "cosine_embedding", "margin": 1.5}, "margin"),
        ({"name": "gaussian_nll", "eps": 0}, "eps"),
    ):
        body = {"losses": [spec], "predictions": np.zeros((2, 3, 2)).tolist()}
        assert_problem(
            await client.post("/v1/evaluate", json=body), 422, "validation-error", f"body.losses[0].{field}"
        )


async def test_too_much_work_is_a_413(client):
    lattice = {
        "losses": ["ctc"],
        "predictions": {
            "dtype": "float16",
            "shape": [1, 2**15, 2],
            "data": tensor(np.zeros((1, 2**15, 2)), "float16")["data"],
        },
        "targets": tensor(np.ones((1, 64)), "int32"),
    }
    problem = assert_problem(
        await client.post("/v1/evaluate", json=lattice), 413, "payload-too-large", "body.predictions"
    )
    assert "CTC lattice" in problem["detail"]
    pairs = {
        "losses": ["pairwise_logistic"],
        "predictions": tensor(np.zeros((1, 4096)), "float16"),
        "targets": tensor(np.zeros((1, 4096)), "float16"),
    }
    problem = assert_problem(
        await client.post("/v1/evaluate", json=pairs), 413, "payload-too-large", "body.predictions"
    )
    assert "4096x4096 pairs" in problem["detail"]


async def test_element_limit_counts_three_dimensional_lists(make_client):
    async with make_client(max_elements=100) as client:
        body = {"losses": ["triplet_margin"], "predictions": np.zeros((5, 3, 7)).tolist()}
        assert_problem(
            await client.post("/v1/evaluate", json=body), 413, "payload-too-large", "body.predictions"
        )


@pytest.mark.parametrize("loss", ["margin_ranking", "contrastive", "triplet_margin", "gaussian_nll", "ctc"])
async def test_no_curve(client, loss):
    response = await client.post(f"/v1/losses/{loss}/curve", json={})
    assert_problem(response, 422, "no-curve", "path.name")
