"""The README's backup and restore commands (Deploying: backups) work on the service's databases:
a restored database is the history as it was when it was backed up, and the service starts on it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ..databases import POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, postgres_database, postgres_url
from ..ops.server import running_server
from .manifests import ROOT, tool

pytestmark = pytest.mark.slow

README = (ROOT / "README.md").read_text()
COMPOSE_EXEC = "docker compose -f deploy/compose.yaml exec -T postgres "
SQLITE_EXEC = "docker compose -f deploy/compose.sqlite.yaml exec loss-service "


def readme_command(prefix: str, program: str) -> list[str]:
    """The arguments of the README's ``<prefix><program> ...`` command, up to a redirection."""
    (line,) = [line for line in README.splitlines() if line.startswith(prefix + program + " ")]
    return shlex.split(line[len(prefix) :].split(" < ")[0].split(" > ")[0])


def record_batch(base: str, step: int) -> None:
    if step == 1:
        assert httpx.put(f"{base}/v1/runs/backed-up", json={"losses": ["mse"]}, timeout=10).status_code == 201
    batch = {"predictions": [0.5, 1.0], "targets": [0.0, 1.0], "step": step}
    assert httpx.post(f"{base}/v1/runs/backed-up/batches", json=batch, timeout=10).status_code == 201


def batches(base: str) -> int:
    return int(httpx.get(f"{base}/v1/runs/backed-up", timeout=10).json()["batches"])


def local(command: list[str], database: str) -> list[str]:
    """The command against the local server: its host, port and user, and the test's database."""
    arguments = command[1:]
    for flag, value in (("-U", POSTGRES_USER), ("-d", database)):
        index = arguments.index(flag)
        assert arguments[index + 1] == "loss_service", command  # the compose file's user and database
        arguments[index + 1] = value
    program = tool(command[0], "PostgreSQL's client programs")
    return [program, "-h", POSTGRES_HOST, "-p", str(POSTGRES_PORT), *arguments]


def test_postgresql_dump_and_restore_bring_back_the_history(tmp_path):
    dump_command = readme_command(COMPOSE_EXEC, "pg_dump")
    restore_command = readme_command(COMPOSE_EXEC, "pg_restore")
    assert "--format=custom" in dump_command and "--clean" in restore_command
    dump = tmp_path / "loss-service.dump"
    with postgres_database() as name:
        environment = {"LOSS_SERVICE_DATABASE_URL": postgres_url(name)}
        with running_server(raw_env=environment) as server:
            record_batch(server.base, 1)
            with dump.open("wb") as output:  # while the service runs
                subprocess.run(local(dump_command, name), stdout=output, check=True, timeout=60)
            record_batch(server.base, 2)
            assert batches(server.base) == 2
        # Restored over the newer history, with the service stopped, as the README says.
        with dump.open("rb") as source:
            subprocess.run(local(restore_command, name), stdin=source, check=True, timeout=60)
        with running_server(raw_env=environment) as server:
            assert batches(server.base) == 1
            record_batch(server.base, 3)  # and the restored history takes new batches
            assert batches(server.base) == 2


def test_sqlite_online_backup_is_a_working_database(tmp_path):
    (snippet,) = re.findall(re.escape(SQLITE_EXEC) + r'(python -c ".*")$', README, flags=re.MULTILINE)
    python, option, code = shlex.split(snippet)
    assert (python, option) == ("python", "-c") and "/data/loss-service.db" in code
    data = tmp_path / "data"
    data.mkdir()
    code = code.replace("/data/", f"{data}/")
    environment = {
        "LOSS_SERVICE_DATABASE_URL": f"sqlite:///{data / 'loss-service.db'}",
        "LOSS_SERVICE_WORKERS": "2",
    }
    with running_server(raw_env=environment) as server:
        record_batch(server.base, 1)
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)  # while it serves
        record_batch(server.base, 2)
    (backup,) = [path for path in data.iterdir() if path.name.startswith("backup") and path.suffix == ".db"]
    restored = tmp_path / "restored"
    restored.mkdir()
    Path(restored / "loss-service.db").write_bytes(backup.read_bytes())
    environment = {"LOSS_SERVICE_DATABASE_URL": f"sqlite:///{restored / 'loss-service.db'}"}
    with running_server(raw_env=environment) as server:
        assert batches(server.base) == 1
