"""The Dockerfile: hadolint-clean, and the exact commands it runs work (no Docker engine needed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from .ops.server import running_server
from .test_server import start_server, stop_server

ROOT = Path(__file__).parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def exec_form(instruction: str) -> list[str]:
    """The JSON exec-form argument list of the last CMD or HEALTHCHECK CMD in the Dockerfile."""
    joined = DOCKERFILE.replace("\\\n", " ")
    pattern = r"^CMD\s+(\[.*\])$" if instruction == "CMD" else r"^HEALTHCHECK\s.*?CMD\s+(\[.*\])$"
    matches = re.findall(pattern, joined, flags=re.MULTILINE)
    assert matches, f"no {instruction} in exec form"
    return json.loads(matches[-1])


def test_hadolint_is_clean():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", "-"],
        input=DOCKERFILE.encode(),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_image_essentials():
    assert re.search(r"^FROM .* AS build$", DOCKERFILE, flags=re.MULTILINE), "multi-stage build"
    assert re.search(r"^USER 10001$", DOCKERFILE, flags=re.MULTILINE), "non-root user"
    assert "LOSS_SERVICE_HOST=0.0.0.0" in DOCKERFILE
    assert re.search(r"^EXPOSE 8000$", DOCKERFILE, flags=re.MULTILINE)
    # Dependencies are installed before the source is copied, so source edits reuse that layer.
    assert DOCKERFILE.index("pip install --no-cache-dir .") < DOCKERFILE.index("COPY service ./service")


def test_cmd_and_healthcheck_commands_work():
    command = exec_form("CMD")
    assert command == ["python", "-m", "service"]
    process, base = start_server([sys.executable, *command[1:]])
    try:
        assert httpx.get(f"{base}/healthz").status_code == 200
        probe = exec_form("HEALTHCHECK")
        assert probe[0] == "python"
        port = base.rsplit(":", 1)[1]
        result = subprocess.run([sys.executable, *probe[1:]], env={"LOSS_SERVICE_PORT": port}, timeout=30)
        assert result.returncode == 0
    finally:
        stop_server(process)
    result = subprocess.run(
        [sys.executable, *probe[1:]], env={"LOSS_SERVICE_PORT": port}, timeout=30, capture_output=True
    )
    assert result.returncode != 0, "the health probe must fail when the service is down"


def image_database_url() -> str:
    (url,) = re.findall(r"LOSS_SERVICE_DATABASE_URL=(\S+)", DOCKERFILE)
    return url


def test_writes_nothing_outside_the_temp_dir_and_the_data_volume(tmp_path):
    """Read-only-root friendly: with two workers, a run writes only under TMPDIR (/tmp in the image)
    and in the data volume that holds the history database (/data in the image)."""
    assert re.search(r'^VOLUME \["/data"\]$', DOCKERFILE, flags=re.MULTILINE)
    url = image_database_url()
    assert url.startswith("sqlite:////data/")
    workdir, tmpdir, data = tmp_path / "work", tmp_path / "tmp", tmp_path / "data"
    for directory in (workdir, tmpdir, data):
        directory.mkdir()
    environment = {
        "TMPDIR": str(tmpdir),
        "HOME": str(workdir),
        "PYTHONPATH": str(ROOT),
        "LOSS_SERVICE_DATABASE_URL": url.replace("////data/", f"///{data}/", 1),
    }
    with running_server(cwd=str(workdir), raw_env=environment, workers="2") as server:
        base = server.base
        body = {"losses": ["mse"], "predictions": [0.5, 1.0], "targets": [0.0, 1.0]}
        for _ in range(10):
            assert httpx.post(f"{base}/v1/evaluate", json=body, timeout=10).status_code == 200
        assert httpx.put(f"{base}/v1/runs/r", json={"losses": ["mse"]}, timeout=10).status_code == 201
        batch = {"predictions": [0.5, 1.0], "targets": [0.0, 1.0]}
        assert httpx.post(f"{base}/v1/runs/r/batches", json=batch, timeout=10).status_code == 201
        assert "loss_service_http_requests_total" in httpx.get(f"{base}/metrics", timeout=10).text
        metrics_dirs = list(tmpdir.glob("loss-service-metrics-*"))
        assert len(metrics_dirs) == 1 and list(metrics_dirs[0].glob("*.db"))
    assert list(workdir.iterdir()) == []
    assert list(tmpdir.iterdir()) == [], "the metrics directory is removed at exit"
    assert (data / "loss-service.db").exists()
