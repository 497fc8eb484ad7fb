"""Diagnostics and alert rules on runs (SPEC §7), through the ASGI app, on SQLite and PostgreSQL.

The diagnostics core is checked field by field against Keras in ``tests/monitoring``; here, that
the endpoint feeds it the run's by-step series (the same values ``series`` answers, pending batches
included), passes every parameter, and that lists, alerts and errors behave.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from service.app import create_app
from service.config import Settings
from service.monitoring.diagnostics import DiagnosticsParams, diagnose, to_dict

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app_client(database_url: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(Settings(database_url=database_url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield app, client
    await app.state.monitor.stop()


def same(answer: Any, expected: Any) -> bool:
    """Equal JSON values, numbers to 1e-12 relative (two sums of the same numbers may round apart)."""
    if isinstance(expected, dict):
        return (
            isinstance(answer, dict)
            and answer.keys() == expected.keys()
            and all(same(answer[k], expected[k]) for k in expected)
        )
    if isinstance(expected, list):
        return isinstance(answer, list) and len(answer) == len(expected) and all(map(same, answer, expected))
    if isinstance(expected, float):
        return answer == pytest.approx(expected, rel=1e-12, abs=1e-300)
    return bool(answer == expected)


def curve(epoch: int, split: str) -> float:
    """Mean squared error scale per epoch: train keeps falling; validation bottoms out at epoch 18
    and creeps up after it (overfitting, not divergence)."""
    if split == "train":
        return 1.0 / (1 + epoch)
    return 1.0 / (1 + min(epoch, 18)) + 0.002 * max(0, epoch - 18)


async def train(client: httpx.AsyncClient, run: str, epochs: int = 30, steps: range | None = None) -> None:
    """Batches whose MSE is exactly ``curve`` (errors of ±√curve, so MAE is √curve)."""
    assert (await client.put(f"/v1/runs/{run}", json={"losses": ["mse", "mae"]})).status_code == 201
    signs = np.resize([1.0, -1.0], 64)
    for epoch in steps or range(epochs):
        for split in ("train", "validation"):
            predictions = signs * np.sqrt(curve(epoch, split))
            body = {"predictions": predictions.tolist(), "targets": [0.0] * 64, "split": split, "step": epoch}
            assert (await client.post(f"/v1/runs/{run}/batches", json=body)).status_code == 201


async def series_of(
    client: httpx.AsyncClient, run: str, loss: str
) -> dict[str, tuple[list[int], list[float]]]:
    answer = (await client.get(f"/v1/runs/{run}/series", params={"loss": loss, "max_points": 10_000})).json()
    return {
        line["split"]: ([p["step"] for p in line["points"]], [p["value"] for p in line["points"]])
        for line in answer["series"]
    }


@pytest.mark.parametrize("compact", [False, True], ids=["pending", "compacted"])
async def test_diagnostics_are_those_of_the_by_step_series(app_client, compact):
    app, client = app_client
    await train(client, "fit")
    if compact:
        await app.state.monitor.compact_now("fit")
    answer = await client.get("/v1/runs/fit/diagnostics", params={"loss": "mse"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = to_dict(diagnose(await series_of(client, "fit", "mse"), DiagnosticsParams()))
    assert same({k: body[k] for k in expected}, expected)
    assert (body["run"], body["loss"], body["status"]) == ("fit", "mean_squared_error", "overfitting")
    validation = next(s for s in body["splits"] if s["split"] == "validation")
    assert (validation["best_step"], validation["stop_step"]) == (18, 28)
    assert body["gap"]["steps"] == list(range(30)) and body["alerts"] == []


async def test_every_parameter_reaches_the_diagnostics(app_client):
    _, client = app_client
    await train(client, "fit", steps=range(0, 60, 2))  # non-contiguous steps
    params = {
        "loss": "l1",
        "split": "validation",
        "reference_split": "train",
        "patience": 3,
        "min_delta": 0.001,
        "baseline": "0.2",
        "start_from_step": 10,
        "divergence": 1.5,
    }
    body = (await client.get("/v1/runs/fit/diagnostics", params=params)).json()
    core = DiagnosticsParams(patience=3, min_delta=0.001, baseline=0.2, start_from_step=10, divergence=1.5)
    expected = to_dict(diagnose(await series_of(client, "fit", "mae"), core))
    assert same({k: body[k] for k in expected}, expected)
    empty_baseline = (await client.get("/v1/runs/fit/diagnostics", params={**params, "baseline": ""})).json()
    no_baseline = to_dict(
        diagnose(await series_of(client, "fit", "mae"), core.model_copy(update={"baseline": None}))
    )
    assert same(empty_baseline["splits"], no_baseline["splits"])


async def test_diagnostics_errors_name_the_parameter(app_client):
    _, client = app_client
    await train(client, "fit", epochs=3)
    cases = [
        ({}, "query.loss"),  # two losses: say which
        ({"loss": "huber"}, "query.loss"),
        ({"loss": "mse", "patience": -1}, "query.patience"),
        ({"loss": "mse", "divergence": 0.5}, "query.divergence"),
        ({"loss": "mse", "baseline": "nan"}, "query.baseline"),
        ({"loss": "mse", "split": "bad split"}, "query.split"),
    ]
    for params, location in cases:
        response = await client.get("/v1/runs/fit/diagnostics", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["location"] == location, response.json()
    assert (await client.get("/v1/runs/none/diagnostics", params={"loss": "mse"})).status_code == 404


async def test_runs_list_carries_each_losss_status_and_latest_values(app_client):
    app, client = app_client
    await train(client, "overfit")
    await train(client, "young", epochs=1)
    listed = {r["name"]: r for r in (await client.get("/v1/runs")).json()["runs"]}
    statuses = {d["loss"]: d for d in listed["overfit"]["diagnostics"]}
    assert statuses["mean_squared_error"]["status"] == "overfitting"
    assert (statuses["mean_squared_error"]["best_step"], statuses["mean_squared_error"]["stop_step"]) == (
        18,
        28,
    )
    assert [d["status"] for d in listed["young"]["diagnostics"]] == ["insufficient_data"] * 2
    latest = {(v["split"], v["loss"]): v for v in listed["overfit"]["latest"]}
    full = await series_of(client, "overfit", "mse")
    assert latest["validation", "mean_squared_error"]["step"] == 29
    assert latest["validation", "mean_squared_error"]["value"] == pytest.approx(
        full["validation"][1][-1], rel=1e-12
    )
    one = (await client.get("/v1/runs/overfit")).json()
    assert one["diagnostics"] == listed["overfit"]["diagnostics"]
    await app.state.monitor.compact_now("overfit")
    assert (await client.get("/v1/runs/overfit")).json()["diagnostics"] == one["diagnostics"]


async def test_alert_rules_judge_their_window_and_changing_them_keeps_the_history(app_client):
    _, client = app_client
    now = datetime.now(UTC)
    rules = [
        {"name": "mse-high", "loss": "mse", "split": "production", "window": "1h", "max": 0.5},
        {"name": "mae-loose", "loss": "l1", "split": "production", "window": 3600, "max": 10.0},
        {"name": "quiet", "loss": "mse", "split": "shadow", "window": "5m", "max": 1.0},
        {"name": "old-only", "loss": "mse", "split": "production", "window": "1m", "max": 1.0},
    ]
    created = await client.put("/v1/runs/prod", json={"losses": ["mse", "mae"], "alerts": rules})
    assert created.status_code == 201
    assert [r["window"] for r in created.json()["alerts"]] == [3600, 3600, 300, 60]
    batches = []
    for minutes_ago, error in ((200, 0.1), (30, 1.0), (10, 1.0)):  # the first falls outside the window
        body = {
            "predictions": [error] * 8,
            "targets": [0.0] * 8,
            "split": "production",
            "time": (now - timedelta(minutes=minutes_ago)).isoformat(),
        }
        batches.append(body)
        assert (await client.post("/v1/runs/prod/batches", json=body)).status_code == 201
    answer = (await client.get("/v1/runs/prod/diagnostics", params={"loss": "mse"})).json()
    states = {a["name"]: a for a in answer["alerts"]}
    assert states["mse-high"]["state"] == "alert" and states["mse-high"]["value"] == pytest.approx(1.0)
    assert states["mse-high"]["batches"] == 2
    assert states["mae-loose"]["state"] == "ok" and states["mae-loose"]["value"] == pytest.approx(1.0)
    assert states["quiet"]["state"] == "no_data" and states["quiet"]["value"] is None
    assert states["old-only"]["state"] == "no_data"
    before = (await client.get("/v1/runs/prod/summary")).json()
    relaxed = [{**rules[0], "max": 2.0}]
    updated = await client.put("/v1/runs/prod", json={"losses": ["mse", "mae"], "alerts": relaxed})
    assert updated.status_code == 200 and [r["max"] for r in updated.json()["alerts"]] == [2.0]
    assert updated.json()["batches"] == 3 and (await client.get("/v1/runs/prod/summary")).json() == before
    answer = (await client.get("/v1/runs/prod/diagnostics", params={"loss": "mse"})).json()
    assert [(a["name"], a["state"]) for a in answer["alerts"]] == [("mse-high", "ok")]
    # A PUT without alerts leaves the rules as they are.
    assert (await client.put("/v1/runs/prod", json={"losses": ["mse", "mae"]})).json()[
        "alerts"
    ] == updated.json()["alerts"]


async def test_bad_alert_rules_are_422_naming_the_rule(app_client):
    _, client = app_client
    base = {"name": "r", "loss": "mse", "split": "production", "window": "1h", "max": 0.3}
    cases = [
        ([{**base, "loss": "mae"}], "body.alerts[0].loss"),
        ([base, base], "body.alerts"),
        ([{**base, "window": "0"}], "body.alerts[0].window"),
        ([{**base, "window": "2y"}], "body.alerts[0].window"),
        ([{**base, "max": None}], "body.alerts[0].max"),
        ([{**base, "extra": 1}], "body.alerts[0].extra"),
    ]
    for alerts, location in cases:
        response = await client.put("/v1/runs/r", json={"losses": ["mse"], "alerts": alerts})
        assert response.status_code == 422, alerts
        assert response.json()["errors"][0]["location"] == location, response.json()
    assert (await client.get("/v1/runs/r")).status_code == 404  # nothing was created
