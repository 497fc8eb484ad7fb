"""openapi-typescript and openapi-fetch (pinned in tests/clients/package-lock.json): the types of
openapi/v1.json compile under tsc --strict for a call with only predictions, targets and losses, the
compiled call evaluates against a real server, and a wrongly typed call does not compile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service.openapi_document import DOCUMENT

from ..environment import require
from ..ops.server import running_server

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
SOURCES = ("package.json", "package-lock.json", "tsconfig.json", "evaluate.ts", "wrong.ts")
# Fields with defaults are optional in requests: the document lists what is required, and
# openapi-typescript's default would otherwise make every field with a default required.
GENERATOR_OPTIONS = ("--default-non-nullable", "false")


def run(command: list[str], cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The npm project installed once (npm ci) in a temporary directory, with the generated types."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        require("Node.js and npm are needed for the TypeScript client test")
    directory = tmp_path_factory.mktemp("typescript-client")
    for name in SOURCES:
        shutil.copy(HERE / name, directory / name)
    installed = run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], directory)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    generated = run(
        [
            str(directory / "node_modules/.bin/openapi-typescript"),
            str(DOCUMENT),
            "-o",
            "schema.d.ts",
            *GENERATOR_OPTIONS,
        ],
        directory,
    )
    lines = (generated.stdout + generated.stderr).strip().splitlines()
    assert generated.returncode == 0, "\n".join(lines)
    unexpected = [line for line in lines if not line.startswith(("✨ openapi-typescript", "🚀"))]
    assert not unexpected, "the generator warned:\n" + "\n".join(lines)
    return directory


def test_a_call_with_only_the_required_fields_compiles_and_evaluates(project):
    compiled = run([str(project / "node_modules/.bin/tsc"), "-p", "tsconfig.json"], project)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    with running_server() as server:
        called = run(["node", "out/evaluate.js"], project, timeout=60, LOSS_SERVICE_URL=server.base)
    assert called.returncode == 0, called.stdout + called.stderr
    answer = json.loads(called.stdout)
    assert answer == {
        "value": (0.5**2 + 1.0**2) / 2,
        "mean": (0.5**2 + 1.0**2) / 2,
        "losses": ["mean_squared_error", "huber"],
    }


def test_a_wrongly_typed_call_does_not_compile(project):
    options = ["--strict", "--noEmit", "--target", "es2022", "--module", "nodenext", "--lib", "es2022,dom"]
    compiled = run([str(project / "node_modules/.bin/tsc"), *options, "wrong.ts"], project)
    assert compiled.returncode != 0
    assert "'boolean' is not assignable to type" in compiled.stdout, compiled.stdout
    assert "Property 'losses' is missing" in compiled.stdout, compiled.stdout
