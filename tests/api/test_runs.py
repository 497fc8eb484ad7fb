"""The runs API (SPEC §7) through the ASGI app, on SQLite and on PostgreSQL.

Every window's figures are checked against ``POST /v1/evaluate`` on the concatenation of the
window's batches: value, count, weight_sum, mean, std, min, max and sum to 1e-9 relative, quantiles
within the sketch's relative accuracy α.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import create_engine, func, select

from service.app import create_app
from service.config import Settings
from service.losses.accumulate import RELATIVE_ACCURACY
from service.store import schema

pytestmark = pytest.mark.anyio
ALPHA = RELATIVE_ACCURACY
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LOSSES = ["mse", {"name": "huber", "delta": 0.5}]


@pytest.fixture
async def app_client(database_url: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(Settings(database_url=database_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield app, client
    await app.state.monitor.stop()


@pytest.fixture
def client(app_client: tuple[Any, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_client[1]


def batch(rng: np.random.Generator, n: int = 40, **fields: Any) -> dict[str, Any]:
    return {
        "predictions": rng.normal(size=n).tolist(),
        "targets": rng.normal(size=n).tolist(),
        "weights": rng.uniform(0.1, 2.0, n).tolist(),
        **fields,
    }


async def evaluate(
    client: httpx.AsyncClient, batches: list[dict[str, Any]], **options: Any
) -> list[dict[str, Any]]:
    """POST /v1/evaluate on the concatenation of batches."""
    body = {
        "losses": LOSSES,
        "predictions": [x for b in batches for x in b["predictions"]],
        "targets": [x for b in batches for x in b["targets"]],
        "weights": [x for b in batches for x in b["weights"]],
        **options,
    }
    response = await client.post("/v1/evaluate", json=body)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def assert_equals_evaluate(figures: dict[str, Any], expected: dict[str, Any]) -> None:
    assert figures["count"] == expected["count"]
    for key in ("value", "weight_sum"):
        assert figures[key] == pytest.approx(expected[key], rel=1e-9), key
    for key in ("mean", "std", "min", "max", "sum"):
        assert figures["stats"][key] == pytest.approx(expected["stats"][key], rel=1e-9), key
    for q, exact in expected["stats"]["quantiles"].items():
        assert abs(figures["stats"]["quantiles"][q] - exact) <= ALPHA * abs(exact) * (1 + 1e-9), q


async def create(client: httpx.AsyncClient, name: str = "exp-1", **fields: Any) -> httpx.Response:
    return await client.put(f"/v1/runs/{name}", json={"losses": LOSSES, **fields})


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


# ---- runs ------------------------------------------------------------------------------------


async def test_create_is_idempotent_and_losses_are_fixed(client):
    created = await create(client, description="first", tags={"team": "vision", "model": "resnet"})
    assert created.status_code == 201
    body = created.json()
    assert body["losses"] == [{"name": "mean_squared_error"}, {"name": "huber", "delta": 0.5}]
    assert body["tags"] == {"model": "resnet", "team": "vision"} and body["batches"] == 0
    assert body["quantile_relative_accuracy"] == ALPHA
    again = await client.put("/v1/runs/exp-1", json={"losses": ["l2", {"name": "huber", "delta": 0.5}]})
    assert again.status_code == 200 and again.json()["description"] == "first"  # aliases are the same loss
    other = await client.put("/v1/runs/exp-1", json={"losses": ["mae"]})
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["location"] == "body.losses"
    updated = await create(client, description="second", tags={"team": "nlp"})
    assert updated.status_code == 200
    assert (updated.json()["description"], updated.json()["tags"]) == ("second", {"team": "nlp"})


@pytest.mark.parametrize("name", ["-starts-with-dash", "has space", "x" * 129, "slash%2Fin"])
async def test_invalid_run_names_are_refused(client, name):
    response = await client.put(f"/v1/runs/{name}", json={"losses": ["mse"]})
    assert response.status_code in (404, 422)
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_run_bodies_are_422_naming_the_field(client):
    cases = [
        ({"losses": []}, "body.losses"),
        ({"losses": ["nope"]}, "body.losses[0]"),
        ({"losses": [{"name": "huber", "delta": -1}]}, "body.losses[0].delta"),
        ({"losses": ["mse"], "tags": {"bad key": "x"}}, "body.tags"),
        ({"losses": ["mse"], "color": "red"}, "body.color"),
    ]
    for body, location in cases:
        response = await client.put("/v1/runs/r", json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["location"].startswith(location), response.json()


async def test_list_filters_by_tags_and_pages_with_a_cursor(client):
    for i in range(7):
        await create(client, f"run-{i}", tags={"parity": "even" if i % 2 == 0 else "odd", "all": "yes"})
    page = (await client.get("/v1/runs", params={"limit": 3})).json()
    names = [r["name"] for r in page["runs"]]
    assert names == ["run-6", "run-5", "run-4"] and page["next_cursor"]
    seen = list(names)
    while page["next_cursor"]:
        page = (await client.get("/v1/runs", params={"limit": 3, "cursor": page["next_cursor"]})).json()
        seen += [r["name"] for r in page["runs"]]
    assert seen == [f"run-{i}" for i in range(6, -1, -1)]
    even = (await client.get("/v1/runs", params=[("tag", "parity:even"), ("tag", "all:yes")])).json()
    assert [r["name"] for r in even["runs"]] == ["run-6", "run-4", "run-2", "run-0"]
    assert (await client.get("/v1/runs", params={"tag": "parity:none"})).json()["runs"] == []
    bad = await client.get("/v1/runs", params={"tag": "no-colon"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["location"] == "query.tag[0]"
    assert (await client.get("/v1/runs", params={"cursor": "!!"})).status_code == 422


async def test_delete_removes_every_row_of_the_run(app_client, database_url):
    app, client = app_client
    rng = np.random.default_rng(0)
    await create(client, "doomed", tags={"a": "b"})
    await create(client, "kept")
    for i in range(70):  # past the compaction threshold, so aggregates exist too
        await client.post("/v1/runs/doomed/batches", json=batch(rng, 5, step=i, split="train"))
    await client.post("/v1/runs/kept/batches", json=batch(rng, 5))
    await app.state.monitor.compact_now("doomed")
    assert (await client.delete("/v1/runs/doomed")).status_code == 204
    assert (await client.get("/v1/runs/doomed")).status_code == 404
    assert (await client.delete("/v1/runs/doomed")).status_code == 404
    engine = create_engine(database_url)
    with engine.connect() as connection:
        for table in (schema.runs, schema.run_tags, schema.run_splits, schema.batches, schema.aggregates):
            rows = connection.execute(select(func.count()).select_from(table)).scalar_one()
            assert rows == (1 if table.name in ("runs", "batches", "run_splits") else 0), table.name
    engine.dispose()


# ---- batches ---------------------------------------------------------------------------------


async def test_a_batch_is_answered_as_evaluate_and_counted(client):
    await create(client)
    rng = np.random.default_rng(1)
    body = batch(rng, split="train", step=3, time=at(0), include=["stats", "per_sample"])
    response = await client.post("/v1/runs/exp-1/batches", json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["run"], answer["sequence"], answer["split"], answer["step"]) == ("exp-1", 1, "train", 3)
    assert answer["time"] == "2026-03-01T12:00:00Z" and answer["duplicate"] is False and answer["batch_id"]
    expected = await evaluate(client, [body], include=["stats", "per_sample"])
    assert answer["results"] == expected
    second = await client.post("/v1/runs/exp-1/batches", json=batch(rng, split="validation"))
    assert second.json()["sequence"] == 2 and second.json()["split"] == "validation"
    run = (await client.get("/v1/runs/exp-1")).json()
    assert run["batches"] == 2 and run["splits"] == ["train", "validation"] and run["last_step"] == 3
    assert run["first_time"] == "2026-03-01T12:00:00Z" and run["last_time"] > run["first_time"]


async def test_an_npz_batch_equals_the_json_batch(client):
    await create(client)
    rng = np.random.default_rng(2)
    body = batch(rng, 1000, split="train", step=0, batch_id="npz-1")
    buffer = io.BytesIO()
    arrays = {k: np.asarray(body[k]) for k in ("predictions", "targets", "weights")}
    np.savez(buffer, **arrays)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("request.json", json.dumps({"split": "train", "step": 0, "batch_id": "npz-1"}))
    response = await client.post(
        "/v1/runs/exp-1/batches", content=buffer.getvalue(), headers={"content-type": "application/x-npz"}
    )
    assert response.status_code == 201, response.text
    # The same numbers as JSON: the same batch, so a duplicate.
    again = await client.post("/v1/runs/exp-1/batches", json=body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["sequence"] == response.json()["sequence"]


async def test_retries_are_duplicates_and_other_content_is_a_conflict(client):
    await create(client)
    rng = np.random.default_rng(3)
    body = batch(rng, split="train", step=1, batch_id="b-1")
    first = await client.post("/v1/runs/exp-1/batches", json=body)
    assert first.status_code == 201
    retry = await client.post("/v1/runs/exp-1/batches", json={**body, "include": ["per_sample"], "top_k": 1})
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    values = [
        {k: r[k] for k in ("loss", "params", "value", "count", "weight_sum")} for r in first.json()["results"]
    ]
    assert [{k: r[k] for k in values[0]} for r in retry.json()["results"]] == values
    assert "per_sample" not in retry.json()["results"][0]  # the stored values only
    for change in (
        {"targets": [x + 1 for x in body["targets"]]},
        {"weights": None},
        {"split": "validation"},
        {"step": 2},
        {"nan_policy": "omit"},
    ):
        conflict = await client.post("/v1/runs/exp-1/batches", json={**body, **change})
        assert conflict.status_code == 409, change
        assert conflict.json()["errors"][0]["location"] == "body.batch_id"
    # A time the service defaulted is not compared; two given times are.
    timed = batch(rng, batch_id="b-2", time=at(5))
    assert (await client.post("/v1/runs/exp-1/batches", json=timed)).status_code == 201
    untimed = {k: v for k, v in timed.items() if k != "time"}
    assert (await client.post("/v1/runs/exp-1/batches", json=untimed)).status_code == 200
    assert (await client.post("/v1/runs/exp-1/batches", json={**timed, "time": at(6)})).status_code == 409
    assert (await client.get("/v1/runs/exp-1")).json()["batches"] == 2


async def test_racing_retries_are_recorded_once(client):
    await create(client)
    body = batch(np.random.default_rng(4), batch_id="race")
    responses = await asyncio.gather(*(client.post("/v1/runs/exp-1/batches", json=body) for _ in range(12)))
    assert sorted(r.status_code for r in responses) == [200] * 11 + [201]
    assert len({r.json()["sequence"] for r in responses}) == 1
    assert (await client.get("/v1/runs/exp-1")).json()["batches"] == 1


async def test_a_request_that_fails_records_nothing(client):
    await create(client)
    rng = np.random.default_rng(5)
    bad = [
        ({**batch(rng), "targets": [1.0, 2.0]}, 422),
        ({**batch(rng), "predictions": [math.inf] + [0.0] * 39}, 422),  # not JSON: see below
        ({**batch(rng), "weights": [-1.0] * 40}, 422),
        ({**batch(rng), "split": "bad split"}, 422),
        ({**batch(rng), "step": -1}, 422),
        ({**batch(rng), "time": "2026-03-01T12:00:00"}, 422),  # no offset
        ({**batch(rng), "losses": ["mse"]}, 422),  # the run's losses apply
        ({**batch(rng), "batch_id": "x" * 129}, 422),
    ]
    for body, status in bad:
        content = json.dumps(body, allow_nan=True).replace("Infinity", "1e400")
        response = await client.post(
            "/v1/runs/exp-1/batches", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code in (status, 400), (body.keys(), response.text)
        assert response.headers["content-type"] == "application/problem+json"
    missing = await client.post("/v1/runs/nope/batches", json=batch(rng))
    assert missing.status_code == 404 and missing.json()["errors"][0]["location"] == "path.run"
    assert (await client.get("/v1/runs/exp-1")).json()["batches"] == 0


# ---- summary and series -----------------------------------------------------------------------


async def seed(
    app: Any, client: httpx.AsyncClient, epochs: int = 6, per_epoch: int = 3
) -> list[dict[str, Any]]:
    """Train and validation batches over several epochs, a minute apart, some without a step."""
    await create(client)
    rng = np.random.default_rng(6)
    bodies = []
    for epoch in range(epochs):
        for k in range(per_epoch):
            for split in ("train", "validation"):
                body = batch(
                    rng, 30, split=split, step=epoch, time=at(60 * epoch + 7 * k + (split == "train"))
                )
                bodies.append(body)
        bodies.append(batch(rng, 10, split="train", time=at(60 * epoch + 30)))  # no step
    for body in bodies:
        response = await client.post("/v1/runs/exp-1/batches", json=body)
        assert response.status_code == 201, response.text
    return bodies


@pytest.mark.parametrize("compacted", [False, True], ids=["pending", "compacted"])
async def test_summary_equals_evaluate_on_the_window(app_client, compacted):
    app, client = app_client
    bodies = await seed(app, client)
    if compacted:
        await app.state.monitor.compact_now("exp-1")
    windows: list[tuple[dict[str, Any], Any]] = [
        ({}, lambda b: True),
        ({"split": "train"}, lambda b: b["split"] == "train"),
        ({"step_from": 2, "step_to": 4}, lambda b: b.get("step") is not None and 2 <= b["step"] <= 4),
        ({"from": at(61), "to": at(200)}, lambda b: at(61) <= b["time"] < at(200)),
        (
            {"from": at(0), "to": at(300), "step_from": 3, "split": "validation"},
            lambda b: (
                b["split"] == "validation"
                and b.get("step") is not None
                and b["step"] >= 3
                and b["time"] < at(300)
            ),
        ),
    ]
    for params, keep in windows:
        response = await client.get("/v1/runs/exp-1/summary", params=params)
        assert response.status_code == 200, response.text
        summaries = response.json()["summaries"]
        splits = sorted({b["split"] for b in bodies if keep(b)})
        assert [(s["split"], s["loss"]) for s in summaries] == [
            (split, loss) for split in splits for loss in ("mean_squared_error", "huber")
        ]
        for item in summaries:
            members = [b for b in bodies if keep(b) and b["split"] == item["split"]]
            expected = await evaluate(client, members)
            index = 0 if item["loss"] == "mean_squared_error" else 1
            assert item["batches"] == len(members)
            assert_equals_evaluate(item, expected[index])
            assert item["first_time"] == min(b["time"] for b in members).replace("+00:00", "Z")


async def test_summary_reductions_and_loss_filter(app_client):
    app, client = app_client
    bodies = await seed(app, client, epochs=2)
    for reduction in ("sum", "sum_over_batch_size"):
        response = await client.get(
            "/v1/runs/exp-1/summary", params={"loss": "l2", "split": "validation", "reduction": reduction}
        )
        (item,) = response.json()["summaries"]
        members = [b for b in bodies if b["split"] == "validation"]
        expected = await evaluate(client, members, reduction=reduction)
        assert item["value"] == pytest.approx(expected[0]["value"], rel=1e-9)
    unknown = await client.get("/v1/runs/exp-1/summary", params={"loss": "mae"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["location"] == "query.loss"
    assert (await client.get("/v1/runs/exp-1/summary", params={"reduction": "none"})).status_code == 422
    assert (
        await client.get("/v1/runs/exp-1/summary", params={"from": at(10), "to": at(5)})
    ).status_code == 422
    assert (await client.get("/v1/runs/nope/summary")).status_code == 404


@pytest.mark.parametrize("compacted", [False, True], ids=["pending", "compacted"])
async def test_series_by_step_merges_adjacent_steps(app_client, compacted):
    app, client = app_client
    bodies = await seed(app, client, epochs=9)
    if compacted:
        await app.state.monitor.compact_now("exp-1")
    full = (await client.get("/v1/runs/exp-1/series", params={"loss": "mse"})).json()
    assert full["merged"] == 1 and [line["split"] for line in full["series"]] == ["train", "validation"]
    assert [p["step"] for p in full["series"][0]["points"]] == list(range(9))
    merged = (await client.get("/v1/runs/exp-1/series", params={"loss": "mse", "max_points": 4})).json()
    assert merged["merged"] == 5  # the smallest of 1, 2, 5, … leaving at most 4 points
    for line in merged["series"]:
        assert [(p["step"], p["step_to"]) for p in line["points"]] == [(0, 4), (5, 8)]
        for point in line["points"]:
            members = [
                b
                for b in bodies
                if b["split"] == line["split"]
                and b.get("step") is not None
                and point["step"] <= b["step"] <= point["step_to"]
            ]
            assert point["batches"] == len(members)
            assert_equals_evaluate(point, (await evaluate(client, members))[0])


@pytest.mark.parametrize("compacted", [False, True], ids=["pending", "compacted"])
async def test_series_by_time_in_buckets_aligned_to_the_epoch(app_client, compacted):
    app, client = app_client
    bodies = await seed(app, client, epochs=6)
    if compacted:
        await app.state.monitor.compact_now("exp-1")
    params = {
        "by": "time",
        "interval": "2m",
        "split": "train",
        "loss": "huber",
        "from": at(30),
        "to": at(330),
    }
    answer = (await client.get("/v1/runs/exp-1/series", params=params)).json()
    assert answer["interval"] == 120
    (line,) = answer["series"]
    starts = [p["start"] for p in line["points"]]
    assert starts == ["2026-03-01T12:00:00Z", "2026-03-01T12:02:00Z", "2026-03-01T12:04:00Z"]
    for point in line["points"]:
        start = datetime.fromisoformat(point["start"])
        end = datetime.fromisoformat(point["end"])
        assert end - start == timedelta(minutes=2)
        members = [
            b
            for b in bodies
            if b["split"] == "train"
            and max(start, T0 + timedelta(seconds=30))
            <= datetime.fromisoformat(b["time"])
            < min(end, T0 + timedelta(seconds=330))
        ]
        assert point["batches"] == len(members)
        assert_equals_evaluate(point, (await evaluate(client, members))[1])
    merged = (await client.get("/v1/runs/exp-1/series", params={**params, "max_points": 1})).json()
    assert merged["merged"] == 5 and len(merged["series"][0]["points"]) == 1
    assert (
        await client.get("/v1/runs/exp-1/series", params={"by": "time", "interval": "0"})
    ).status_code == 422
    assert (await client.get("/v1/runs/exp-1/series", params={"max_points": 0})).status_code == 422
