"""``loss-service`` against a real server process: output, exit statuses, --local, serving."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from service.cli import app

from ..client.conftest import API_KEY
from ..test_server import free_port

ROOT = Path(__file__).parents[2]


@pytest.fixture
def run(server):
    """``run(*args, input=None)``: the command's result, talking to the test server."""
    runner = CliRunner()

    def invoke(*args: str, input: bytes | None = None):
        environment = {"LOSS_SERVICE_URL": server.base, "LOSS_SERVICE_API_KEY": API_KEY}
        return runner.invoke(app, list(args), env=environment, input=input)

    return invoke


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    p, t, w = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)), rng.uniform(size=300)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "w.npy", w)
    np.savetxt(tmp_path / "t.csv", t, delimiter=",")
    return tmp_path, p, t, w


def api(server, body):
    response = httpx.post(
        f"{server.base}/v1/evaluate", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    return response.json()


def test_evaluate_json_is_the_apis_answer(run, server, files):
    path, p, t, w = files
    result = run(
        "evaluate",
        str(path / "p.npy"),
        str(path / "t.csv"),
        "--loss",
        "mse",
        "-l",
        "huber:delta=0.5",
        "--weights",
        str(path / "w.npy"),
        "--include",
        "stats,per_sample",
        "--include",
        "gradient",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    expected = api(
        server,
        {
            "losses": ["mse", {"name": "huber", "delta": 0.5}],
            "predictions": p.tolist(),
            "targets": t.tolist(),
            "weights": w.tolist(),
            "include": ["stats", "per_sample", "gradient"],
        },
    )
    assert json.loads(result.stdout) == expected


def test_local_equals_remote(run, files):
    path, *_ = files
    args = [
        "evaluate",
        str(path / "p.npy"),
        str(path / "t.npy"),
        "-l",
        "log_cosh",
        "-l",
        "mae",
        "--include",
        "stats,per_sample,gradient,breakdown,inputs",
        "--format",
        "json",
    ]
    remote, local = run(*args), run(*args, "--local")
    assert remote.exit_code == local.exit_code == 0
    assert local.stdout == remote.stdout
    curve = ["curve", "huber:delta=0.5", "huber:delta=2", "--format", "json"]
    assert run(*curve).stdout == run(*curve, "--local").stdout


def test_evaluate_table_and_stdin(run, files):
    path, p, t, _ = files
    buffer = io.BytesIO()
    np.save(buffer, p)
    result = run("evaluate", "-", str(path / "t.npy"), "-l", "mse", input=buffer.getvalue())
    assert result.exit_code == 0, result.stderr
    assert "mean_squared_error" in result.stdout and "300 samples" in result.stdout
    result = run("evaluate", str(path / "p.npy"), str(path / "t.npy"), "-l", "mse", "--include", "per_sample")
    assert "arrays not shown" in result.stderr and "(300,)" in result.stderr


def test_problem_answer_exits_1_with_title_and_detail(run, files):
    path, *_ = files
    result = run("evaluate", str(path / "p.npy"), str(path / "t.npy"), "-l", "huber:delta=-1")
    assert result.exit_code == 1
    assert (
        "422 Request does not match the contract" in result.stderr and "body.losses[0].delta" in result.stderr
    )
    assert result.stdout == ""
    result = run("losses", "nonsense")
    assert result.exit_code == 1 and "404 Unknown loss" in result.stderr
    unreachable = CliRunner().invoke(app, ["losses", "--url", f"http://127.0.0.1:{free_port()}"])
    assert unreachable.exit_code == 1 and "cannot reach the service" in unreachable.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-l", "huber:delta"], "not param=value"),
        ([], "at least one --loss"),
        (["-l", "mse", "--weights", "missing.npy"], "no such file"),
        (["-l", "mse", "--weights", "t.npy"], "weights"),
    ],
)
def test_usage_errors_exit_2_before_sending(run, files, args, message, monkeypatch):
    path, *_ = files
    monkeypatch.chdir(path)
    result = run("evaluate", "p.npy", "t.npy", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_shape_mismatch_is_found_before_sending(run, files):
    path, p, *_ = files
    np.save(path / "short.npy", p[:-1])
    result = run("evaluate", str(path / "p.npy"), str(path / "short.npy"), "-l", "mse")
    assert result.exit_code == 2 and "one row per sample" in result.stderr


def test_parquet_needs_pyarrow(run, files, monkeypatch):
    path, *_ = files
    (path / "p.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = run("evaluate", str(path / "p.parquet"), str(path / "t.npy"), "-l", "mse")
    assert result.exit_code == 2 and "pip install pyarrow" in result.stderr


def test_parquet_file(run, files):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path, p, t, _ = files
    pq.write_table(pyarrow.table({"prediction": p[:, 0], "target": t[:, 0]}), path / "d.parquet")
    result = run(
        "evaluate",
        f"{path / 'd.parquet'}:prediction",
        f"{path / 'd.parquet'}:target",
        "-l",
        "mae",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["value"] == pytest.approx(np.abs(p[:, 0] - t[:, 0]).mean())


def test_losses_and_curve(run, server):
    catalogue = run("losses", "--format", "json")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    assert json.loads(catalogue.stdout) == httpx.get(f"{server.base}/v1/losses", headers=headers).json()
    table = run("losses")
    assert table.exit_code == 0 and "mean_squared_error" in table.stdout and "huber" in table.stdout
    entry = run("losses", "l1")
    assert entry.exit_code == 0 and "mean_absolute_error" in entry.stdout and "sklearn" in entry.stdout
    curve = run("curve", "huber:delta=0.5", "huber:delta=2", "--num", "5", "--start", "-2", "--stop", "2")
    assert curve.exit_code == 0 and "delta=0.5" in curve.stdout and "delta=2.0" in curve.stdout
    assert run("curve", "mae", "mse").exit_code == 2


def test_openapi_writes_the_committed_document(tmp_path):
    result = CliRunner().invoke(app, ["openapi", "--output", str(tmp_path / "v1.json")])
    assert result.exit_code == 0
    assert (tmp_path / "v1.json").read_bytes() == (ROOT / "openapi" / "v1.json").read_bytes()


def test_console_script_serves_with_no_command(tmp_path):
    """``loss-service`` alone serves as ``python -m service`` does."""
    port = free_port()
    script = Path(sys.executable).parent / "loss-service"
    environment = dict(os.environ, LOSS_SERVICE_HOST="127.0.0.1", LOSS_SERVICE_PORT=str(port))
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen([str(script)], env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "log").read_text()
            time.sleep(0.1)
        assert (
            httpx.get(f"http://127.0.0.1:{port}/v1/losses/mse", timeout=5).json()["name"]
            == "mean_squared_error"
        )
    finally:
        process.terminate()
        assert process.wait(timeout=20) in (0, -15, 143)
