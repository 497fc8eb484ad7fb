"""POST /v1/evaluate through the real app: conventions of SPEC §3, both array forms, encodings."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_squared_error

pytestmark = pytest.mark.anyio

SPEC_EXAMPLE = {
    "losses": ["mse", {"name": "huber", "delta": 2.0}],
    "predictions": [[0.1, 0.9], [0.3, 0.7]],
    "targets": [[0.0, 1.0], [1.0, 0.0]],
    "weights": [1.0, 2.0],
    "reduction": "mean",
    "nan_policy": "raise",
    "include": ["stats", "per_sample", "gradient"],
    "top_k": 5,
    "array_encoding": "list",
}


def tensor(array, dtype="float64"):
    array = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode()}


def from_tensor(obj):
    return np.frombuffer(base64.b64decode(obj["data"]), dtype="<f8").reshape(obj["shape"])


async def evaluate(client, **body):
    response = await client.post("/v1/evaluate", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_spec_example(client):
    response = await client.post("/v1/evaluate", json=SPEC_EXAMPLE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["api_version"] == "v1" and body["n_samples"] == 2
    mse, huber = body["results"]
    # Row errors ±0.1 and ±0.7: per-sample 0.01 and 0.49; value (1·0.01 + 2·0.49) / 3.
    assert mse["loss"] == "mean_squared_error" and mse["params"] == {}
    assert mse["value"] == pytest.approx(0.33, rel=1e-15)
    assert mse["count"] == 2 and mse["weight_sum"] == 3.0
    assert (mse["omitted"], mse["ignored"], mse["clipped"]) == (0, 0, 0)
    np.testing.assert_allclose(mse["per_sample"], [0.01, 0.49], rtol=1e-14)
    # gradient = wᵢ·2eᵢⱼ/(D·Σw)
    np.testing.assert_allclose(mse["gradient"], [[0.2 / 6, -0.2 / 6], [-2.8 / 6, 2.8 / 6]], rtol=1e-14)
    stats = mse["stats"]
    assert stats["mean"] == pytest.approx(0.33)
    assert stats["std"] == pytest.approx(0.22627416997969518, rel=1e-12)
    assert (stats["min"], stats["max"]) == pytest.approx((0.01, 0.49))
    assert stats["sum"] == pytest.approx(0.99)
    assert stats["quantiles"] == pytest.approx({"0.5": 0.49, "0.9": 0.49, "0.95": 0.49, "0.99": 0.49})
    assert [row["index"] for row in stats["top"]] == [1, 0]
    assert huber["params"] == {"delta": 2.0}
    assert huber["value"] == pytest.approx(0.33 / 2)  # all errors within delta: e²/2
    # sklearn agrees on the weighted MSE.
    assert mse["value"] == pytest.approx(
        mean_squared_error(SPEC_EXAMPLE["targets"], SPEC_EXAMPLE["predictions"], sample_weight=[1, 2])
    )


async def test_tensor_inputs_equal_list_inputs_for_every_dtype(client):
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    listed = await evaluate(client, losses=["mse"], predictions=p.tolist(), targets=t.tolist())
    for dtype in ("float64", "float32", "float16"):
        got = await evaluate(client, losses=["mse"], predictions=tensor(p, dtype), targets=tensor(t, dtype))
        expected = np.mean((p.astype(dtype).astype(float) - t.astype(dtype).astype(float)) ** 2)
        assert got["results"][0]["value"] == pytest.approx(expected, rel=1e-15)
    assert listed["results"][0]["value"] == pytest.approx(np.mean((p - t) ** 2), rel=1e-15)
    labels = np.array([0, 2, 1])
    logits = rng.normal(size=(3, 3))
    for dtype in ("int64", "int32"):
        got = await evaluate(
            client,
            losses=[{"name": "cross_entropy", "input": "logits"}],
            predictions=logits.tolist(),
            targets=tensor(labels, dtype),
        )
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        assert got["results"][0]["value"] == pytest.approx(-logp[np.arange(3), labels].mean(), rel=1e-14)


async def test_base64_response_arrays(client):
    body = await evaluate(
        client,
        losses=["mae"],
        predictions=[[1.0, 2.0], [3.0, 5.0]],
        targets=[[0.0, 0.0], [0.0, 0.0]],
        include=["per_sample", "gradient"],
        array_encoding="base64",
    )
    result = body["results"][0]
    assert result["per_sample"]["dtype"] == "float64" and result["per_sample"]["shape"] == [2]
    np.testing.assert_array_equal(from_tensor(result["per_sample"]), [1.5, 4.0])
    np.testing.assert_array_equal(from_tensor(result["gradient"]), np.full((2, 2), 0.25))


async def test_include_controls_the_response(client):
    body = await evaluate(client, losses=["mse"], predictions=[1.0, 2.0], targets=[1.0, 0.0], include=[])
    assert set(body["results"][0]) == {
        "loss",
        "params",
        "reduction",
        "value",
        "count",
        "weight_sum",
        "omitted",
        "ignored",
        "clipped",
    }
    assert "inputs" not in body
    body = await evaluate(
        client,
        losses=["mse"],
        predictions=[[0.1, 0.9], [0.3, 0.7]],
        targets=[[0.0, 1.0], [1.0, 0.0]],
        include=["inputs", "breakdown"],
    )
    inputs = body["inputs"]
    assert inputs["predictions"]["mean"] == pytest.approx(0.5)
    assert inputs["predictions"]["std"] == pytest.approx(0.31622776601683794)
    assert inputs["targets"] == {"mean": 0.5, "std": 0.5, "min": 0.0, "max": 1.0, "count": 4, "non_finite": 0}
    groups = body["results"][0]["breakdown"]
    assert groups["by"] == "output"
    assert [g["value"] for g in groups["groups"]] == pytest.approx([0.25, 0.25])


async def test_reduction_none_has_null_value_and_per_sample(client):
    body = await evaluate(
        client,
        losses=["mse"],
        predictions=[1.0, 3.0],
        targets=[0.0, 0.0],
        reduction="none",
        include=["gradient"],
    )
    result = body["results"][0]
    assert result["value"] is None
    assert result["per_sample"] == [1.0, 9.0]
    assert result["gradient"] == [2.0, 6.0]  # gradient of Σ wᵢ lᵢ


async def test_nan_policies_with_json_null(client):
    p, t = [1.0, None, 3.0], [0.0, 0.0, 0.0]
    omit = (
        await evaluate(
            client,
            losses=["mse"],
            predictions=p,
            targets=t,
            nan_policy="omit",
            include=["stats", "per_sample", "gradient"],
        )
    )["results"][0]
    assert omit["value"] == 5.0 and omit["count"] == 2 and omit["omitted"] == 1
    assert omit["per_sample"] == [1.0, None, 9.0]
    assert omit["gradient"] == [1.0, 0.0, 3.0]
    prop = (
        await evaluate(
            client,
            losses=["mse"],
            predictions=p,
            targets=t,
            nan_policy="propagate",
            include=["stats", "per_sample", "gradient"],
        )
    )["results"][0]
    assert prop["value"] is None and prop["per_sample"] == [1.0, None, 9.0]
    assert prop["gradient"] == [None, None, None]
    assert prop["stats"]["mean"] is None
    assert prop["stats"]["top"][0] == {"index": 1, "loss": None}


async def test_log_loss_matches_sklearn_and_counts_clipping(client):
    p = [0.0, 1.0, 0.3, 0.8]
    y = [0, 1, 1, 0]
    body = await evaluate(client, losses=["log_loss"], predictions=p, targets=y)
    result = body["results"][0]
    assert result["loss"] == "binary_cross_entropy"
    assert result["value"] == pytest.approx(log_loss(y, p), rel=1e-12)  # sklearn clips at float64 eps
    assert result["clipped"] == 2


async def test_ignore_index_counts(client):
    body = await evaluate(
        client,
        losses=[{"name": "cross_entropy", "input": "logits", "ignore_index": 1}],
        predictions=[[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]],
        targets=[0, 1, 1],
        include=["per_sample"],
    )
    result = body["results"][0]
    assert result["ignored"] == 2 and result["count"] == 1
    assert result["per_sample"][1:] == [0.0, 0.0]
    assert result["value"] == pytest.approx(np.log1p(np.exp(-1.0)))


async def test_aliases_resolve_and_params_echo_defaults(client):
    body = await evaluate(
        client,
        losses=["bce", {"name": "categorical_cross_entropy", "input": "logits"}],
        predictions=[[0.2, 0.8]],
        targets=[[0.0, 1.0]],
    )
    bce, ce = body["results"]
    assert bce["loss"] == "binary_cross_entropy"
    assert bce["params"] == {
        "from_logits": False,
        "label_smoothing": 0.0,
        "pos_weight": None,
        "epsilon": float(np.finfo(float).eps),
    }
    assert ce["loss"] == "cross_entropy" and ce["params"]["input"] == "logits"


async def test_large_request_runs_off_the_event_loop(client):
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=200_000), rng.normal(size=200_000)
    body = await evaluate(client, losses=["mse", "mae"], predictions=tensor(p), targets=tensor(t))
    assert body["results"][0]["value"] == pytest.approx(np.mean((p - t) ** 2), rel=1e-12)


async def test_multiclass_hinge_takes_one_hot_targets(client):
    scores = [[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [1.0, 1.5, -0.5]]
    request = {"losses": ["multiclass_hinge"], "predictions": scores, "include": ["gradient", "breakdown"]}
    by_index = await client.post("/v1/evaluate", json=dict(request, targets=[0, 2, 0]))
    one_hot = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    by_one_hot = await client.post("/v1/evaluate", json=dict(request, targets=one_hot))
    assert by_index.status_code == by_one_hot.status_code == 200, by_one_hot.text
    assert by_one_hot.json() == by_index.json()
    soft = await client.post("/v1/evaluate", json=dict(request, targets=[*one_hot[:2], [0.5, 0.5, 0.0]]))
    assert soft.status_code == 422 and soft.json()["errors"][0]["location"] == "body.targets[2]"
