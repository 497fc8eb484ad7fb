"""openapi-python-client (pinned in the test extra) generates every operation of openapi/v1.json
without a warning, and the generated client evaluates requests against a real server."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from service.openapi_document import DOCUMENT

from ..ops.server import running_server

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
PACKAGE = "loss_service_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("python-client") / PACKAGE
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(DOCUMENT),
            "--config",
            str(HERE / "openapi-python-client.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 0, "\n".join(output)
    assert output == [f"Generating {target}"], "the generator warned:\n" + "\n".join(output)
    sys.path.insert(0, str(target.parent))
    try:
        yield target
    finally:
        sys.path.remove(str(target.parent))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def operation(name: str, tag: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


def test_every_operation_is_generated(generated):
    document = json.loads(DOCUMENT.read_text())
    for operations in document["paths"].values():
        for spec in operations.values():
            module = generated / "api" / spec["tags"][0] / f"{spec['operationId']}.py"
            assert module.exists(), f"{spec['operationId']} was not generated"


def test_the_generated_client_evaluates_and_reads_the_value(generated):
    client_module = importlib.import_module(f"{PACKAGE}.client")
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")
    evaluate = operation("evaluate", "evaluation")
    curve = operation("loss_curve", "catalogue")
    request = {
        "losses": ["mse", {"name": "huber", "delta": 0.5}],
        "predictions": [0.5, 2.0],
        "targets": [0.0, 1.0],
    }
    buffer = io.BytesIO()
    np.savez(buffer, predictions=np.array(request["predictions"]), targets=np.array(request["targets"]))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("request.json", json.dumps({"losses": request["losses"]}))
    with running_server() as server:
        with client_module.Client(base_url=server.base, raise_on_unexpected_status=True) as client:
            answer = evaluate.sync(client=client, body=models.EvaluateRequest.from_dict(request))
            assert isinstance(answer, models.EvaluateResponse), answer
            assert answer.results[0].value == pytest.approx((0.5**2 + 1.0**2) / 2)
            assert answer.results[1].loss == "huber" and answer.results[1].params["delta"] == 0.5
            from_npz = evaluate.sync(client=client, body=types.File(payload=io.BytesIO(buffer.getvalue())))
            assert from_npz.results[0].value == answer.results[0].value
            problem = evaluate.sync(
                client=client, body=models.EvaluateRequest.from_dict({**request, "targets": [0.0]})
            )
            assert isinstance(problem, models.ProblemDetails) and problem.status == 422
            drawn = curve.sync(
                name=models.LossCurveName.RMSE, client=client, body=models.CurveRequest.from_dict({"num": 3})
            )
            assert drawn.curves[0].value == [3.0, 0.0, 3.0]
