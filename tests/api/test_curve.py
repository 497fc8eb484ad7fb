"""POST /v1/losses/{name}/curve: values and gradients over a range, closed forms."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.anyio


async def test_huber_for_several_deltas(client):
    body = {"params": [{"delta": 0.5}, {"delta": 2.0}], "target": 1.0, "start": -2, "stop": 4, "num": 13}
    response = await client.post("/v1/losses/huber/curve", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    x = np.linspace(-2, 4, 13)
    np.testing.assert_allclose(result["x"], x)
    e = x - 1.0
    for curve, delta in zip(result["curves"], (0.5, 2.0), strict=True):
        assert curve["params"] == {"delta": delta}
        expected = np.where(np.abs(e) <= delta, 0.5 * e**2, delta * (np.abs(e) - 0.5 * delta))
        np.testing.assert_allclose(curve["value"], expected, rtol=1e-15)
        np.testing.assert_allclose(curve["gradient"], np.clip(e, -delta, delta), rtol=1e-15)


async def test_l1_and_l2(client):
    l1 = (await client.post("/v1/losses/mae/curve", json={"num": 5})).json()
    l2 = (await client.post("/v1/losses/l2/curve", json={"num": 5})).json()
    assert l1["loss"] == "mean_absolute_error" and l2["loss"] == "mean_squared_error"
    assert l1["curves"][0]["value"] == [3.0, 1.5, 0.0, 1.5, 3.0]
    assert l2["curves"][0]["gradient"] == [-6.0, -3.0, 0.0, 3.0, 6.0]


async def test_curve_errors(client):
    response = await client.post("/v1/losses/cross_entropy/curve", json={})
    assert response.status_code == 422 and response.json()["errors"][0]["location"] == "path.name"
    response = await client.post("/v1/losses/bce/curve", json={"start": -1, "stop": 1, "target": 1})
    assert response.status_code == 422  # probabilities outside [0, 1]
    response = await client.post("/v1/losses/bce/curve", json={"params": {"from_logits": True}, "target": 1})
    assert response.status_code == 200
    response = await client.post("/v1/losses/huber/curve", json={"params": [{"delta": 1}, {"delta": 0}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "body.params[1].delta"
    response = await client.post("/v1/losses/huber/curve", json={"num": 1})
    assert response.status_code == 422 and response.json()["errors"][0]["location"] == "body.num"
