"""Connections to the history database: SQLite (the embedded default) or PostgreSQL (psycopg 3).

One SQLAlchemy engine per process. Write transactions and read transactions differ:

- SQLite runs in WAL mode, so readers never block the writer. A write transaction starts with
  ``BEGIN IMMEDIATE`` (it takes the write lock at once, so two processes never both read a counter
  and then race to update it); a read transaction with ``BEGIN``, which in WAL mode reads one
  snapshot for all its statements. ``busy_timeout`` makes a writer wait for another process's
  write instead of failing; ``synchronous`` chooses what a commit survives (see ``Settings``).
  Foreign keys are switched on, so that deleting a run deletes its rows.
- PostgreSQL reads at ``REPEATABLE READ`` (one snapshot for the whole read) and writes at the
  default ``READ COMMITTED``; connections are checked before use (``pool_pre_ping``), so that the
  pool recovers by itself after the server comes back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import StaticPool

Backend = Literal["sqlite", "postgresql"]
READ_ONLY = "loss_service_read_only"


@dataclass(frozen=True)
class Database:
    """The engine, and a view of it whose transactions read one consistent snapshot."""

    url: URL
    backend: Backend
    engine: Engine
    reader: Engine

    def dispose(self) -> None:
        self.engine.dispose()


def normalize_url(url: str) -> URL:
    """``postgresql://`` and ``postgres://`` mean psycopg 3; SQLite paths are used as given."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", "psycopg", ""):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"LOSS_SERVICE_DATABASE_URL must be an sqlite:/// or postgresql+psycopg:// URL; got {url!r}"
        )
    return parsed


def connect(
    url: str,
    *,
    busy_timeout: float = 5.0,
    synchronous: str = "normal",
    pool_size: int = 5,
    connect_timeout: float = 5.0,
) -> Database:
    """Engines for ``url`` (not yet connected: the first use connects)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(parsed, busy_timeout, synchronous)
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_timeout=connect_timeout,
        pool_pre_ping=True,
        connect_args={"connect_timeout": max(1, round(connect_timeout)), "application_name": "loss-service"},
    )
    return Database(parsed, "postgresql", engine, engine.execution_options(isolation_level="REPEATABLE READ"))


def _sqlite(url: URL, busy_timeout: float, synchronous: str) -> Database:
    memory = url.database in (None, "", ":memory:")
    if not memory:
        path = Path(url.database or "")
        if path.parent and not path.parent.exists():
            raise ValueError(f"the directory of the SQLite database {str(path)!r} does not exist")
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": busy_timeout}}
    if memory:  # one shared connection: every new connection would be an empty database
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return Database(url, "sqlite", engine, engine.execution_options(**{READ_ONLY: True}))


def sqlite_path(url: str) -> str | None:
    """The file of an SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return os.path.abspath(parsed.database or "")
