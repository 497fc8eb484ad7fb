"""Answers as Rich tables for a person (``--format table``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from ..client import CurveResult, Evaluation, LossInfo


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
    with_stats = any(r.stats is not None for r in result.results)
    counters = [c for c in ("omitted", "ignored", "clipped") if any(getattr(r, c) for r in result.results)]
    columns = ["loss", "params", "value", "count", "weight_sum", *counters]
    if with_stats:
        columns += ["mean", "std", "min", "max", "p50", "p90", "p99"]
    table = Table(*columns, title=f"{result.n_samples} samples")
    for r in result.results:
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


def arrays_note(result: Evaluation) -> str | None:
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
