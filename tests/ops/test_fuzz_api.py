"""Schemathesis, as a client would run it, against a real server: every operation of the served
document, every check, every phase (coverage, fuzzing, stateful), NPZ bodies included.

``st run URL/v1/openapi.json --checks all`` with the configuration in ``schemathesis.toml`` and the
extensions in ``schemathesis_hooks.py`` (an NPZ strategy, and the check that schema-valid requests
are refused only for constraints between values). Deterministic (``--generation-deterministic``)
and bounded (100 examples per operation, a timeout); it fails on any failure Schemathesis reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.openapi_document import DOCUMENT

from .server import running_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
HERE = Path(__file__).parent


def test_schemathesis_finds_nothing_with_every_check(tmp_path):
    with running_server(log_level="warning") as server:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "st"),
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"{server.base}/v1/openapi.json",
                "--checks",
                "all",
                "--generation-deterministic",
                "--max-examples",
                "100",
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,  # Schemathesis keeps its cache in the working directory
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.ops.schemathesis_hooks",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert "Traceback" not in server.log()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-3000:]
    operations = sum(len(ops) for ops in json.loads(DOCUMENT.read_text())["paths"].values())
    assert f"Tested: {operations}" in output, output[-3000:]  # every operation of the document
