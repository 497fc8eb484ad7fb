"""``loss-service``: the command line. ``serve`` (also what it does with no command), ``losses``,
``evaluate``, ``curve``, ``runs ...`` (``runs.py``), ``db upgrade`` (``db.py``) and ``openapi``.

Exit status: 0 on success; 1 when the service answers a problem (its title and detail on stderr)
or cannot be reached; 2 for usage errors (a malformed loss spec, a missing or unreadable file,
arrays whose shapes cannot match), found before anything is sent. Imports are lazy: a command loads
only what it uses, so that ``loss-service losses`` starts quickly.
"""

from __future__ import annotations

import sys
import types
from typing import Annotated, Any


def _defer_httpx_command_line() -> None:
    """httpx imports its own command line at import time (``httpx._main``: click, rich.syntax and
    pygments, ~75 ms here) whenever those are installed, as they are with the distributed extra.
    This command line never calls it: a stand-in loads it if something does."""
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main")

    def main(*args: Any, **kwargs: Any) -> Any:
        del sys.modules["httpx._main"]
        from httpx._main import main as real

        return real(*args, **kwargs)

    stand_in.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in


_defer_httpx_command_line()

import typer  # noqa: E402

from . import db, runs  # noqa: E402
from .common import (  # noqa: E402
    DEFAULT_URL,
    ApiKey,
    ArrayEncoding,
    Encoding,
    Format,
    Include,
    Local,
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
    name="loss-service",
    help="Loss service: serve it, or evaluate losses on files (remotely, or in-process with --local).",
    add_completion=False,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)
app.add_typer(runs.app)
app.add_typer(db.app)


@app.callback(invoke_without_command=True)
def root(context: typer.Context) -> None:
    """With no command, serve (as ``python -m service``)."""
    if context.invoked_subcommand is None:
        serve()


@app.command()
def serve() -> None:
    """Run the service (the same as python -m service; configured by LOSS_SERVICE_* variables)."""
    from ..__main__ import main as serve_main

    serve_main()


@app.command()
def losses(
    name: Annotated[str | None, typer.Argument(help="One loss (name or alias); all when absent.")] = None,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
    local: Local = False,
) -> None:
    """The catalogue, or one entry."""
    from . import render

    with connect(url, api_key, local) as client:
        if name is None:
            from ..client.structs import Catalogue

            entries = call(client.losses)
            show(Catalogue(entries), output, render.catalogue(entries))
        else:
            info = call(client.loss, name)
            show(info, output, render.entry(info))


@app.command()
def evaluate(
    predictions: Predictions,
    targets: Targets = None,
    loss: Annotated[
        list[str] | None, typer.Option("--loss", "-l", help="name or name:param=value,... (repeatable).")
    ] = None,
    weights: Weights = None,
    reduction: Reduction = "mean",
    nan_policy: NanPolicy = "raise",
    include: Include = None,
    top_k: TopK = 5,
    array_encoding: ArrayEncoding = Encoding.list,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
    local: Local = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Evaluate on this Dask cluster (tcp://HOST:PORT) from .npy or .parquet files read by its "
            "workers; needs the distributed extra.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Evaluate on a local Dask cluster of this many processes, as --scheduler.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Evaluate one or more losses on arrays read from files (on a Dask cluster for files larger
    than memory: --scheduler or --workers)."""
    from . import progress, render

    specs = parse_specs(loss)
    options = evaluation_options(reduction, nan_policy, include, top_k)
    if scheduler is not None or workers is not None:
        if local or (scheduler is not None and workers is not None):
            usage_error("choose one of --local, --scheduler and --workers.")
        from . import cluster

        sources = {"predictions": predictions}
        for role, source in (("targets", targets), ("weights", weights)):
            if source is not None:
                sources[role] = source
        result = cluster.evaluate(sources, specs, options, scheduler, workers)
        show(result, output, render.evaluation(result), array_encoding.value)
        return
    with progress.Bars() as bars:
        arrays = read_arrays(predictions, targets, weights, bars)
        with connect(url, api_key, local, on_upload=bars.upload) as client:
            result = call(
                client.evaluate,
                arrays["predictions"],
                arrays.get("targets"),
                specs,
                arrays.get("weights"),
                **options,
            )
    show(result, output, render.evaluation(result), array_encoding.value)
    note = render.arrays_note(result) if output is Format.table else None
    if note:
        typer.echo(note, err=True)


@app.command()
def curve(
    spec: Annotated[
        list[str], typer.Argument(help="name or name:param=value,...; several draw several curves.")
    ],
    target: Annotated[float, typer.Option(help="The fixed target.")] = 0.0,
    start: Annotated[float, typer.Option(help="First prediction.")] = -3.0,
    stop: Annotated[float, typer.Option(help="Last prediction.")] = 3.0,
    num: Annotated[int, typer.Option(help="Number of points.")] = 21,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
    local: Local = False,
) -> None:
    """A loss and its gradient over a range of scalar predictions (L1 vs L2, Huber's deltas)."""
    from . import render

    parsed = parse_specs(spec)
    names = {item if isinstance(item, str) else item["name"] for item in parsed}
    if len(names) > 1:
        usage_error(f"one loss per curve command; got {', '.join(sorted(names))}.")
    params = [
        {} if isinstance(item, str) else {k: v for k, v in item.items() if k != "name"} for item in parsed
    ]
    with connect(url, api_key, local) as client:
        result = call(client.curve, names.pop(), params, target=target, start=start, stop=stop, num=num)
    show(result, output, render.curve(result))


@app.command()
def openapi(
    output: Annotated[
        str, typer.Option("--output", "-o", help="Where to write the document; - for stdout.")
    ] = "-",
) -> None:
    """Write the OpenAPI document of v1 (what GET /v1/openapi.json serves)."""
    from pathlib import Path

    from ..openapi_document import render_document

    text = render_document()
    if output == "-":
        sys.stdout.buffer.write(text)
    else:
        Path(output).write_bytes(text)


def main() -> None:
    """The ``loss-service`` console script."""
    app()
