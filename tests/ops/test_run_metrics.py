"""Run metrics in /metrics and the Grafana dashboard that reads them, against real servers.

The run metrics are computed from the store at scrape time, so two workers answer the same; the
dashboard's queries name only metrics that a scrape of a real server holds.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..databases import database
from .server import Server, running_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "loss-service.json"
RUN_METRICS = re.compile(r"^loss_service_(run|history)_")


def seed(server: Server) -> None:
    """A training run (train and validation over 20 epochs; validation is best at epoch 5, then
    rises) and a production run with an alert rule."""
    base = server.base
    assert httpx.put(f"{base}/v1/runs/fit", json={"losses": ["mse"]}).status_code == 201
    signs = np.resize([1.0, -1.0], 16)
    for epoch in range(20):
        for split, scale in (
            ("train", 1 / (1 + epoch)),
            ("validation", 1 / (1 + min(epoch, 5)) + 0.01 * max(0, epoch - 5)),
        ):
            body = {
                "predictions": (signs * np.sqrt(scale)).tolist(),
                "targets": [0.0] * 16,
                "split": split,
                "step": epoch,
            }
            assert httpx.post(f"{base}/v1/runs/fit/batches", json=body).status_code == 201
    rule = {"name": "mse-high", "loss": "mse", "split": "production", "window": "10m", "max": 0.5}
    assert (
        httpx.put(f"{base}/v1/runs/prod", json={"losses": ["mse", "mae"], "alerts": [rule]}).status_code
        == 201
    )
    for minutes in (3, 2, 1):
        body = {
            "predictions": [1.0] * 10,
            "targets": [0.0] * 10,
            "split": "production",
            "time": (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(),
        }
        assert httpx.post(f"{base}/v1/runs/prod/batches", json=body).status_code == 201


def run_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if RUN_METRICS.match(sample.name):
                samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_run_metrics_come_from_the_store_and_agree_across_workers(backend, tmp_path):
    with database(backend, tmp_path) as url, running_server(workers="2", database_url=url) as server:
        seed(server)
        scrapes = [run_samples(httpx.get(f"{server.base}/metrics", timeout=30).text) for _ in range(6)]
    first = scrapes[0]
    # Every worker answers the same series; a value may differ in its last bits when compaction ran
    # between two scrapes (the same sums, added in another order).
    for scrape in scrapes[1:]:
        assert scrape.keys() == first.keys()
        assert all(scrape[key] == pytest.approx(first[key], rel=1e-12) for key in first)
    assert first["loss_service_history_up", ()] == 1.0
    assert first["loss_service_history_runs_exported", ()] == 2.0
    status = {labels: value for (name, labels), value in first.items() if name == "loss_service_run_status"}
    assert status[("loss", "mean_squared_error"), ("run", "fit"), ("status", "overfitting")] == 1.0
    assert sum(v for (_, (_, run), _), v in status.items() if run == "fit") == 1.0
    assert first["loss_service_run_best_step", (("loss", "mean_squared_error"), ("run", "fit"))] == 5.0
    assert first["loss_service_run_stop_step", (("loss", "mean_squared_error"), ("run", "fit"))] == 15.0
    validation = (("loss", "mean_squared_error"), ("run", "fit"), ("split", "validation"))
    assert first["loss_service_run_step_value", validation] == pytest.approx(1 / 6 + 0.14)
    production = (("loss", "mean_squared_error"), ("run", "prod"), ("split", "production"))
    assert first["loss_service_run_window_value", production] == pytest.approx(1.0)
    assert first["loss_service_run_window_batches", production] == 3.0
    alert = (("loss", "mean_squared_error"), ("rule", "mse-high"), ("run", "prod"), ("split", "production"))
    assert first["loss_service_run_alert", alert] == 1.0
    assert first["loss_service_run_alert_value", alert] == pytest.approx(1.0)


def test_cardinality_is_bounded_and_the_oldest_runs_are_dropped(tmp_path):
    with running_server(database_url=f"sqlite:///{tmp_path / 'h.db'}", metrics_max_runs="2") as server:
        now = datetime.now(UTC)
        for i, name in enumerate(["oldest", "middle", "newest"]):
            httpx.put(f"{server.base}/v1/runs/{name}", json={"losses": ["mse"]})
            body = {
                "predictions": [1.0],
                "targets": [0.0],
                "time": (now - timedelta(minutes=3 - i)).isoformat(),
            }
            assert httpx.post(f"{server.base}/v1/runs/{name}/batches", json=body).status_code == 201
        samples = run_samples(httpx.get(f"{server.base}/metrics").text)
    runs = {
        dict(labels)["run"]
        for (name, labels) in samples
        if name == "loss_service_run_last_batch_timestamp_seconds"
    }
    assert runs == {"middle", "newest"}
    assert samples["loss_service_history_runs_dropped", ()] == 1.0


def dashboard_metrics() -> set[str]:
    document = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"]
        for panel in document["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    expressions += [document["templating"]["list"][0]["query"]["query"]]
    return {name for expression in expressions for name in re.findall(r"\bloss_service_[a-z_]+", expression)}


def test_the_grafana_dashboard_queries_metrics_that_exist(tmp_path):
    document = json.loads(DASHBOARD.read_text())
    sources = {
        json.dumps(panel["datasource"], sort_keys=True)
        for panel in document["panels"]
        if "datasource" in panel
    } | {
        json.dumps(t["datasource"], sort_keys=True) for p in document["panels"] for t in p.get("targets", [])
    }
    assert sources == {json.dumps({"type": "prometheus", "uid": "prometheus"}, sort_keys=True)}
    wanted = dashboard_metrics()
    assert len(wanted) >= 12
    with running_server(database_url=f"sqlite:///{tmp_path / 'h.db'}") as server:
        seed(server)
        httpx.post(f"{server.base}/v1/evaluate", json={"losses": ["mse"], "predictions": [1], "targets": [0]})
        httpx.get(f"{server.base}/v1/losses/nope")  # a 404, so that the error panel has a series
        scraped = {
            sample.name
            for family in text_string_to_metric_families(httpx.get(f"{server.base}/metrics").text)
            for sample in family.samples
        }
    missing = sorted(wanted - scraped)
    assert not missing, f"the dashboard queries metrics that a scrape does not hold: {missing}"
