"""Prometheus and Grafana of the compose stack: promtool accepts the configuration and the alerts pass
their unit tests; Grafana's provisioning parses, points at that Prometheus and at the dashboards
that exist, and every query names metrics the service exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import REGISTRY

import service.metrics  # noqa: F401  (registers the service's metrics)
from service.monitoring import exporter

from .manifests import COMPOSE, DEPLOY, SERVICE, compose_container, load_yaml, run, tool

PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
# The provisioned Prometheus, and Grafana's built-in source of annotations.
ALLOWED_SOURCES = ({"type": "prometheus", "uid": "prometheus"}, {"type": "grafana", "uid": "-- Grafana --"})
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "summary": ["_count", "_sum"]}


def promtool(*arguments: str, cwd: Path = PROMETHEUS) -> str:
    executable = tool("promtool", "Debian's prometheus, installed by .ci/run")
    result = run(executable, *arguments, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def exported_series() -> set[str]:
    """The names of the series the service exposes on /metrics: its registry's and the run metrics
    computed at each scrape."""
    names = set()
    for family in [*REGISTRY.collect(), *exporter.families(exporter.Snapshot())]:
        if family.name.startswith("loss_service_"):
            names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, [""]))
    return names


def metrics_in(expression: str) -> set[str]:
    return set(re.findall(r"\bloss_service_[a-z_]+", expression))


def test_prometheus_configuration_passes_promtool():
    output = promtool("check", "config", "prometheus.yml")
    assert "SUCCESS" in output and "1 rule files found" in output


def test_promtool_rejects_a_broken_configuration(tmp_path):
    """The check is not vacuous: a misspelt key fails it."""
    (tmp_path / "alerts.yml").write_text((PROMETHEUS / "alerts.yml").read_text())
    text = (PROMETHEUS / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(text.replace("dns_sd_configs:", "dns_sd_config:"))
    result = run(tool("promtool", "Debian's prometheus"), "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode != 0


def test_alerts_pass_their_unit_tests():
    assert "SUCCESS" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


def jobs() -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in load_yaml(PROMETHEUS / "prometheus.yml")["scrape_configs"]}


def test_every_replica_is_scraped_and_the_run_metrics_once():
    job = jobs()[SERVICE]
    (discovery,) = job["dns_sd_configs"]
    # Docker's DNS answers the service's name with every replica's address.
    assert discovery["names"] == [SERVICE] and discovery["type"] == "A"
    assert str(discovery["port"]) == compose_container().environment["LOSS_SERVICE_PORT"]
    assert job["metrics_path"] == "/metrics"
    # The run metrics, the same from every replica, come from one target: the proxy's metrics port.
    (drop,) = job["metric_relabel_configs"]
    runs = jobs()[f"{SERVICE}-runs"]
    (keep,) = runs["metric_relabel_configs"]
    assert drop["source_labels"] == keep["source_labels"] == ["__name__"]
    assert drop["regex"] == keep["regex"] == "loss_service_run_.*"
    assert (drop["action"], keep["action"]) == ("drop", "keep")
    (target,) = [t for group in runs["static_configs"] for t in group["targets"]]
    host, port = target.split(":")
    proxy = load_yaml(COMPOSE)["services"][host]
    assert port in proxy["expose"] and f"bind :{port}" in (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    run_metrics = {name for name in exported_series() if re.fullmatch(keep["regex"], name)}
    assert run_metrics and "loss_service_history_up" not in run_metrics


def test_alerts_use_metrics_the_service_exports():
    rules = load_yaml(PROMETHEUS / "alerts.yml")["groups"][0]["rules"]
    used = set().union(*(metrics_in(rule["expr"]) for rule in rules))
    assert used and used <= exported_series(), used - exported_series()
    for rule in rules:  # each rule names the job whose series it reads
        (job,) = set(re.findall(r'job="([^"]+)"', rule["expr"])) or {None}
        assert job in jobs(), rule["alert"]
        kept = jobs()[job].get("metric_relabel_configs", [{}])[0]
        for metric in metrics_in(rule["expr"]):
            matches = bool(re.fullmatch(kept.get("regex", "(?!)"), metric))
            assert matches == (kept.get("action") == "keep"), (rule["alert"], metric, job)


def test_grafana_data_source_is_the_stacks_prometheus():
    (source,) = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yaml")["datasources"]
    assert (source["type"], source["uid"], source["access"]) == ("prometheus", "prometheus", "proxy")
    url = urlsplit(source["url"])
    services = load_yaml(COMPOSE)["services"]
    assert url.hostname in services and services[url.hostname]["image"].startswith("prom/prometheus:")
    published = services[url.hostname]["ports"][0].rsplit(":", 1)[1]
    assert str(url.port) == published


def test_grafana_dashboard_provider_reads_the_dashboards_directory():
    (provider,) = load_yaml(GRAFANA / "provisioning" / "dashboards" / "loss-service.yaml")["providers"]
    assert provider["type"] == "file"
    mounts = dict(reversed(m.split(":")[:2]) for m in load_yaml(COMPOSE)["services"]["grafana"]["volumes"])
    assert (COMPOSE.parent / mounts[provider["options"]["path"]]).resolve() == DASHBOARDS.resolve()
    assert DASHBOARDS.is_dir()


def data_sources(node: Any) -> list[Any]:
    """Every "datasource" value in a dashboard (panels, targets, variables, annotations)."""
    if isinstance(node, dict):
        found = [node["datasource"]] if "datasource" in node else []
        return found + [s for value in node.values() for s in data_sources(value)]
    if isinstance(node, list):
        return [s for item in node for s in data_sources(item)]
    return []


def expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for item in node for e in expressions(item)]
    return []


def test_every_dashboard_parses_and_queries_the_provisioned_prometheus():
    """Each dashboard present is JSON that Grafana can load, refers to data sources only by the uid
    "prometheus" (or Grafana's built-in annotations), and queries metrics that exist."""
    assert (DASHBOARDS / "loss-service.json").is_file(), "the loss dashboard"
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        assert isinstance(dashboard.get("title"), str) and isinstance(dashboard.get("panels"), list), path
        for source in data_sources(dashboard):
            assert source in ALLOWED_SOURCES, (path.name, source)
        for expression in expressions(dashboard):
            assert metrics_in(expression) <= exported_series(), (path.name, expression)
