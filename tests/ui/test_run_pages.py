"""The runs list and the run page in Chromium against a real server with seeded runs, on SQLite and
on PostgreSQL: the hooks, the points drawn against the API's series, the diagnostics (statuses, best
step and plateau stop, gap, alert rules) against the API's, zooming, the view over time, and both
pages following new batches without a reload."""

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


def curve(epoch: int, split: str) -> float:
    """An MSE per epoch: train keeps falling; validation bottoms out at epoch 18 and rises after it,
    so that with patience 10 the status is ``overfitting``, best at 18, stopped at 28 (from 30 epochs
    on; ``improving`` before 29)."""
    if split == "train":
        return 1.0 / (1 + epoch)
    return 1.0 / (1 + min(epoch, 18)) + 0.002 * max(0, epoch - 18)


BEST, STOP, OVERFIT_EPOCHS = 18, 28, 30
SIGNS = np.resize([1.0, -1.0], 8)


def post_epochs(base: str, name: str, epochs: range) -> None:
    """Train and validation batches whose MSE is exactly ``curve`` (errors of ±√curve)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        for epoch in epochs:
            for split in ("train", "validation"):
                predictions = SIGNS * np.sqrt(curve(epoch, split))
                body = {"predictions": predictions.tolist(), "targets": [0.0] * len(SIGNS)}
                response = http.post(f"/v1/runs/{name}/batches", json={**body, "split": split, "step": epoch})
                assert response.status_code == 201, response.text


def create_fit(base: str, name: str, tags: dict[str, str], alerts: list[dict[str, Any]] = []) -> None:  # noqa: B006
    body: dict[str, Any] = {"losses": ["mse", "mae"], "tags": tags, "alerts": alerts}
    response = httpx.put(f"{base}/v1/runs/{name}", json=body, timeout=30)
    assert response.status_code == 201, response.text


RULES = [
    {"name": "validation-high", "loss": "mse", "split": "validation", "window": "1d", "max": 0.06},
    {"name": "train-loose", "loss": "mae", "split": "train", "window": "1h", "max": 10},
    {"name": "production-quiet", "loss": "mse", "split": "production", "window": "5m", "max": 1},
]


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
        create("twins", [{"name": "huber", "delta": 0.5}, {"name": "huber", "delta": 2.0}], {})
        for step in range(12):
            post("twins", batch(rng, 1.0 / (1 + step), split="train", step=step))
            post("twins", batch(rng, 1.0 / (1 + step), split="validation", step=step))
    create_fit(base, "overfit", {"model": "b"}, RULES)
    post_epochs(base, "overfit", range(OVERFIT_EPOCHS))


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


# In the page: a row's latest values and statuses, as the hooks give them.
ROW_HOOKS = """row => ({
  values: [...row.querySelectorAll(".split-value")].map(v => ({
    loss: v.closest(".latest").dataset.loss, params: JSON.parse(v.closest(".latest").dataset.params),
    split: v.dataset.split, step: v.dataset.step ?? null, value: v.dataset.value ?? null,
    text: v.textContent,
  })),
  statuses: [...row.querySelectorAll("[data-testid=status]")].map(b => ({
    loss: b.dataset.loss, params: JSON.parse(b.dataset.params), status: b.dataset.status, text: b.textContent,
  })),
})"""


def params_key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Parameters as a key where 2 and 2.0 (JSON from Python and from JavaScript) are the same."""
    return tuple(sorted(params.items()))


def check_row(page: Page, run: dict[str, Any]) -> None:
    """The row of ``run`` shows exactly the latest values and the statuses that GET /v1/runs gives,
    and a split without steps as such."""
    shown = page.eval_on_selector(f"[data-testid=run-row][data-run='{run['name']}']", ROW_HOOKS)
    with_steps = {(v["loss"], params_key(v["params"]), v["split"]): v for v in shown["values"] if v["step"]}
    assert with_steps.keys() == {(x["loss"], params_key(x["params"]), x["split"]) for x in run["latest"]}
    for entry in run["latest"]:
        value = with_steps[entry["loss"], params_key(entry["params"]), entry["split"]]
        assert (int(value["step"]), float(value["value"])) == (entry["step"], entry["value"])
    for value in shown["values"]:
        if not value["step"]:
            assert value["value"] is None and value["text"] == f"{value['split']} —"
    assert [(s["loss"], s["params"], s["status"]) for s in shown["statuses"]] == [
        (d["loss"], d["params"], d["status"]) for d in run["diagnostics"]
    ]
    texts = [d["status"].replace("_", " ") for d in run["diagnostics"]]
    assert [s["text"] for s in shown["statuses"]] == texts


def test_the_runs_list_shows_every_run_and_filters_by_tag(tab: Tab, server: Server):
    runs = get(server, "runs")["runs"]
    tab.open("#/runs")
    page = tab.page
    page.wait_for_selector("[data-testid=run-list]")
    page.wait_for_function(ROWS, arg=len(runs))
    rows = page.eval_on_selector_all("[data-testid=run-row]", "rows => rows.map(r => r.dataset.run)")
    assert rows == [run["name"] for run in runs]
    for run in runs:
        check_row(page, run)
    by_name = {run["name"]: run for run in runs}
    assert {d["status"] for d in by_name["overfit"]["diagnostics"]} == {"overfitting"}
    assert by_name["prod"]["latest"] == []  # production batches have no steps
    # The latest value of each (loss, split) is the last point of its by-step series.
    series = get(server, "runs/fit-a/series", by="step", max_points=10_000)["series"]
    latest = {(x["loss"], x["split"]): x["value"] for x in by_name["fit-a"]["latest"]}
    assert latest == {(line["loss"], line["split"]): line["points"][-1]["value"] for line in series}
    # One request for the page (asked again every few seconds), whatever the number of runs.
    assert {urlsplit(r.url).path for r in tab.api_requests()} == {"/v1/runs"}
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


def test_the_runs_list_follows_new_batches_and_keeps_its_filter_and_page(tab: Tab, server: Server):
    # Two runs with the tag, one per page: the second page shows the older one, which trains on.
    create_fit(server.base, "rising-list", {"watch": "list"})
    post_epochs(server.base, "rising-list", range(20))
    create_fit(server.base, "idle-list", {"watch": "list"})
    tab.open("#/runs?tag=watch:list&limit=1")
    page = tab.page
    page.wait_for_function(ROWS, arg=1)
    assert page.get_attribute("[data-testid=run-row]", "data-run") == "idle-list"
    page.get_by_test_id("older").click()
    page.wait_for_selector("[data-testid=run-row][data-run=rising-list] [data-testid=status]")
    older_page = page.url
    assert "cursor=" in older_page and "limit=1" in older_page and "tag=watch%3Alist" in older_page
    run = get(server, "runs/rising-list")
    assert [d["status"] for d in run["diagnostics"]] == ["improving", "improving"]
    check_row(page, run)
    page.evaluate("() => { window.sameDocument = true; }")
    post_epochs(server.base, "rising-list", range(20, OVERFIT_EPOCHS))
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=status]')].map(b => b.dataset.status).join()"
        " === 'overfitting,overfitting'",
        timeout=20_000,
    )
    assert page.evaluate("() => window.sameDocument") is True
    assert page.url == older_page
    assert page.eval_on_selector_all("[data-testid=run-row]", "rows => rows.map(r => r.dataset.run)") == [
        "rising-list"
    ]
    check_row(page, get(server, "runs/rising-list"))
    assert {urlsplit(r.url).path for r in tab.api_requests()} == {"/v1/runs"}
    tab.screenshot("runs-followed")


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


def drag(tab: Tab, start: float, end: float) -> tuple[int, int]:
    """Drags across the first chart from ``start`` to ``end`` (fractions of its width); returns the
    steps of the series request that follows."""
    area = tab.page.locator("[data-testid=chart] .u-over").first.bounding_box()
    assert area is not None
    y = area["y"] + area["height"] / 2
    tab.page.mouse.move(area["x"] + area["width"] * start, y)
    tab.page.mouse.down()
    tab.page.mouse.move(area["x"] + area["width"] * end, y, steps=8)
    with tab.page.expect_request(lambda request: "step_from=" in request.url) as asked:
        tab.page.mouse.up()
    query = parse_qs(urlsplit(asked.value.url).query)
    return int(query["step_from"][0]), int(query["step_to"][0])


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
    step_from, step_to = drag(tab, 0.3, 0.6)
    zoomed_url = last_series_request(tab)
    assert 0 < step_from < step_to < FIT_STEPS - 1
    assert parse_qs(urlsplit(zoomed_url).query)["max_points"] == [str(max_points)]
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


# In the page: the markers a chart drew (kind, split, step) and where, with the plot's width (CSS px).
MARKERS = """chart => ({
  markers: (chart.uplot?.markers ?? []).map(m => [m.kind, m.split, m.step]),
  lefts: (chart.uplot?.markers ?? []).map(m => m.left),
  width: chart.uplot ? chart.uplot.bbox.width / devicePixelRatio : 0,
})"""
SAME_MARKERS = """([selector, expected]) =>
  JSON.stringify((document.querySelector(selector)?.uplot?.markers ?? []).map(m => [m.kind, m.split, m.step]))
  === JSON.stringify(expected)"""
HAS_STATUS = """([selector, status]) => document.querySelector(selector)?.dataset.status === status"""


def expected_markers(split: dict[str, Any]) -> list[list[Any]]:
    """The markers of a chart by step: the split's best step and, when it stopped, its stop step."""
    markers = [["best", split["split"], split["best_step"]]]
    if split["stop_step"] is not None:
        markers.append(["stop", split["split"], split["stop_step"]])
    return markers


def check_diagnostics(tab: Tab, server: Server, run: str, loss: str) -> dict[str, Any]:
    """The loss's status hook, the markers of its chart and its gap chart come to show exactly the
    answer of GET /v1/runs/{run}/diagnostics (default parameters); returns that answer."""
    page = tab.page
    answer = get(server, f"runs/{run}/diagnostics", loss=loss)
    badge = f"[data-testid=status][data-loss={loss}]"
    page.wait_for_function(HAS_STATUS, arg=[badge, answer["status"]])
    assert page.inner_text(badge) == answer["status"].replace("_", " ")
    validation = next(split for split in answer["splits"] if split["split"] == "validation")
    chart = f"[data-testid=chart][data-loss={loss}]"
    page.wait_for_function(SAME_MARKERS, arg=[chart, expected_markers(validation)])
    drawn_markers = page.eval_on_selector(chart, MARKERS)
    assert all(0 <= left <= drawn_markers["width"] for left in drawn_markers["lefts"])
    gap = [answer["gap"]["steps"], answer["gap"]["values"]]
    assert wait_until_drawn(page, f"[data-testid=gap][data-loss={loss}]", gap)["data"] == gap
    return answer


# In the page: each alert rule's name, state hook and the state it shows.
ALERT_RULES = """() => [...document.querySelectorAll("[data-testid=alert-rule]")].map(
  r => [r.dataset.rule, r.dataset.state, r.querySelector(".alert-state").textContent])"""


def check_alerts(tab: Tab, answer: dict[str, Any]) -> None:
    """The alert rules table comes to show the rules with the states of a diagnostics answer."""
    expected = [[a["name"], a["state"], a["state"].replace("_", " ")] for a in answer["alerts"]]
    tab.page.wait_for_function(
        f"expected => JSON.stringify(({ALERT_RULES})()) === JSON.stringify(expected)", arg=expected
    )
    assert tab.page.evaluate(ALERT_RULES) == expected


def test_a_run_page_shows_the_diagnostics_of_each_loss_and_the_alert_rules(tab: Tab, server: Server):
    tab.open("#/runs/overfit")
    found = charts(tab.page, 2)
    assert [c["loss"] for c in found] == ["mean_squared_error", "mean_absolute_error"]
    for loss in ("mean_squared_error", "mean_absolute_error"):
        answer = check_diagnostics(tab, server, "overfit", loss)
        assert answer["status"] == "overfitting"
        validation = next(split for split in answer["splits"] if split["split"] == "validation")
        assert (validation["best_step"], validation["stop_step"]) == (BEST, STOP)
        assert answer["gap"]["steps"] == list(range(OVERFIT_EPOCHS))
    check_alerts(tab, answer)
    assert {a["name"]: a["state"] for a in answer["alerts"]} == {
        "validation-high": "alert",
        "train-loose": "ok",
        "production-quiet": "no_data",
    }
    assert tab.page.locator("[data-rule=validation-high] .alert-state.alert-alert").inner_text() == "alert"
    tab.screenshot("run-diagnostics")
    # Zoomed past the best step: only the stop is marked, and the gap shows the range asked for.
    step_from, step_to = drag(tab, 0.7, 0.99)
    assert step_from > BEST and step_to >= STOP
    chart = "[data-testid=chart][data-loss=mean_squared_error]"
    tab.page.wait_for_function(SAME_MARKERS, arg=[chart, [["stop", "validation", STOP]]])
    gap = answer["gap"]
    inside = [i for i, step in enumerate(gap["steps"]) if step_from <= step <= step_to]
    columns = [[gap["steps"][i] for i in inside], [gap["values"][i] for i in inside]]
    assert wait_until_drawn(tab.page, "[data-testid=gap][data-loss=mean_absolute_error]", columns)
    tab.screenshot("run-diagnostics-zoomed")


def test_a_run_with_one_loss_twice_shows_its_listed_statuses(tab: Tab, server: Server):
    run = get(server, "runs/twins")
    tab.open("#/runs/twins")
    found = charts(tab.page, 2)
    losses = [(d["loss"], d["params"]) for d in run["diagnostics"]]
    assert [(c["loss"], json.loads(c["params"])) for c in found] == losses
    for chart, listed in zip(found, run["diagnostics"], strict=True):
        selector = f"[data-testid=status][data-params='{chart['params']}']"
        tab.page.wait_for_function(HAS_STATUS, arg=[selector, listed["status"]])
        markers = [["best", "validation", listed["best_step"]]]
        if listed["stop_step"] is not None:
            markers.append(["stop", "validation", listed["stop_step"]])
        tab.page.wait_for_function(
            SAME_MARKERS, arg=[f"[data-testid=chart][data-params='{chart['params']}']", markers]
        )
    assert "diagnostics take a loss by name" in tab.page.inner_text("[data-testid=gap]")
    # The service cannot diagnose one of two huber losses by name: the page does not ask it to.
    assert not [r for r in tab.api_requests() if urlsplit(r.url).path.endswith("/diagnostics")]


def test_a_run_without_steps_shows_its_alert_rules(tab: Tab, server: Server):
    rule = {"name": "mae-1h", "loss": "mae", "split": "production", "window": "1h", "max": 0.5}
    body = {"losses": ["mae"], "alerts": [rule]}
    assert httpx.put(f"{server.base}/v1/runs/watched", json=body, timeout=10).status_code == 201
    for _ in range(3):  # now, so inside the rule's window; a mean absolute error of 1
        batch = {"predictions": [1.0] * 4, "targets": [0.0] * 4, "split": "production"}
        response = httpx.post(f"{server.base}/v1/runs/watched/batches", json=batch, timeout=10)
        assert response.status_code == 201
    tab.open("#/runs/watched")
    assert charts(tab.page, 1)[0]["points"] != ""
    answer = get(server, "runs/watched/diagnostics")
    assert [(a["state"], a["batches"]) for a in answer["alerts"]] == [("alert", 3)]
    check_alerts(tab, answer)
    listed = get(server, "runs/watched")["diagnostics"]
    badge = "[data-testid=status][data-loss=mean_absolute_error]"
    tab.page.wait_for_function(HAS_STATUS, arg=[badge, listed[0]["status"]])
    assert tab.page.get_attribute("[data-testid=gap]", "data-points") == "0"
    tab.screenshot("run-alerts")


def test_the_run_page_follows_new_batches_without_reloading(tab: Tab, server: Server):
    # Validation's mean MSE is 0.180 after 20 epochs and 0.142 after 30: the rule goes from alert to ok.
    rule = {"name": "validation-mean", "loss": "mse", "split": "validation", "window": "1d", "max": 0.16}
    create_fit(server.base, "rising-page", {"watch": "page"}, [rule])
    post_epochs(server.base, "rising-page", range(20))
    tab.open("#/runs/rising-page")
    assert [c["points"] for c in charts(tab.page, 2)] == ["20 20", "20 20"]
    for loss in ("mean_squared_error", "mean_absolute_error"):
        answer = check_diagnostics(tab, server, "rising-page", loss)
        assert answer["status"] == "improving"
    check_alerts(tab, answer)
    assert [a["state"] for a in answer["alerts"]] == ["alert"]
    tab.page.evaluate("() => { window.sameDocument = true; }")
    post_epochs(server.base, "rising-page", range(20, OVERFIT_EPOCHS))
    points = "() => [...document.querySelectorAll('[data-testid=chart]')].map(c => c.dataset.points).join()"
    tab.page.wait_for_function(f"() => ({points})() === '30 30,30 30'", timeout=20_000)
    for loss in ("mean_squared_error", "mean_absolute_error"):
        answer = check_diagnostics(tab, server, "rising-page", loss)
        assert answer["status"] == "overfitting"
    check_alerts(tab, answer)
    assert [a["state"] for a in answer["alerts"]] == ["ok"]
    assert tab.page.evaluate("() => window.sameDocument") is True
    answer = replay(last_series_request(tab))
    for chart in charts(tab.page, 2):
        check_drawn(tab, answer, chart)
    tab.screenshot("run-followed")


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
