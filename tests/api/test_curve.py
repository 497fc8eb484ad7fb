"""POST /v1/losses/{name}/curve: values and gradients over a range, closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from service.losses import registry

from ..losses.inputs import param_sets

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


async def test_rmse_curve_is_the_absolute_error(client):
    response = await client.post(
        "/v1/losses/rmse/curve", json={"target": 0.5, "start": -1.5, "stop": 2.5, "num": 9}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    x = np.linspace(-1.5, 2.5, 9)
    np.testing.assert_allclose(result["curves"][0]["value"], np.abs(x - 0.5), rtol=1e-15)
    np.testing.assert_array_equal(result["curves"][0]["gradient"], np.sign(x - 0.5))  # 0 at the target


# A range and target inside each input space, so that every curve loss can be drawn.
RANGES = {
    "real": (-2.0, 2.0),
    "unit_interval": (0.05, 0.95),
    "positive": (0.2, 3.0),
    "nonnegative": (0.0, 3.0),
    "greater_than_minus_one": (-0.5, 3.0),
}
TARGETS = {
    "real": 0.5,
    "unit_interval": 1.0,
    "sign": -1.0,
    "positive": 1.5,
    "nonnegative": 2.0,
    "greater_than_minus_one": 0.5,
}
CURVES = [
    pytest.param(definition.name, params, id=f"{definition.name}-{i}")
    for definition in registry.definitions()
    if definition.scalar_prediction
    for i, params in enumerate(param_sets(definition))
    if i == 0 or params != {}
]


def test_every_curve_loss_is_checked_with_defaults_and_other_parameters():
    names = {p.values[0] for p in CURVES}
    assert names == {d.name for d in registry.definitions() if d.scalar_prediction}
    with_parameters = {
        d.name for d in registry.definitions() if d.scalar_prediction and d.params.model_fields
    }
    assert with_parameters == {name for name, params in (p.values for p in CURVES) if params}


@pytest.mark.parametrize(("name", "params"), CURVES)
async def test_each_curve_point_is_a_one_sample_evaluation(client, name, params):
    """Value and gradient at every point equal POST /v1/evaluate on that one sample (reduction mean)."""
    definition = registry.get(name)
    resolved = definition.params(**params)
    mode = next(  # the scalar mode the parameters select (brier also has a class-probability one)
        m
        for m in definition.modes
        if m.predictions in RANGES and all(getattr(resolved, k) == v for k, v in m.select.items())
    )
    start, stop = RANGES[mode.predictions]
    target = TARGETS[mode.targets[0]]
    body = {"params": params, "target": target, "start": start, "stop": stop, "num": 5}
    response = await client.post(f"/v1/losses/{name}/curve", json=body)
    assert response.status_code == 200, response.text
    (drawn,) = response.json()["curves"]
    assert drawn["params"] == resolved.model_dump(mode="json")
    for x, value, gradient in zip(
        np.linspace(start, stop, 5), drawn["value"], drawn["gradient"], strict=True
    ):
        spec = {"name": name, **params}
        point = {"losses": [spec], "predictions": [x], "targets": [target], "include": ["gradient"]}
        answer = await client.post("/v1/evaluate", json=point)
        assert answer.status_code == 200, answer.text
        (result,) = answer.json()["results"]
        assert value == pytest.approx(result["value"], rel=1e-12, abs=1e-300)
        assert gradient == pytest.approx(result["gradient"][0], rel=1e-12, abs=1e-300)
