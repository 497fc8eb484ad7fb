"""Migrations: the schema they build is the one the code declares, and concurrent upgrades are safe."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from service.store import connect, schema
from service.store.migrate import current, head, upgrade

UPGRADE = "import sys; from service.store import connect; from service.store.migrate import upgrade; " \
    "upgrade(connect(sys.argv[1]))"  # fmt: skip


def test_migrations_build_the_declared_schema(database_url):
    database = connect(database_url)
    try:
        assert current(database) is None
        upgrade(database)
        assert current(database) == head()
        with database.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), schema.metadata)
        assert differences == []
        upgrade(database)  # a second upgrade changes nothing
        assert current(database) == head()
    finally:
        database.dispose()


def test_processes_that_upgrade_at_once_all_succeed(database_url):
    processes = [
        subprocess.Popen([sys.executable, "-c", UPGRADE, database_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for process in processes:
        _, error = process.communicate(timeout=120)
        assert process.returncode == 0, error.decode()
    database = connect(database_url)
    try:
        assert current(database) == head()
    finally:
        database.dispose()
