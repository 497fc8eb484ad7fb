"""``loss-service runs ...``: create, list, show, log batches to, summarise, chart and delete runs.

Every command talks to a service (``--url``); ``--format json`` prints exactly the API's answer.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .common import (
    DEFAULT_URL,
    ApiKey,
    ArrayEncoding,
    Encoding,
    Format,
    Include,
    NanPolicy,
    Output,
    Predictions,
    Reduction,
    Targets,
    TopK,
    Url,
    Weights,
    call,
    connect,
    evaluation_options,
    parse_specs,
    read_arrays,
    show,
    usage_error,
)

app = typer.Typer(
    name="runs",
    help="Runs: named streams of evaluated batches (training runs, deployed models) and their history.",
    no_args_is_help=True,
)

RunName = Annotated[str, typer.Argument(help="The run's name: 1-128 of A-Za-z0-9._:- .")]
Splits = Annotated[
    list[str] | None, typer.Option("--split", "-s", help="Only these splits (repeatable); default all.")
]
Losses = Annotated[
    list[str] | None,
    typer.Option("--loss", "-l", help="Only these losses, by name or alias (repeatable); default all."),
]
From = Annotated[str | None, typer.Option("--from", help="RFC 3339; batches at or after it.")]
To = Annotated[str | None, typer.Option("--to", help="RFC 3339; batches before it.")]
StepFrom = Annotated[int | None, typer.Option(help="Batches from this step on.")]
StepTo = Annotated[int | None, typer.Option(help="Batches up to this step (inclusive).")]
WindowReduction = Annotated[str, typer.Option(help="A window's value: mean, sum or sum_over_batch_size.")]


def parse_tags(tags: list[str] | None) -> dict[str, str]:
    """``key=value`` (or ``key:value``) options as a mapping."""
    parsed = {}
    for tag in tags or []:
        separator = "=" if "=" in tag else ":"
        key, found, value = tag.partition(separator)
        if not found or not key:
            usage_error(f"a tag is key=value; got {tag!r}.")
        parsed[key] = value
    return parsed


def window(
    split: list[str] | None,
    loss: list[str] | None,
    time_from: str | None,
    time_to: str | None,
    step_from: int | None,
    step_to: int | None,
    reduction: str,
) -> dict[str, Any]:
    given = {
        "split": split,
        "loss": loss,
        "from_": time_from,
        "to": time_to,
        "step_from": step_from,
        "step_to": step_to,
        "reduction": reduction,
    }
    return {key: value for key, value in given.items() if value}


@app.command()
def create(
    name: RunName,
    loss: Annotated[
        list[str] | None,
        typer.Option(
            "--loss", "-l", help="name or name:param=value,... (repeatable); fixed for the run's life."
        ),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the run is.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="key=value (repeatable).")] = None,
    alert: Annotated[
        list[str] | None,
        typer.Option(
            "--alert",
            help="An alert rule, name:loss=mse,split=production,window=1h,max=0.3 (repeatable; "
            "reduction= too).",
        ),
    ] = None,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
) -> None:
    """Create a run, or find it with the same losses (its description, tags and alert rules are
    then replaced by those given)."""
    from .render import run as run_table
    from .specs import SpecError, parse_rule

    specs = parse_specs(loss)
    tags = parse_tags(tag) if tag else None
    try:
        rules = [parse_rule(text) for text in alert] if alert else None
    except SpecError as error:
        usage_error(str(error))
    with connect(url, api_key, False) as client:
        found = call(client.create_run, name, specs, description, tags, rules)
    show(found.run, output, run_table(found.run))
    if output is Format.table:
        typer.echo(
            f"created run {name}" if found.created else f"run {name} exists with these losses", err=True
        )


@app.command("list")
def list_runs(
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only runs with this key=value (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many runs, newest first.")] = 100,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
) -> None:
    """Runs, newest first."""
    from .render import runs as runs_table

    tags = parse_tags(tag)
    with connect(url, api_key, False) as client:
        found = call(client.runs, tags, limit)
    show(found, output, runs_table(found.runs))


@app.command("show")
def show_run(
    name: RunName,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
) -> None:
    """One run: its losses, tags, splits, batches and extent."""
    from .render import run as run_table

    with connect(url, api_key, False) as client:
        found = call(client.run, name)
    show(found, output, run_table(found))


@app.command()
def log(
    run: RunName,
    predictions: Predictions,
    targets: Targets = None,
    weights: Weights = None,
    split: Annotated[str, typer.Option("--split", "-s", help="train, validation, production...")] = "default",
    step: Annotated[int | None, typer.Option(min=0, help="The epoch or iteration.")] = None,
    time: Annotated[
        str | None, typer.Option(help="RFC 3339 with an offset; default: when the service receives it.")
    ] = None,
    batch_id: Annotated[
        str | None,
        typer.Option(help="Idempotency key: a batch_id recorded before is not counted again (default: new)."),
    ] = None,
    reduction: Reduction = "mean",
    nan_policy: NanPolicy = "raise",
    include: Include = None,
    top_k: TopK = 5,
    array_encoding: ArrayEncoding = Encoding.list,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
) -> None:
    """Evaluate a batch read from files with the run's losses, and record it."""
    from .progress import Bars
    from .render import arrays_note
    from .render import batch as batch_table

    options = evaluation_options(reduction, nan_policy, include, top_k)
    with Bars() as bars:
        arrays = read_arrays(predictions, targets, weights, bars)
        with connect(url, api_key, False, on_upload=bars.upload) as client:
            logged = call(
                client.log_batch,
                run,
                arrays["predictions"],
                arrays.get("targets"),
                arrays.get("weights"),
                split=split,
                step=step,
                time=time,
                batch_id=batch_id,
                **options,
            )
    show(logged, output, batch_table(logged), array_encoding.value)
    if output is Format.table:
        if logged.duplicate:
            typer.echo(f"batch {logged.batch_id} was recorded before: not counted again", err=True)
        note = arrays_note(logged)
        if note:
            typer.echo(note, err=True)


@app.command()
def summary(
    run: RunName,
    split: Splits = None,
    loss: Losses = None,
    time_from: From = None,
    time_to: To = None,
    step_from: StepFrom = None,
    step_to: StepTo = None,
    reduction: WindowReduction = "mean",
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
) -> None:
    """Each (split, loss) over a window of batches: evaluate's figures for all of them together."""
    from .render import summary as summary_table

    chosen = window(split, loss, time_from, time_to, step_from, step_to, reduction)
    with connect(url, api_key, False) as client:
        found = call(client.summary, run, **chosen)
    show(found, output, summary_table(found))


@app.command()
def series(
    run: RunName,
    by: Annotated[str, typer.Option(help="step (a point per step) or time (a point per interval).")] = "step",
    interval: Annotated[
        str | None, typer.Option(help="by time: seconds, or 30s, 1m, 5m, 1h, 1d (default 1m).")
    ] = None,
    max_points: Annotated[
        int | None, typer.Option(min=1, help="Adjacent points are merged beyond this (default 500).")
    ] = None,
    split: Splits = None,
    loss: Losses = None,
    time_from: From = None,
    time_to: To = None,
    step_from: StepFrom = None,
    step_to: StepTo = None,
    reduction: WindowReduction = "mean",
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
) -> None:
    """A series per (split, loss): value and statistics by step or over time."""
    from .render import series as series_table

    if by not in ("step", "time"):
        usage_error(f"--by is step or time; got {by!r}.")
    chosen = window(split, loss, time_from, time_to, step_from, step_to, reduction)
    with connect(url, api_key, False) as client:
        found = call(client.series, run, by, interval, max_points, **chosen)
    show(found, output, series_table(found))


@app.command()
def diagnostics(
    run: RunName,
    loss: Annotated[
        str | None, typer.Option("--loss", "-l", help="The loss (required when the run has several).")
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", "-s", help="The split diagnosed (validation).")
    ] = None,
    reference_split: Annotated[str | None, typer.Option(help="Compared with (train).")] = None,
    patience: Annotated[int | None, typer.Option(min=0, help="Steps without improvement (10).")] = None,
    min_delta: Annotated[float | None, typer.Option(min=0, help="Smallest improvement (0).")] = None,
    baseline: Annotated[float | None, typer.Option(help="A value to beat.")] = None,
    start_from_step: Annotated[
        int | None, typer.Option(min=0, help="Warm-up: earlier steps ignored.")
    ] = None,
    divergence: Annotated[float | None, typer.Option(min=1, help="Growth factor that diverges (2).")] = None,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
) -> None:
    """Training diagnostics of a loss: early stopping (as Keras), plateau, overfitting, divergence,
    the train-validation gap, and the run's alert rules."""
    from .render import diagnostics as diagnostics_table

    given = {
        "loss": loss,
        "split": split,
        "reference_split": reference_split,
        "patience": patience,
        "min_delta": min_delta,
        "baseline": baseline,
        "start_from_step": start_from_step,
        "divergence": divergence,
    }
    options = {key: value for key, value in given.items() if value is not None}
    with connect(url, api_key, False) as client:
        found = call(client.diagnostics, run, **options)
    show(found, output, diagnostics_table(found))


@app.command()
def delete(
    name: RunName,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Delete a run and all its history."""
    with connect(url, api_key, False) as client:
        call(client.delete_run, name)
    typer.echo(f"deleted run {name}", err=True)
