"""History databases for the tests: an SQLite file, or a uniquely named PostgreSQL database.

PostgreSQL 15 is expected at 127.0.0.1:5432 with trust authentication (user ``postgres``); each test
database is created for one test and dropped after it. Where no server answers, the test is skipped
locally and fails under ``LOSS_SERVICE_TEST_STRICT=1`` (CI).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from .environment import require

POSTGRES_HOST = os.environ.get("LOSS_SERVICE_TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("LOSS_SERVICE_TEST_POSTGRES_PORT", "5432"))
POSTGRES_USER = os.environ.get("LOSS_SERVICE_TEST_POSTGRES_USER", "postgres")
BACKENDS = ("sqlite", "postgresql")


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(
            host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, dbname="postgres", autocommit=True,
            connect_timeout=3,
        )  # fmt: skip
    except psycopg.OperationalError as error:
        require(f"PostgreSQL is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT} ({error})")


def postgres_url(database: str, host: str = POSTGRES_HOST, port: int = POSTGRES_PORT) -> str:
    return f"postgresql+psycopg://{POSTGRES_USER}@{host}:{port}/{database}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (its name), dropped afterwards."""
    name = f"loss_service_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """A history database URL of the given backend, empty."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'history-{uuid.uuid4().hex[:8]}.db'}"
        return
    with postgres_database() as name:
        yield postgres_url(name)
