"""deploy/compose.yaml and compose.sqlite.yaml: valid Compose files, and what they promise holds."""

from __future__ import annotations

import hashlib
import re
import subprocess

import pytest
from sqlalchemy.engine import make_url

from service.config import Settings

from .manifests import (
    COMPOSE,
    COMPOSE_SQLITE,
    DEPLOY,
    ROOT,
    SERVICE,
    compose_container,
    env_file,
    load_yaml,
    run,
    seconds,
    tool,
)

SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
COMPOSE_FILES = [COMPOSE, COMPOSE_SQLITE]
SETTINGS = {f"LOSS_SERVICE_{name.upper()}" for name in Settings.model_fields}


def strings(node: object) -> list[str]:
    """Every string in a parsed YAML document, keys included."""
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in strings(key) + strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def test_the_vendored_schema_is_the_recorded_one():
    """The Compose schema in the repository is the file its README names (source, version, digest)."""
    readme = (DEPLOY / "schemas" / "README.md").read_text()
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert f"`{digest}`" in readme
    assert (DEPLOY / "schemas" / "LICENSE.compose-spec").read_text().lstrip().startswith("Apache License")


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_validates_against_the_compose_specification(path):
    checker = tool("check-jsonschema", "the test extra")
    result = run(checker, "--schemafile", str(SCHEMA), str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_misspelt_key(tmp_path):
    """The validation is not vacuous: the same file with one key misspelt fails."""
    text = COMPOSE.read_text()
    assert "    read_only: true\n" in text
    broken = tmp_path / "compose.yaml"
    broken.write_text(text.replace("    read_only: true\n", "    readonly: true\n", 1))
    result = run(tool("check-jsonschema", "the test extra"), "--schemafile", str(SCHEMA), str(broken))
    assert result.returncode == 1 and "'readonly' was unexpected" in result.stdout


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_no_interpolation_and_every_service_variable_is_a_setting(path):
    """The service is configured by documented settings only, and the file reads the same in every
    shell (no ${...} taken from the operator's environment)."""
    assert not [value for value in strings(load_yaml(path)) if re.search(r"\$[{A-Za-z_]", value)]
    container = compose_container(path)
    assert container.explicit <= SETTINGS, container.explicit - SETTINGS
    assert container.explicit >= SETTINGS, f"settings not in the example: {SETTINGS - container.explicit}"
    values = {
        key.removeprefix("LOSS_SERVICE_").lower(): value
        for key, value in container.environment.items()
        if key in SETTINGS
    }
    settings = Settings(**values)  # every value is valid for its setting
    assert settings.api_keys and settings.host == "0.0.0.0" and settings.port == 8000


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_env_files_are_not_committed_and_their_examples_are(path):
    spec = load_yaml(path)
    for service in spec["services"].values():
        for name in service.get("env_file", []):
            assert (path.parent / f"{name}.example").is_file()
            ignored = subprocess.run(["git", "check-ignore", "-q", str(path.parent / name)], cwd=ROOT)
            assert ignored.returncode == 0, f"{name} is not ignored by git"
            tracked = subprocess.run(
                ["git", "ls-files", "--error-unmatch", str(path.parent / name)], cwd=ROOT, capture_output=True
            )
            assert tracked.returncode != 0, f"{name} is committed"


def test_the_service_and_its_database():
    spec = load_yaml(COMPOSE)
    services = spec["services"]
    service = services[SERVICE]
    assert service["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert service["deploy"]["replicas"] == 2
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"

    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:15\.\d+-bookworm", postgres["image"])
    (data,) = postgres["volumes"]
    volume, target = data.split(":")
    assert target == "/var/lib/postgresql/data" and volume in spec["volumes"], "a named volume"
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]

    # The database URL points at that server, as its user, into its database, with its password.
    url = make_url(compose_container().environment["LOSS_SERVICE_DATABASE_URL"])
    postgres_env = {**env_file(DEPLOY / "env" / "postgres.env.example"), **postgres["environment"]}
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("postgres", 5432)
    assert url.username == postgres_env["POSTGRES_USER"] and url.database == postgres_env["POSTGRES_DB"]
    assert url.password == postgres_env["POSTGRES_PASSWORD"]
    healthcheck = postgres["healthcheck"]["test"]
    assert healthcheck[healthcheck.index("-U") + 1] == url.username
    assert healthcheck[healthcheck.index("-d") + 1] == url.database


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_hardening_health_checks_and_restarts(path):
    spec = load_yaml(path)
    for name, service in spec["services"].items():
        assert service["restart"] == "unless-stopped", name
    service = spec["services"][SERVICE]
    assert service["read_only"] is True and service["tmpfs"] == ["/tmp"]
    assert service["cap_drop"] == ["ALL"] and service["security_opt"] == ["no-new-privileges:true"]
    check = service["healthcheck"]["test"]
    assert check[:2] == ["CMD", "python"] and "/healthz" in check[-1]
    url = compose_container(path).environment["LOSS_SERVICE_DATABASE_URL"]
    if url.startswith("sqlite:"):  # SQLite: a writable named volume at /data holds the file.
        assert url.startswith("sqlite:////data/")
        (mount,) = service["volumes"]
        volume, target = mount.split(":")
        assert target == "/data" and volume in spec["volumes"]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_stop_grace_period_covers_the_drain_and_in_flight_requests(path):
    service = load_yaml(path)["services"][SERVICE]
    environment = compose_container(path).environment
    drain = float(environment["LOSS_SERVICE_SHUTDOWN_DRAIN_SECONDS"])
    graceful = float(environment["LOSS_SERVICE_TIMEOUT_GRACEFUL_SHUTDOWN"])
    assert seconds(service["stop_grace_period"]) >= drain + graceful + 2


def haproxy_backend() -> tuple[str, int, float, int, int]:
    """The proxy's server-template: target, slots, check interval (s), failures to mark down."""
    text = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    (line,) = [line.split() for line in text.splitlines() if line.strip().startswith("server-template")]
    target, slots = line[3], int(line[2])
    interval = seconds(line[line.index("inter") + 1])
    return target, slots, interval, int(line[line.index("fall") + 1]), int(line[line.index("rise") + 1])


def test_haproxy_configuration_is_valid():
    haproxy = tool("haproxy", "Debian's haproxy, installed by .ci/run")
    result = run(haproxy, "-c", "-f", str(DEPLOY / "haproxy" / "haproxy.cfg"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_proxy_sends_to_every_replica_and_only_ready_ones():
    spec = load_yaml(COMPOSE)
    proxy = spec["services"]["proxy"]
    assert proxy["ports"] == ["8000:8000"], "one port in front of the replicas"
    assert "./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in proxy["volumes"]
    target, slots, interval, fall, _ = haproxy_backend()
    environment = compose_container().environment
    assert target == f"{SERVICE}:{environment['LOSS_SERVICE_PORT']}"
    assert slots >= spec["services"][SERVICE]["deploy"]["replicas"]
    text = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    assert "http-check send meth GET uri /readyz" in text
    # The service keeps serving while it answers 503 on /readyz until the proxy has noticed.
    assert float(environment["LOSS_SERVICE_SHUTDOWN_DRAIN_SECONDS"]) >= interval * fall
    # Idle connections: the proxy closes them before the service does.
    assert int(environment["LOSS_SERVICE_TIMEOUT_KEEP_ALIVE"]) > seconds("5s")  # pool-purge-delay


def test_database_connections_fit_postgresql():
    """Every replica the proxy can address, at full pool and overflow, stays under max_connections
    (keeping PostgreSQL's 3 superuser connections)."""
    spec = load_yaml(COMPOSE)
    command = spec["services"]["postgres"]["command"]
    max_connections = int(command[command.index("-c") + 1].split("=")[1])
    environment = compose_container().environment
    _, slots, *_ = haproxy_backend()
    workers = int(environment["LOSS_SERVICE_WORKERS"])
    per_replica = workers * 3 * int(environment["LOSS_SERVICE_DATABASE_POOL_SIZE"])
    assert slots * per_replica <= max_connections - 3


def test_metrics_and_dashboards_services():
    spec = load_yaml(COMPOSE)
    prometheus, grafana = spec["services"]["prometheus"], spec["services"]["grafana"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in prometheus["volumes"]}
    assert mounts["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    assert mounts["/etc/prometheus/alerts.yml"] == "./prometheus/alerts.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    assert mounts["/etc/grafana/dashboards"] == "./grafana/dashboards"
    for source in list(mounts.values()):
        assert not source.startswith(".") or (DEPLOY / source).exists(), source
