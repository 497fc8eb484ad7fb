"""Schema migrations (Alembic), applied at start-up and by ``loss-service db upgrade``.

Several workers or replicas may start at once: the upgrade runs inside one transaction that first
takes a lock every other migrating process waits for — a transaction-level advisory lock on
PostgreSQL, the database's write lock (``BEGIN IMMEDIATE``) on SQLite — and Alembic then finds the
schema at its head and does nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .database import Database

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key: any constant that other applications sharing the database do not use.
ADVISORY_LOCK_KEY = 0x10557E5


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The newest revision this code knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(database: Database) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with database.reader.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest), under the migration lock."""
    config = _config()
    with database.engine.begin() as connection:
        if database.backend == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
