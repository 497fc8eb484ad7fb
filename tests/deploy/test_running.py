"""The deployments' own command and environment start the real service.

Each test takes a container's command and environment from the deployment files (the Compose
service, with its env file from the committed example; the rendered Kubernetes Deployment, with its
ConfigMap and the example Secret) and changes only what must differ on this machine: the listening
address and port (127.0.0.1 and a free one), PostgreSQL's host, port and database (the local server,
a fresh database owned by the deployment's database user), and /data and /tmp (temporary
directories). Then the service must be ready, take a run and a batch with the deployment's API key,
record them in that database, and expose its metrics.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from ..databases import POSTGRES_HOST, POSTGRES_PORT, _admin, postgres_database
from ..ops.server import Server, running_server
from ..test_server import free_port
from .manifests import (
    COMPOSE,
    COMPOSE_SQLITE,
    DEPLOY,
    SERVICE,
    Container,
    compose_container,
    kubernetes_container,
    load_yaml,
    render,
    seconds,
    tool,
)

pytestmark = pytest.mark.slow


@contextmanager
def local_postgres(url: str) -> Iterator[str]:
    """``url`` with the local server's host and port and a fresh database owned by the URL's user
    (created for the test when it does not exist, as the deployment's database has it)."""
    parsed = make_url(url)
    assert parsed.username
    with _admin() as admin:
        role = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (parsed.username,)).fetchone()
        created = role is None
        if created:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(parsed.username), sql.Literal(parsed.password)
                )
            )
    try:
        with postgres_database() as name:
            with _admin() as admin:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                        sql.Identifier(name), sql.Identifier(parsed.username)
                    )
                )
            yield parsed.set(host=POSTGRES_HOST, port=POSTGRES_PORT, database=name).render_as_string(
                hide_password=False
            )
    finally:
        if created:
            with _admin() as admin:
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(parsed.username)))


@contextmanager
def serving(container: Container, database_url: str, tmp_path: Path) -> Iterator[Server]:
    """The container's command with its environment, but for what must differ here."""
    python, *arguments = container.command
    assert python == "python", container.command  # the image's interpreter; here this environment's
    environment = dict(container.environment)
    assert environment.pop("LOSS_SERVICE_HOST") == "0.0.0.0"  # here: 127.0.0.1 (running_server)
    assert environment.pop("LOSS_SERVICE_PORT") == "8000"  # here: a free port (running_server)
    environment["LOSS_SERVICE_DATABASE_URL"] = database_url
    environment["TMPDIR"] = str(tmp_path / "tmp")  # the container's /tmp
    for directory in ("work", "tmp", "data"):
        (tmp_path / directory).mkdir()
    with running_server(cwd=str(tmp_path / "work"), raw_env=environment, arguments=arguments) as server:
        yield server
    # A read-only root: nothing was written outside /tmp and /data.
    assert list((tmp_path / "work").iterdir()) == []


def exercise(server: Server, container: Container) -> None:
    base = server.base
    assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    keys = container.environment["LOSS_SERVICE_API_KEYS"].split(",")
    assert httpx.get(f"{base}/v1/losses", timeout=10).status_code == 401, "the API keys are in force"
    for key in keys:
        headers = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{base}/v1/losses/mse", headers=headers, timeout=10).status_code == 200
    headers = {"Authorization": f"Bearer {keys[0]}"}
    run = f"{base}/v1/runs/deployment-check"
    created = httpx.put(run, json={"losses": ["mse"]}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    batch = {"predictions": [0.5, 1.0], "targets": [0.0, 1.0], "split": "validation", "step": 1}
    posted = httpx.post(f"{run}/batches", json=batch, headers=headers, timeout=10)
    assert posted.status_code == 201, posted.text
    assert posted.json()["results"][0]["value"] == pytest.approx(0.125)
    metrics = httpx.get(f"{base}/metrics", timeout=10)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'loss_service_batches_recorded_total{outcome="recorded"} 1.0' in metrics.text
    assert 'route="/v1/runs/{run}/batches",status="201"' in metrics.text
    # The run metrics (LOSS_SERVICE_METRICS_*), computed from the database for this scrape.
    labels = 'loss="mean_squared_error",run="deployment-check",split="validation"'
    assert f"loss_service_run_step_value{{{labels}}} 0.125" in metrics.text
    # LOSS_SERVICE_LOG_FORMAT=json: every line of the log is one JSON object.
    lines = [line for line in server.log().splitlines() if line.strip()]
    assert lines and all(isinstance(json.loads(line), dict) for line in lines), server.log()


def recorded_runs(url: str) -> list[tuple[str, int]]:
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database, connect_timeout=3
    ) as connection:
        return [tuple(row) for row in connection.execute("SELECT name, batches FROM runs").fetchall()]


def stop(server: Server) -> float:
    """SIGTERM: /readyz turns 503 at once while requests are still served; the seconds to exit."""
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert httpx.get(f"{server.base}/readyz", timeout=5).status_code == 503
    assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
    server.process.wait(timeout=120)
    return time.monotonic() - started


def test_compose_service_starts_on_postgresql(tmp_path):
    container = compose_container(COMPOSE)
    spec = load_yaml(COMPOSE)["services"][SERVICE]
    with local_postgres(container.environment["LOSS_SERVICE_DATABASE_URL"]) as url:
        with serving(container, url, tmp_path) as server:
            exercise(server, container)
            assert recorded_runs(url) == [("deployment-check", 1)]
            # The health check command of the compose file, against this server.
            *_, code = spec["healthcheck"]["test"]
            probe = code.replace(":8000/", f":{server.port}/")
            assert probe != code
            assert subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 0
            elapsed = stop(server)
    # Docker's stop timeout covers what the process really took after SIGTERM.
    drain = float(container.environment["LOSS_SERVICE_SHUTDOWN_DRAIN_SECONDS"])
    assert drain <= elapsed < seconds(spec["stop_grace_period"])


def test_compose_sqlite_service_keeps_its_history_in_data(tmp_path):
    container = compose_container(COMPOSE_SQLITE)
    url = container.environment["LOSS_SERVICE_DATABASE_URL"]
    assert url == "sqlite:////data/loss-service.db"
    local = url.replace("////data/", f"///{tmp_path / 'data'}/", 1)
    with serving(container, local, tmp_path) as server:
        exercise(server, container)
    assert (tmp_path / "data" / "loss-service.db").exists()
    assert list((tmp_path / "tmp").iterdir()) == [], "the metrics directory of the workers is removed"


def test_kubernetes_container_starts_on_postgresql(tmp_path):
    resources = render("base")
    container = kubernetes_container(resources)
    (deployment,) = [r for r in resources if r["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (spec,) = pod["containers"]
    with local_postgres(container.environment["LOSS_SERVICE_DATABASE_URL"]) as url:
        with serving(container, url, tmp_path) as server:
            exercise(server, container)
            assert recorded_runs(url) == [("deployment-check", 1)]
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                path = spec[probe]["httpGet"]["path"]
                answer = httpx.get(f"{server.base}{path}", timeout=spec[probe]["timeoutSeconds"])
                assert answer.status_code == 200, probe
            elapsed = stop(server)
    # The pod's grace period covers preStop plus what the process really took after SIGTERM.
    drain = float(container.environment["LOSS_SERVICE_SHUTDOWN_DRAIN_SECONDS"])
    pre_stop = spec["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert drain <= elapsed and pre_stop + elapsed < pod["terminationGracePeriodSeconds"]


@contextmanager
def proxy_in_front_of(server: Server, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """deploy/haproxy/haproxy.cfg with its listening port and its replicas' address changed to this
    machine's (Docker's DNS name loss-service:8000 becomes the test server's address): the public
    base URL and the metrics one."""
    text = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    port, metrics_port = free_port(), free_port()
    local = text.replace("    bind :8000\n", f"    bind 127.0.0.1:{port}\n")
    local = local.replace("    bind :8001\n", f"    bind 127.0.0.1:{metrics_port}\n")
    local = local.replace(f" {SERVICE}:8000 ", f" 127.0.0.1:{server.port} ")
    assert local.count(f"127.0.0.1:{server.port}") == 1 and f"127.0.0.1:{metrics_port}" in local
    config = tmp_path / "haproxy.cfg"
    config.write_text(local)
    log = (tmp_path / "haproxy.log").open("wb")
    haproxy = tool("haproxy", "Debian's haproxy, installed by .ci/run")
    process = subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # until the proxy's health checks have found the replica ready (rise 2)
            assert process.poll() is None, (tmp_path / "haproxy.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "haproxy.log").read_text()
            time.sleep(0.1)
        yield base, f"http://127.0.0.1:{metrics_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_the_compose_proxy_drains_replicas_without_failing_a_request(tmp_path):
    """Behind the compose file's HAProxy: requests pass with the API key, /metrics is not public, and
    when a replica is stopped the proxy takes it out while it is still serving (its drain), so no
    request meets a closed socket."""
    container = compose_container(COMPOSE)
    with local_postgres(container.environment["LOSS_SERVICE_DATABASE_URL"]) as url:
        with serving(container, url, tmp_path) as server, proxy_in_front_of(server, tmp_path) as proxies:
            proxy, metrics = proxies
            key = container.environment["LOSS_SERVICE_API_KEYS"].split(",")[0]
            headers = {"Authorization": f"Bearer {key}"}
            assert httpx.get(f"{proxy}/v1/losses/mse", headers=headers, timeout=10).status_code == 200
            assert httpx.get(f"{proxy}/v1/losses/mse", timeout=10).status_code == 401
            assert httpx.get(f"{proxy}/metrics", timeout=10).status_code == 404
            assert httpx.get(f"{server.base}/metrics", timeout=10).status_code == 200
            # The metrics port (Prometheus's, inside the compose network) serves /metrics only.
            scraped = httpx.get(f"{metrics}/metrics", timeout=10)
            assert scraped.status_code == 200 and "loss_service_history_up 1.0" in scraped.text
            assert httpx.get(f"{metrics}/v1/losses/mse", headers=headers, timeout=10).status_code == 404

            drain = float(container.environment["LOSS_SERVICE_SHUTDOWN_DRAIN_SECONDS"])
            server.process.send_signal(signal.SIGTERM)
            started, answers = time.monotonic(), []
            while time.monotonic() - started < drain + 2:
                answer = httpx.get(f"{proxy}/v1/losses/mse", headers=headers, timeout=10)
                answers.append((time.monotonic() - started, answer.status_code))
                time.sleep(0.1)
            server.process.wait(timeout=60)
    statuses = [status for _, status in answers]
    # Served until the proxy noticed, then the proxy's own 503 (no replica left): never a 502.
    assert set(statuses) <= {200, 503}, answers
    assert statuses[0] == 200 and statuses[-1] == 503, answers
    first_refusal = next(at for at, status in answers if status == 503)
    assert first_refusal < drain, "the proxy took the replica out before its socket closed"
    assert statuses == sorted(statuses), answers
