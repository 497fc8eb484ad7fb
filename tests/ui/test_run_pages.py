"""The runs list and the run page in Chromium against a real server with seeded runs, on SQLite and
on PostgreSQL: the hooks, the points drawn against the API's series, zooming, the view over time,
and the page following new batches without a reload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page

from ..databases import BACKENDS, database
from ..ops.server import Server, running_server
from .browser import Tab, drawn, wait_until_drawn

pytestmark = pytest.mark.slow

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
FIT_STEPS = 160  # train at every step, validation every 10th
SPLIT_ORDER = {"train": 0, "validation": 1}
ROWS = "n => document.querySelectorAll('[data-testid=run-row]').length === n"
CHARTS_READY = """n => {
  const charts = [...document.querySelectorAll("[data-testid=chart]")];
  return charts.length === n && charts.every(chart => chart.dataset.points && chart.uplot);
}"""


def batch(rng: np.random.Generator, scale: float, **fields: Any) -> dict[str, Any]:
    targets = rng.normal(size=16)
    predictions = targets + rng.normal(scale=scale, size=16)
    return {"predictions": predictions.tolist(), "targets": targets.tolist(), **fields}


def seed(base: str) -> None:
    rng = np.random.default_rng(11)
    with httpx.Client(base_url=base, timeout=30) as http:

        def create(name: str, losses: list[Any], tags: dict[str, str]) -> None:
            assert http.put(f"/v1/runs/{name}", json={"losses": losses, "tags": tags}).status_code == 201

        def post(name: str, body: dict[str, Any]) -> None:
            response = http.post(f"/v1/runs/{name}/batches", json=body)
            assert response.status_code == 201, response.text

        create("fit-a", ["mse", {"name": "huber", "delta": 0.5}], {"model": "a", "team": "vision"})
        for step in range(FIT_STEPS):
            post("fit-a", batch(rng, 2 / (1 + step / 20), split="train", step=step))
            if step % 10 == 0:
                post("fit-a", batch(rng, 2.2 / (1 + step / 30), split="validation", step=step))
        create("prod", ["mae"], {"env": "prod"})
        for i in range(30):
            time = (T0 + timedelta(seconds=97 * i)).isoformat()
            post("prod", batch(rng, 1.0, split="production", time=time))
        create("live", ["mse"], {"model": "live"})
        for step in range(3):
            post("live", batch(rng, 1.0, split="train", step=step))


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("history")
    with database(request.param, directory) as url, running_server(database_url=url) as started:
        seed(started.base)
        yield started


def get(server: Server, path: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{server.base}/v1/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def point_x(point: dict[str, Any], by: str) -> float:
    if by == "step":
        return (point["step"] + point["step_to"]) / 2
    milliseconds = [
        round(datetime.fromisoformat(point[edge]).timestamp() * 1000) for edge in ("start", "end")
    ]
    return sum(milliseconds) / 2000


def expected_columns(answer: dict[str, Any], loss: str, params: dict[str, Any]) -> list[list[Any]]:
    """What a chart of ``loss`` must draw from a series answer: x, then value, p50, p90 per split."""
    lines = [line for line in answer["series"] if line["loss"] == loss and line["params"] == params]
    lines.sort(key=lambda line: (SPLIT_ORDER.get(line["split"], 2), line["split"]))
    by = answer["by"]
    xs = sorted({point_x(p, by) for line in lines for p in line["points"]})
    columns: list[list[Any]] = [xs]
    for line in lines:
        at = {point_x(p, by): p for p in line["points"]}
        columns.append([at[x]["value"] if x in at else None for x in xs])
        for q in ("0.5", "0.9"):
            columns.append([at[x]["stats"]["quantiles"][q] if x in at else None for x in xs])
    return columns


def last_series_request(tab: Tab) -> str:
    urls = [r.url for r in tab.api_requests() if urlsplit(r.url).path.endswith("/series")]
    assert urls, "the page asked for no series"
    return urls[-1]


def replay(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def charts(page: Page, count: int) -> list[dict[str, str]]:
    page.wait_for_function(CHARTS_READY, arg=count)
    found: list[dict[str, str]] = page.eval_on_selector_all(
        "[data-testid=chart]", "charts => charts.map(chart => ({...chart.dataset}))"
    )
    return found


def check_drawn(tab: Tab, answer: dict[str, Any], chart: dict[str, str]) -> None:
    """The chart (as ``charts`` found it) comes to draw exactly the answer's points for its loss,
    and its hooks name the splits and count their points."""
    loss, params = chart["loss"], json.loads(chart["params"])
    lines = [line for line in answer["series"] if line["loss"] == loss and line["params"] == params]
    lines.sort(key=lambda line: (SPLIT_ORDER.get(line["split"], 2), line["split"]))
    selector = f"[data-testid=chart][data-loss={loss}][data-params='{chart['params']}']"
    splits = " ".join(line["split"] for line in lines)
    points = " ".join(str(len(line["points"])) for line in lines)
    tab.page.wait_for_function(
        "([selector, splits, points]) => {"
        "  const chart = document.querySelector(selector);"
        "  return chart.dataset.split === splits && chart.dataset.points === points;"
        "}",
        arg=[selector, splits, points],
    )
    expected = expected_columns(answer, loss, params)
    assert wait_until_drawn(tab.page, selector, expected)["data"] == expected


def test_the_runs_list_shows_every_run_and_filters_by_tag(tab: Tab, server: Server):
    runs = get(server, "runs")["runs"]
    tab.open("#/runs")
    page = tab.page
    page.wait_for_selector("[data-testid=run-list]")
    page.wait_for_function(ROWS, arg=len(runs))
    rows = page.eval_on_selector_all("[data-testid=run-row]", "rows => rows.map(r => r.dataset.run)")
    assert rows == [run["name"] for run in runs]
    # The latest value of each (loss, split): the last point of its by-step series.
    series = get(server, "runs/fit-a/series", by="step", max_points=10_000)["series"]
    row = page.locator("[data-testid=run-row][data-run=fit-a]")
    row.locator(".split-value").first.wait_for()
    for line in series:
        loss = row.locator(f".latest[data-loss={line['loss']}] .split-value[data-split={line['split']}]")
        assert float(loss.get_attribute("data-value") or "nan") == line["points"][-1]["value"]
    prod_value = page.locator("[data-testid=run-row][data-run=prod] .split-value[data-split=production]")
    last_prod = get(server, "runs/prod/summary", **{"from": get(server, "runs/prod")["last_time"]})
    assert float(prod_value.get_attribute("data-value") or "nan") == last_prod["summaries"][0]["value"]
    tab.screenshot("runs")
    page.fill("[data-testid=tag-filter]", "model:a")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function(ROWS, arg=1)
    assert page.get_attribute("[data-testid=run-row]", "data-run") == "fit-a"
    page.get_by_role("link", name="clear").click()
    page.locator("[data-testid=run-row][data-run=prod] .chip").click()
    page.wait_for_function(ROWS, arg=1)
    assert page.get_attribute("[data-testid=run-row]", "data-run") == "prod"
    assert "tag=env%3Aprod" in page.url


def test_a_run_page_draws_each_loss_with_every_split(tab: Tab, server: Server):
    tab.open("#/runs/fit-a")
    found = charts(tab.page, 2)
    assert [(c["loss"], c["params"], c["split"]) for c in found] == [
        ("mean_squared_error", "{}", "train validation"),
        ("huber", '{"delta":0.5}', "train validation"),
    ]
    url = last_series_request(tab)
    assert parse_qs(urlsplit(url).query)["by"] == ["step"]
    answer = replay(url)
    assert answer["merged"] == 1
    for chart in found:
        assert chart["points"] == f"{FIT_STEPS} {FIT_STEPS // 10}"
        check_drawn(tab, answer, chart)
    tab.screenshot("run")
    tab.page.check("[data-testid=log-scale]")
    tab.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=chart]')].every(c => c.uplot.scales.y.distr === 3)"
    )
    for chart in found:  # losses here are all > 0, so the log scale leaves every point in place
        check_drawn(tab, answer, chart)
    tab.screenshot("run-log-scale")


def test_a_narrow_chart_asks_for_fewer_points_and_zooming_asks_again(tab: Tab, server: Server):
    tab.page.set_viewport_size({"width": 300, "height": 900})
    tab.open("#/runs/fit-a")
    found = charts(tab.page, 2)
    whole = last_series_request(tab)
    max_points = int(parse_qs(urlsplit(whole).query)["max_points"][0])
    assert 50 <= max_points < FIT_STEPS
    answer = replay(whole)
    assert answer["merged"] > 1
    assert f"each point merges {answer['merged']} steps" in tab.page.inner_text("[data-testid=merged]")
    check_drawn(tab, answer, found[0])
    # Drag across the middle of the first chart: every chart shows that range, asked for again.
    area = tab.page.locator("[data-testid=chart] .u-over").first.bounding_box()
    assert area is not None
    y = area["y"] + area["height"] / 2
    tab.page.mouse.move(area["x"] + area["width"] * 0.3, y)
    tab.page.mouse.down()
    tab.page.mouse.move(area["x"] + area["width"] * 0.6, y, steps=8)
    with tab.page.expect_request(lambda request: "step_from=" in request.url) as asked:
        tab.page.mouse.up()
    zoomed_url = asked.value.url
    query = parse_qs(urlsplit(zoomed_url).query)
    step_from, step_to = int(query["step_from"][0]), int(query["step_to"][0])
    assert 0 < step_from < step_to < FIT_STEPS - 1 and query["max_points"] == [str(max_points)]
    zoomed = replay(zoomed_url)
    for chart in charts(tab.page, 2):
        check_drawn(tab, zoomed, chart)
    xs = drawn(tab.page, "[data-testid=chart]")["data"][0]
    assert step_from <= min(xs) and max(xs) <= step_to
    tab.screenshot("zoomed")
    tab.page.get_by_test_id("reset-zoom").click()
    tab.page.wait_for_selector("text=drag across a chart to zoom")
    check_drawn(tab, replay(last_series_request(tab)), charts(tab.page, 2)[0])
    assert "step_from" not in last_series_request(tab)


def test_a_run_without_steps_is_drawn_over_time(tab: Tab, server: Server):
    tab.open("#/runs/prod")
    (chart,) = charts(tab.page, 1)
    assert tab.page.is_checked("[data-testid=by-time]") and tab.page.is_disabled("[data-testid=by-step]")
    query = parse_qs(urlsplit(last_series_request(tab)).query)
    # 30 batches 97 s apart span 2813 s: 30 s buckets keep it under 200 points.
    assert query["by"] == ["time"] and query["interval"] == ["30"]
    answer = replay(last_series_request(tab))
    assert chart["split"] == "production" and chart["points"] == "30"
    check_drawn(tab, answer, chart)
    tab.page.select_option("[data-testid=interval]", "300")
    tab.page.wait_for_function("() => document.querySelector('[data-testid=chart]').dataset.points !== '30'")
    assert parse_qs(urlsplit(last_series_request(tab)).query)["interval"] == ["300"]
    check_drawn(tab, replay(last_series_request(tab)), charts(tab.page, 1)[0])


def test_the_run_page_follows_new_batches_without_reloading(tab: Tab, server: Server):
    tab.open("#/runs/live")
    assert charts(tab.page, 1)[0]["points"] == "3"
    tab.page.evaluate("() => { window.sameDocument = true; }")
    rng = np.random.default_rng(5)
    for step in (3, 4):
        body = batch(rng, 1.0, split="train", step=step)
        assert httpx.post(f"{server.base}/v1/runs/live/batches", json=body, timeout=10).status_code == 201
    tab.page.wait_for_function(
        "() => document.querySelector('[data-testid=chart]').dataset.points === '5'", timeout=8_000
    )
    assert tab.page.evaluate("() => window.sameDocument") is True
    check_drawn(tab, replay(last_series_request(tab)), charts(tab.page, 1)[0])


def test_a_run_that_does_not_exist_says_so(tab: Tab, server: Server):
    tab.expected_errors = ("status of 404",)
    tab.open("#/runs/no-such-run")
    problem = get_problem(server, "runs/no-such-run")
    assert problem["detail"] in tab.page.wait_for_selector("[data-testid=problem]").inner_text()


def get_problem(server: Server, path: str) -> dict[str, Any]:
    response = httpx.get(f"{server.base}/v1/{path}", timeout=10)
    assert response.status_code == 404
    problem: dict[str, Any] = response.json()
    return problem
