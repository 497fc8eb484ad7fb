"""``loss-service db upgrade``: migrate the history database to this version's schema.

The service migrates at start-up by itself; this command does it ahead of a deployment (or for a
database that several replicas share), under the same lock, so that it is safe while others start.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(name="db", help="The history database.", no_args_is_help=True)


@app.command()
def upgrade(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="LOSS_SERVICE_DATABASE_URL",
            help="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:password@host:5432/db "
            "(default: the service's, sqlite:///loss-service.db).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create or migrate the schema of the history database to the newest revision."""
    from rich.console import Console
    from sqlalchemy.exc import SQLAlchemyError

    from ..config import Settings
    from ..store import StoreError, connect
    from ..store import migrate as migrations

    url = database_url or Settings.model_fields["database_url"].default
    console = Console(stderr=True, highlight=False)
    try:
        database = connect(url)
    except ValueError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    where = database.url.render_as_string(hide_password=True)
    try:
        before = migrations.current(database)
        migrations.upgrade(database)
        after = migrations.current(database)
    except (StoreError, SQLAlchemyError, OSError) as error:
        console.print(f"[red]cannot migrate {where}[/red]: {error}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    if before == after:
        console.print(f"{where} is at revision {after}, the newest: nothing to do")
    else:
        console.print(f"{where} upgraded from revision {before or '(empty)'} to {after}")
