"""Run metrics for Prometheus, computed from the store when ``/metrics`` is scraped.

Every worker answers a scrape from the same database, so the figures agree whichever worker is
asked (no per-process state). Only runs that received a batch recently are exported — those whose
last batch time lies within ``recent`` seconds — and at most ``max_runs`` of them, the most recently
updated first: the others are dropped (counted in ``loss_service_history_runs_dropped``), which
bounds the series' cardinality.

Per run (label ``run``), split (``split``) and loss (``loss``: its canonical name, with ``#i`` for
the i-th of several specs of the same loss):

- ``loss_service_run_window_value``: the value (reduction mean) over the last ``window`` seconds,
  and ``loss_service_run_window_batches``: how many batches that window holds;
- ``loss_service_run_step_value``: the value at the split's last step (training runs);
- ``loss_service_run_status{status=...}``: 1 for the loss's diagnostics status (default
  parameters: validation against train, patience 10), 0 for the others;
  ``loss_service_run_best_step`` and ``loss_service_run_stop_step`` where they exist;
- ``loss_service_run_alert{rule=...}``: 1 while an alert rule fires, 0 when it is ok (absent
  without data), and ``loss_service_run_alert_value`` the rule window's value;
- ``loss_service_run_last_batch_timestamp_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric

from ..store import StoreUnavailable
from .diagnostics import STATUSES
from .runs import Monitor, Run, now_us
from .windows import MICROSECONDS


@dataclass(frozen=True)
class Limits:
    window: int  # seconds
    recent: int  # seconds
    max_runs: int


@dataclass
class Snapshot:
    """What one scrape exports (see the module docstring)."""

    up: bool = True
    exported: int = 0
    dropped: int = 0
    window: dict[tuple[str, str, str], tuple[float, int]] = field(default_factory=dict)
    step: dict[tuple[str, str, str], float] = field(default_factory=dict)
    status: dict[tuple[str, str], str] = field(default_factory=dict)
    best_step: dict[tuple[str, str], int] = field(default_factory=dict)
    stop_step: dict[tuple[str, str], int] = field(default_factory=dict)
    alerts: dict[tuple[str, str, str, str], tuple[str, float | None]] = field(default_factory=dict)
    last_batch: dict[str, float] = field(default_factory=dict)


def loss_labels(run: Run) -> list[str]:
    names = [spec.definition.name for spec in run.specs]
    return [name if names.count(name) == 1 else f"{name}#{i}" for i, name in enumerate(names)]


async def snapshot(monitor: Monitor, limits: Limits) -> Snapshot:
    """The run metrics of this moment; ``up`` False (and nothing else) when the store is unreachable."""
    now = now_us()
    try:
        runs, total = await monitor.recent_runs(now - limits.recent * MICROSECONDS, limits.max_runs)
        out = Snapshot(exported=len(runs), dropped=total - len(runs))
        if not runs:
            return out
        window = await monitor.window_values(runs, now - limits.window * MICROSECONDS)
        overview = await monitor.overview(runs)
        rules = {run.id: await monitor.rule_states(run, now) for run in runs if run.record.alerts}
    except StoreUnavailable:
        return Snapshot(up=False)
    by_id = {run.id: run for run in runs}
    for (run_id, split, loss), figures in window.items():
        run = by_id[run_id]
        out.window[run.record.name, split, loss_labels(run)[loss]] = figures
    for run in runs:
        name, labels = run.record.name, loss_labels(run)
        if run.record.last_time is not None:
            out.last_batch[name] = run.record.last_time / MICROSECONDS
        for status in overview[run.id].statuses:
            out.status[name, labels[status.loss]] = status.status
            if status.best_step is not None:
                out.best_step[name, labels[status.loss]] = status.best_step
            if status.stop_step is not None:
                out.stop_step[name, labels[status.loss]] = status.stop_step
        for latest in overview[run.id].latest:
            out.step[name, latest.split, labels[latest.loss]] = latest.value
        for rule_state in rules.get(run.id, []):
            rule = rule_state.rule
            out.alerts[name, rule.name, rule.loss, rule.split] = (rule_state.state, rule_state.value)
    return out


def families(shot: Snapshot) -> Iterator[Metric]:
    """The Prometheus metric families of a snapshot."""
    up = GaugeMetricFamily("loss_service_history_up", "Whether the history database answered this scrape.")
    up.add_metric([], 1.0 if shot.up else 0.0)
    yield up
    exported = GaugeMetricFamily("loss_service_history_runs_exported", "Runs exported in this scrape.")
    exported.add_metric([], shot.exported)
    yield exported
    dropped = GaugeMetricFamily(
        "loss_service_history_runs_dropped",
        "Recent runs left out of this scrape (LOSS_SERVICE_METRICS_MAX_RUNS): the least recently updated.",
    )
    dropped.add_metric([], shot.dropped)
    yield dropped
    window = GaugeMetricFamily(
        "loss_service_run_window_value",
        "Value (reduction mean) over the last LOSS_SERVICE_METRICS_WINDOW_SECONDS, per run, split and loss.",
        labels=["run", "split", "loss"],
    )
    batches = GaugeMetricFamily(
        "loss_service_run_window_batches",
        "Batches in that window, per run, split and loss.",
        labels=["run", "split", "loss"],
    )
    for labels, (value, count) in sorted(shot.window.items()):
        window.add_metric(list(labels), value)
        batches.add_metric(list(labels), count)
    yield window
    yield batches
    step = GaugeMetricFamily(
        "loss_service_run_step_value",
        "Value at the split's last step, per run, split and loss.",
        labels=["run", "split", "loss"],
    )
    for labels, value in sorted(shot.step.items()):
        step.add_metric(list(labels), value)
    yield step
    status = GaugeMetricFamily(
        "loss_service_run_status",
        "1 for the loss's diagnostics status (validation against train, default parameters), else 0.",
        labels=["run", "loss", "status"],
    )
    for (run, loss), current in sorted(shot.status.items()):
        for name in STATUSES:
            status.add_metric([run, loss, name], 1.0 if name == current else 0.0)
    yield status
    for metric, values, help_text in (
        ("loss_service_run_best_step", shot.best_step, "Step of the best validation value (early stopping)."),
        ("loss_service_run_stop_step", shot.stop_step, "Step at which early stopping would have stopped."),
    ):
        family = GaugeMetricFamily(metric, help_text, labels=["run", "loss"])
        for run_loss, step_value in sorted(values.items()):
            family.add_metric(list(run_loss), step_value)
        yield family
    alert = GaugeMetricFamily(
        "loss_service_run_alert",
        "1 while an alert rule fires, 0 when ok.",
        labels=["run", "rule", "loss", "split"],
    )
    alert_value = GaugeMetricFamily(
        "loss_service_run_alert_value",
        "The value an alert rule judged.",
        labels=["run", "rule", "loss", "split"],
    )
    for rule_labels, (state, judged) in sorted(shot.alerts.items()):
        if state == "no_data":
            continue
        alert.add_metric(list(rule_labels), 1.0 if state == "alert" else 0.0)
        if judged is not None:
            alert_value.add_metric(list(rule_labels), judged)
    yield alert
    yield alert_value
    last = GaugeMetricFamily(
        "loss_service_run_last_batch_timestamp_seconds", "Time of the run's latest batch.", labels=["run"]
    )
    for run, seconds in sorted(shot.last_batch.items()):
        last.add_metric([run], seconds)
    yield last
