"""``loss-service runs ...`` against a real server process, and ``loss-service db upgrade``."""

from __future__ import annotations

import json
import uuid

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.store import connect
from service.store import migrate as migrations

from ..client.conftest import API_KEY
from ..test_server import free_port


@pytest.fixture
def run(server):
    runner = CliRunner()

    def invoke(*args: str, input: bytes | None = None):
        environment = {"LOSS_SERVICE_URL": server.base, "LOSS_SERVICE_API_KEY": API_KEY}
        return runner.invoke(app, list(args), env=environment, input=input)

    return invoke


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        yield client


@pytest.fixture
def name(api):
    run_name = f"cli-{uuid.uuid4().hex[:12]}"
    yield run_name
    api.delete(f"/v1/runs/{run_name}")


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    for step in range(3):
        np.save(tmp_path / f"p{step}.npy", rng.normal(size=200))
        np.save(tmp_path / f"t{step}.npy", rng.normal(size=200))
    np.save(tmp_path / "w.npy", rng.uniform(0.5, 1.5, size=200))
    np.savetxt(tmp_path / "t0.csv", np.load(tmp_path / "t0.npy"), delimiter=",")
    return tmp_path


def test_a_person_logs_files_to_a_run_and_reads_its_summary(run, api, name, files):
    created = run("runs", "create", name, "-l", "mse", "-l", "huber:delta=0.5", "--tag", "team=vision")
    assert created.exit_code == 0, created.stderr
    assert f"created run {name}" in created.stderr and "huber(delta=0.5)" in created.stdout
    for step in range(3):
        logged = run(
            "runs", "log", name, str(files / f"p{step}.npy"), str(files / f"t{step}.npy"),
            "--split", "train", "--step", str(step),
        )  # fmt: skip
        assert logged.exit_code == 0, logged.stderr
        assert "mean_squared_error" in logged.stdout and f"step {step}" in logged.stdout
    table = run("runs", "summary", name)
    assert table.exit_code == 0 and "train" in table.stdout and "0-2" in table.stdout
    summary = run("runs", "summary", name, "--format", "json")
    assert json.loads(summary.stdout) == api.get(f"/v1/runs/{name}/summary").json()
    p = np.concatenate([np.load(files / f"p{step}.npy") for step in range(3)])
    t = np.concatenate([np.load(files / f"t{step}.npy") for step in range(3)])
    figures = json.loads(summary.stdout)["summaries"][0]
    assert figures["count"] == 600 and figures["value"] == pytest.approx(np.mean((p - t) ** 2), rel=1e-9)


def test_json_output_is_the_apis_answer(run, api, name, files):
    created = run("runs", "create", name, "-l", "mae", "--description", "d", "-t", "k:v", "--format", "json")
    assert json.loads(created.stdout) == api.get(f"/v1/runs/{name}").json()
    args = [
        "runs",
        "log",
        name,
        str(files / "p0.npy"),
        str(files / "t0.csv"),
        "--weights",
        str(files / "w.npy"),
    ]
    logged = run(
        *args, "--batch-id", "b-1", "--step", "4", "--include", "stats,per_sample", "--format", "json"
    )
    assert logged.exit_code == 0, logged.stderr
    body = json.loads(logged.stdout)
    assert (body["batch_id"], body["step"], body["split"], body["duplicate"]) == ("b-1", 4, "default", False)
    evaluated = api.post(
        "/v1/evaluate",
        json={
            "losses": ["mae"],
            "predictions": np.load(files / "p0.npy").tolist(),
            "targets": np.load(files / "t0.npy").tolist(),
            "weights": np.load(files / "w.npy").tolist(),
            "include": ["stats", "per_sample"],
        },
    ).json()
    assert body["results"] == evaluated["results"]
    # The same batch again is a duplicate, answered as the API answers a repeat.
    again = run(*args, "--batch-id", "b-1", "--step", "4", "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["duplicate"] is True
    repeat = api.post(
        f"/v1/runs/{name}/batches",
        json={
            "predictions": np.load(files / "p0.npy").tolist(),
            "targets": np.load(files / "t0.npy").tolist(),
            "weights": np.load(files / "w.npy").tolist(),
            "batch_id": "b-1",
            "step": 4,
        },
    ).json()
    assert json.loads(again.stdout) == repeat
    duplicate = run(*args, "--batch-id", "b-1", "--step", "4")
    assert "recorded before: not counted again" in duplicate.stderr
    base = f"/v1/runs/{name}"
    for command, path in [
        (["runs", "show", name], base),
        (["runs", "list", "--tag", "k=v", "--limit", "5"], "/v1/runs?tag=k:v&limit=5"),
        (["runs", "series", name], f"{base}/series"),
        (["runs", "series", name, "--by", "time", "--interval", "1h"], f"{base}/series?by=time&interval=1h"),
        (["runs", "summary", name, "--step-from", "4"], f"{base}/summary?step_from=4"),
        (["runs", "summary", name, "--reduction", "sum"], f"{base}/summary?reduction=sum"),
    ]:  # fmt: skip
        result = run(*command, "--format", "json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == api.get(path).json(), command


def test_tables(run, name, files):
    run("runs", "create", name, "-l", "mse", "-t", "suite=tables")
    for step in range(3):
        run(
            "runs", "log", name, str(files / f"p{step}.npy"), str(files / f"t{step}.npy"), "--step", str(step)
        )
    listed = run("runs", "list", "--tag", "suite=tables")
    assert listed.exit_code == 0 and name in listed.stdout and "suite=tables" in listed.stdout
    shown = run("runs", "show", name)
    assert "batches" in shown.stdout and "mean_squared_error" in shown.stdout
    series = run("runs", "series", name, "--max-points", "2")
    assert series.exit_code == 0 and "0-1" in series.stdout and "2 merged per point" in series.stdout
    by_time = run("runs", "series", name, "--by", "time")
    assert by_time.exit_code == 0 and "start" in by_time.stdout


def test_problems_exit_1_and_usage_errors_exit_2(run, api, name, files):
    assert run("runs", "create", name, "-l", "mse").exit_code == 0
    conflict = run("runs", "create", name, "-l", "mae")
    assert conflict.exit_code == 1 and "409" in conflict.stderr and "body.losses" in conflict.stderr
    assert run("runs", "create", name, "-l", "huber:delta").exit_code == 2
    assert run("runs", "create", name).exit_code == 2  # no loss
    assert run("runs", "create", name, "-l", "mse", "-t", "novalue").exit_code == 2
    missing = run("runs", "log", name, str(files / "nope.npy"), str(files / "t0.npy"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    np.save(files / "short.npy", np.zeros(3))
    short = run("runs", "log", name, str(files / "p0.npy"), str(files / "short.npy"))
    assert short.exit_code == 2 and "one row per sample" in short.stderr
    assert run("runs", "series", name, "--by", "epoch").exit_code == 2
    bad_time = run("runs", "log", name, str(files / "p0.npy"), str(files / "t0.npy"), "--time", "yesterday")
    assert bad_time.exit_code == 1 and "body.time" in bad_time.stderr
    assert api.get(f"/v1/runs/{name}").json()["batches"] == 0  # nothing was recorded by the failures
    deleted = run("runs", "delete", name)
    assert deleted.exit_code == 0 and f"deleted run {name}" in deleted.stderr
    gone = run("runs", "show", name)
    assert gone.exit_code == 1 and "404" in gone.stderr
    assert run("runs", "delete", name).exit_code == 1
    unreachable = CliRunner().invoke(app, ["runs", "list", "--url", f"http://127.0.0.1:{free_port()}"])
    assert unreachable.exit_code == 1 and "cannot reach the service" in unreachable.stderr


def test_db_upgrade_migrates_the_database(database_url):
    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade"], env={"LOSS_SERVICE_DATABASE_URL": database_url})
    assert first.exit_code == 0, first.stderr
    assert f"to {migrations.head()}" in first.stderr
    database = connect(database_url)
    try:
        assert migrations.current(database) == migrations.head()
    finally:
        database.dispose()
    again = runner.invoke(app, ["db", "upgrade", "--database-url", database_url])
    assert again.exit_code == 0 and "nothing to do" in again.stderr


def test_db_upgrade_errors():
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--database-url", "mysql://x/y"]).exit_code == 2
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    result = runner.invoke(app, ["db", "upgrade", "--database-url", down])
    assert result.exit_code == 1 and "cannot migrate" in result.stderr


def test_diagnostics_and_alerts(run, api, name):
    rule = "val-1h:loss=mse,split=validation,window=1h,max=0.3"
    created = run("runs", "create", name, "-l", "mse", "--alert", rule, "--format", "json")
    assert created.exit_code == 0, created.stderr
    (stored,) = json.loads(created.stdout)["alerts"]
    assert (stored["name"], stored["loss"], stored["split"]) == ("val-1h", "mean_squared_error", "validation")
    assert (stored["window"], stored["max"], stored["reduction"]) == (3600, 0.3, "mean")
    for split, values in (("train", [1.0, 0.5, 0.3, 0.2]), ("validation", [1.0, 0.4, 0.5, 0.6])):
        for step, value in enumerate(values):
            api.post(
                f"/v1/runs/{name}/batches",
                json={"predictions": [value**0.5], "targets": [0.0], "split": split, "step": step},
            ).raise_for_status()
    answer = run("runs", "diagnostics", name, "--patience", "2", "--format", "json")
    assert answer.exit_code == 0, answer.stderr
    assert json.loads(answer.stdout) == api.get(f"/v1/runs/{name}/diagnostics?patience=2").json()
    assert json.loads(answer.stdout)["status"] == "overfitting"
    table = run("runs", "diagnostics", name, "--patience", "2", "--loss", "l2")
    assert table.exit_code == 0 and "overfitting" in table.stdout and "alert val-1h" in table.stdout
    assert "validation" in table.stdout and "train" in table.stdout
    shown = run("runs", "show", name)
    assert "alerts" in shown.stdout and "val-1h" in shown.stdout and "latest" in shown.stdout
    bad = run("runs", "diagnostics", name, "--split", "no spaces")
    assert bad.exit_code == 1 and "422" in bad.stderr
    assert run("runs", "create", name, "-l", "mse", "--alert", "no-fields").exit_code == 2
    refused = run("runs", "create", name, "-l", "mse", "--alert", "r:loss=mse,window=1h,max=x")
    assert refused.exit_code == 1 and "body.alerts" in refused.stderr
