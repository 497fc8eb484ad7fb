"""Answers as Rich tables for a person (``--format table``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from datetime import datetime

    from ..client import CurveResult, Evaluation, LossInfo, LossResult
    from ..client.run_results import Diagnostics, LoggedBatch, Run, RunSummary, Series, WindowStats


def number(value: float | None) -> str:
    return "null" if value is None else f"{value:.6g}"


def params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items())


def catalogue(entries: Sequence[LossInfo]) -> Table:
    table = Table("name", "aliases", "family", "summary", "gradient", "curve", title="Losses")
    for entry in entries:
        table.add_row(
            entry.name,
            ", ".join(entry.aliases),
            entry.family,
            entry.summary,
            "yes" if entry.has_gradient else "no",
            "yes" if entry.curve else "no",
        )
    return table


def entry(info: LossInfo) -> Table:
    table = Table("field", "value", title=info.name, show_header=False)
    properties = info.parameters.get("properties", {})
    rows = [
        ("aliases", ", ".join(info.aliases)),
        ("family", info.family),
        ("summary", info.summary),
        ("formula", info.formula),
        ("parameters", "\n".join(f"{name} = {p.get('default')!r}" for name, p in properties.items())),
        (
            "inputs",
            "\n".join(f"{m.name}: {m.predictions}; shapes {', '.join(m.shapes)}" for m in info.input_modes),
        ),
        ("reductions", ", ".join(info.reductions)),
        ("equivalents", "\n".join(f"{e.library} {e.function}: {e.mapping}" for e in info.equivalents)),
        ("differences", "\n".join(info.differences)),
        ("notes", "\n".join(info.notes)),
    ]
    for field, value in rows:
        if value:
            table.add_row(field, value)
    return table


def evaluation(result: Evaluation) -> Table:
    return results_table(result.results, f"{result.n_samples} samples")


def results_table(results: Sequence[LossResult], title: str) -> Table:
    with_stats = any(r.stats is not None for r in results)
    counters = [c for c in ("omitted", "ignored", "clipped") if any(getattr(r, c) for r in results)]
    columns = ["loss", "params", "value", "count", "weight_sum", *counters]
    if with_stats:
        columns += ["mean", "std", "min", "max", "p50", "p90", "p99"]
    table = Table(*columns, title=title)
    for r in results:
        row = [r.loss, params_text(r.params), number(r.value), str(r.count), number(r.weight_sum)]
        row += [str(getattr(r, c)) for c in counters]
        if with_stats:
            s = r.stats
            row += (
                [number(s.mean), number(s.std), number(s.min), number(s.max)]
                + [number(s.quantiles.get(q)) for q in ("0.5", "0.9", "0.99")]
                if s is not None
                else [""] * 7
            )
        table.add_row(*row)
    return table


def arrays_note(result: Evaluation | LoggedBatch) -> str | None:
    """Which arrays the table leaves out (they are in ``--format json``)."""
    shapes = [
        f"{r.loss}.{name} {getattr(r, name).shape}"
        for r in result.results
        for name in ("per_sample", "gradient")
        if getattr(r, name) is not None
    ]
    return f"arrays not shown (use --format json): {', '.join(shapes)}" if shapes else None


def curve(result: CurveResult) -> Table:
    table = Table("x", title=f"{result.loss}, target {result.target}")
    for c in result.curves:
        label = params_text(c.params) or "defaults"
        table.add_column(f"loss ({label})")
        if c.gradient is not None:
            table.add_column(f"gradient ({label})")
    for i, x in enumerate(result.x):
        row = [number(float(x))]
        for c in result.curves:
            row.append(number(float(c.value[i])))
            if c.gradient is not None:
                row.append(number(float(c.gradient[i])))
        table.add_row(*row)
    return table


# ---- runs ------------------------------------------------------------------------------------------


def moment(value: datetime | None) -> str:
    return "" if value is None else value.isoformat().replace("+00:00", "Z")


def spec_text(spec: dict[str, Any]) -> str:
    params = {key: value for key, value in spec.items() if key != "name"}
    return f"{spec['name']}({params_text(params)})" if params else str(spec["name"])


def tags_text(tags: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in tags.items())


def run(found: Run) -> Table:
    table = Table("field", "value", title=f"run {found.name}", show_header=False)
    rows = [
        ("losses", "\n".join(spec_text(spec) for spec in found.losses)),
        ("description", found.description or ""),
        ("tags", tags_text(found.tags)),
        ("created", moment(found.created_at)),
        ("batches", str(found.batches)),
        ("splits", ", ".join(found.splits)),
        ("first batch", moment(found.first_time)),
        ("last batch", moment(found.last_time)),
        ("last step", "" if found.last_step is None else str(found.last_step)),
        (
            "status",
            "\n".join(f"{spec_text({'name': d.loss, **d.params})}: {d.status}" for d in found.diagnostics),
        ),
        (
            "latest",
            "\n".join(
                f"{v.split} {spec_text({'name': v.loss, **v.params})} at step {v.step}: {number(v.value)}"
                for v in found.latest
            ),
        ),
        (
            "alerts",
            "\n".join(f"{r.name}: {r.loss} on {r.split} over {r.window} s > {r.max}" for r in found.alerts),
        ),
    ]
    for field, value in rows:
        table.add_row(field, value)
    return table


def runs(found: Sequence[Run]) -> Table:
    table = Table(
        "name", "losses", "tags", "batches", "splits", "last batch", "last step", "status", title="Runs"
    )  # fmt: skip
    for r in found:
        table.add_row(
            r.name,
            ", ".join(spec_text(spec) for spec in r.losses),
            tags_text(r.tags),
            str(r.batches),
            ", ".join(r.splits),
            moment(r.last_time),
            "" if r.last_step is None else str(r.last_step),
            ", ".join(d.status for d in r.diagnostics),
        )
    return table


def batch(logged: LoggedBatch) -> Table:
    step = "" if logged.step is None else f", step {logged.step}"
    title = (
        f"run {logged.run}: batch {logged.batch_id} (#{logged.sequence}), split {logged.split}{step}, "
        f"{moment(logged.time)}{' (duplicate)' if logged.duplicate else ''}"
    )
    return results_table(logged.results, title)


def stats_cells(stats: WindowStats) -> list[str]:
    quantiles = [number(stats.quantiles.get(q)) for q in ("0.5", "0.9", "0.99")]
    return [number(stats.mean), number(stats.std), number(stats.min), number(stats.max), *quantiles]


STATS_COLUMNS = ("mean", "std", "min", "max", "p50", "p90", "p99")


def summary(found: RunSummary) -> Table:
    accuracy = f"quantiles within {found.quantile_relative_accuracy:.0%}"
    table = Table(
        "split", "loss", "batches", "count", "value", *STATS_COLUMNS, "steps", "from", "to",
        title=f"run {found.run}: reduction {found.reduction}, {accuracy}",
    )  # fmt: skip
    for s in found.summaries:
        steps = "" if s.first_step is None else f"{s.first_step}-{s.last_step}"
        table.add_row(
            s.split,
            spec_text({"name": s.loss, **s.params}),
            str(s.batches),
            str(s.count),
            number(s.value),
            *stats_cells(s.stats),
            steps,
            moment(s.first_time),
            moment(s.last_time),
        )
    return table


def series(found: Series) -> Table:
    by_step = found.by == "step"
    place = "step" if by_step else "start"
    merged = f", {found.merged} merged per point" if found.merged > 1 else ""
    table = Table(
        "split", "loss", place, "batches", "count", "value", *STATS_COLUMNS,
        title=f"run {found.run}: by {found.by}{merged}",
    )  # fmt: skip
    for line in found.series:
        loss = spec_text({"name": line.loss, **line.params})
        for point in line.points:
            if by_step:
                where = str(point.step) if point.step == point.step_to else f"{point.step}-{point.step_to}"
            else:
                where = moment(point.start)
            table.add_row(
                line.split,
                loss,
                where,
                str(point.batches),
                str(point.count),
                number(point.value),
                *stats_cells(point.stats),
            )
    return table


def diagnostics(found: Diagnostics) -> Table:
    verdicts = [name for name in ("plateau", "overfitting", "diverging") if getattr(found, name)]
    gap = f", gap {found.split} - {found.reference_split} at the last common step: {number(found.gap.last)}"
    title = (
        f"run {found.run}, {spec_text({'name': found.loss, **found.params})}: {found.status}"
        f"{' (' + ', '.join(verdicts) + ')' if verdicts else ''}{gap}"
    )
    table = Table(
        "split", "points", "best step", "best value", "last step", "last value", "wait", "stop step",
        "plateau", title=title,
    )  # fmt: skip
    for s in found.splits:
        table.add_row(
            s.split,
            str(s.points),
            "" if s.best_step is None else str(s.best_step),
            number(s.best_value),
            "" if s.last_step is None else str(s.last_step),
            number(s.last_value),
            str(s.wait),
            "" if s.stop_step is None else str(s.stop_step),
            "yes" if s.plateau else "no",
        )
    for rule in found.alerts:
        table.caption = (table.caption + "\n" if table.caption else "") + (
            f"alert {rule.name}: {rule.loss} on {rule.split} over {rule.window} s, {rule.reduction} "
            f"{number(rule.value)} (max {rule.max}): {rule.state}"
        )
    return table
