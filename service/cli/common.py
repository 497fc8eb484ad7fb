"""What the commands share: the connection options, running a client call, printing an answer,
reading the arrays of an evaluation and its options. Imports are lazy here too."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    import numpy as np

    from ..client import Client
    from .progress import Bars


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


# ---- the arrays and options of an evaluation (evaluate, runs log) --------------------------------

Reduction = Annotated[str, typer.Option(help="mean, sum, sum_over_batch_size or none.")]
NanPolicy = Annotated[str, typer.Option(help="raise, omit or propagate.")]
Include = Annotated[
    list[str] | None,
    typer.Option(help="stats, per_sample, gradient, breakdown, inputs (repeatable or comma separated)."),
]
TopK = Annotated[int, typer.Option(help="Rows listed in stats.top.")]
ArrayEncoding = Annotated[Encoding, typer.Option(help="How --format json writes arrays.")]
Predictions = Annotated[str, typer.Argument(help="PATH[:KEY] of .npy/.npz/.csv/.parquet, or -.")]
Targets = Annotated[str | None, typer.Argument(help="The same, for the targets.")]
Weights = Annotated[str | None, typer.Option(help="Sample weights, a file as above.")]


def evaluation_options(
    reduction: str, nan_policy: str, include: list[str] | None, top_k: int
) -> dict[str, Any]:
    """The request fields of an evaluation; --include may be repeated or comma separated."""
    options: dict[str, Any] = {"reduction": reduction, "nan_policy": nan_policy, "top_k": top_k}
    if include:
        options["include"] = [part.strip() for item in include for part in item.split(",") if part.strip()]
    return options


def read_arrays(
    predictions: str, targets: str | None, weights: str | None, bars: Bars
) -> dict[str, np.ndarray]:
    """The arrays from their sources, checked to have one row per sample (usage errors otherwise)."""
    from .files import UsageError, read_array
    from .progress import shape_mismatch

    if [predictions, targets, weights].count("-") > 1:
        usage_error("only one of the arrays can come from stdin (-).")
    try:
        arrays = {
            role: read_array(source, role, bars.read)
            for role, source in (("predictions", predictions), ("targets", targets), ("weights", weights))
            if source is not None
        }
    except UsageError as error:
        usage_error(str(error))
    mismatch = shape_mismatch(arrays)
    if mismatch:
        usage_error(mismatch)
    return arrays


def parse_specs(texts: list[str] | None) -> list[Any]:
    """Loss specs from ``--loss`` options: at least one, each ``name[:param=value,...]``."""
    from .specs import SpecError, parse_spec

    try:
        specs = [parse_spec(text) for text in texts or []]
    except SpecError as error:
        usage_error(str(error))
    if not specs:
        usage_error(
            "give at least one --loss (name or name:param=value,...); loss-service losses lists them."
        )
    return specs
