"""``python -m service.openapi_document``: writes and checks the committed document; no import cycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from service import openapi_document

ROOT = Path(__file__).parents[1]


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.openapi_document", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_passes_on_the_committed_document_and_fails_on_a_stale_one(tmp_path):
    assert run("--check").returncode == 0
    stale = tmp_path / "v1.json"
    stale.write_bytes(openapi_document.DOCUMENT.read_bytes().replace(b"Loss service", b"Stale service"))
    result = run("--check", "--path", str(stale))
    assert result.returncode == 1 and "out of date" in result.stderr


def test_write_produces_the_committed_bytes(tmp_path):
    target = tmp_path / "v1.json"
    assert openapi_document.write_document(target) is True
    assert target.read_bytes() == openapi_document.DOCUMENT.read_bytes()
    assert openapi_document.write_document(target) is False
    assert openapi_document.check_document(target)
