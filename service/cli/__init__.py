"""``loss-service``: the command line. ``serve`` (also what it does with no command), ``losses``,
``evaluate``, ``curve`` and ``openapi``.

Exit status: 0 on success; 1 when the service answers a problem (its title and detail on stderr)
or cannot be reached; 2 for usage errors (a malformed loss spec, a missing or unreadable file,
arrays whose shapes cannot match), found before anything is sent. Imports are lazy: a command loads
only what it uses, so that ``loss-service losses`` starts quickly.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from ..client import Client

app = typer.Typer(
    name="loss-service",
    help="Loss service: serve it, or evaluate losses on files (remotely, or in-process with --local).",
    add_completion=False,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    table = "table"
    json = "json"


class Encoding(StrEnum):
    list = "list"
    base64 = "base64"


Url = Annotated[str, typer.Option("--url", envvar="LOSS_SERVICE_URL", help="The service's base URL.")]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="LOSS_SERVICE_API_KEY", help="Sent as a Bearer token.", show_default=False
    ),
]
Output = Annotated[
    Format, typer.Option("--format", help="table for people; json is exactly the API's answer.")
]
Local = Annotated[
    bool, typer.Option("--local", help="Evaluate in this process with the same core, not over HTTP.")
]
DEFAULT_URL = "http://127.0.0.1:8000"


def usage_error(message: str) -> NoReturn:
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def connect(url: str, api_key: str | None, local: bool, **settings: Any) -> Client:
    from ..client import Client

    if local:
        from ..client import local as in_process

        return Client(
            transport=in_process.transport(),
            max_elements=in_process.UNLIMITED,
            max_body_bytes=in_process.UNLIMITED,
            **settings,
        )
    return Client(url, api_key, **settings)


def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a client call; a problem answer or an unreachable service ends the command with status 1."""
    import httpx
    from rich.console import Console

    from ..client import ProblemError, SplitError

    try:
        return function(*args, **kwargs)
    except ProblemError as problem:
        console = Console(stderr=True, highlight=False, soft_wrap=True)
        console.print(f"[red]{problem.status} {problem.title}[/red]: {problem.detail}")
        for error in problem.errors:
            console.print(f"  {error.location}: {error.message}")
        raise typer.Exit(1) from None
    except SplitError as error:
        usage_error(str(error))
    except httpx.TransportError as error:
        Console(stderr=True, highlight=False).print(f"[red]cannot reach the service[/red]: {error}")
        raise typer.Exit(1) from None


def show(answer: Any, output: Format, table: Any, array_encoding: Any = "list") -> None:
    """Print an answer: its JSON on stdout, or a table."""
    if output is Format.json:
        from ..client.structs import to_json

        sys.stdout.buffer.write(to_json(answer, array_encoding) + b"\n")
        sys.stdout.flush()
        return
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # a file or a pipe: no terminal width to fit
    console.print(table)


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
    predictions: Annotated[str, typer.Argument(help="PATH[:KEY] of .npy/.npz/.csv/.parquet, or -.")],
    targets: Annotated[str | None, typer.Argument(help="The same, for the targets.")] = None,
    loss: Annotated[
        list[str] | None, typer.Option("--loss", "-l", help="name or name:param=value,... (repeatable).")
    ] = None,
    weights: Annotated[str | None, typer.Option(help="Sample weights, a file as above.")] = None,
    reduction: Annotated[str, typer.Option(help="mean, sum, sum_over_batch_size or none.")] = "mean",
    nan_policy: Annotated[str, typer.Option(help="raise, omit or propagate.")] = "raise",
    include: Annotated[
        list[str] | None,
        typer.Option(help="stats, per_sample, gradient, breakdown, inputs (repeatable or comma separated)."),
    ] = None,
    top_k: Annotated[int, typer.Option(help="Rows listed in stats.top.")] = 5,
    array_encoding: Annotated[
        Encoding, typer.Option(help="How --format json writes arrays.")
    ] = Encoding.list,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
    output: Output = Format.table,
    local: Local = False,
) -> None:
    """Evaluate one or more losses on arrays read from files."""
    from . import progress, render
    from .files import UsageError, read_array
    from .specs import SpecError, parse_spec

    try:
        specs = [parse_spec(text) for text in loss or []]
    except SpecError as error:
        usage_error(str(error))
    if not specs:
        usage_error(
            "give at least one --loss (name or name:param=value,...); loss-service losses lists them."
        )
    if [predictions, targets, weights].count("-") > 1:
        usage_error("only one of the arrays can come from stdin (-).")
    options: dict[str, Any] = {"reduction": reduction, "nan_policy": nan_policy, "top_k": top_k}
    if include:
        options["include"] = [part.strip() for item in include for part in item.split(",") if part.strip()]
    with progress.Bars() as bars:
        try:
            arrays = {
                role: read_array(source, role, bars.read)
                for role, source in (("predictions", predictions), ("targets", targets), ("weights", weights))
                if source is not None
            }
        except UsageError as error:
            usage_error(str(error))
        mismatch = progress.shape_mismatch(arrays)
        if mismatch:
            usage_error(mismatch)
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
    from .specs import SpecError, parse_spec

    try:
        parsed = [parse_spec(text) for text in spec]
    except SpecError as error:
        usage_error(str(error))
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
