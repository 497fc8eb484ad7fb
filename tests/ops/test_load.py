"""The load script, briefly: mixed requests against a two-worker server, and zero errors."""

from __future__ import annotations

import json

import pytest

from benchmarks import load

pytestmark = pytest.mark.slow


def test_a_short_mixed_load_has_no_errors(capsys):
    status = load.main(["--duration", "3", "--connections", "16", "--workers", "2"])
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert status == 0 and result["errors"] == 0, result["error_kinds"]
    assert result["requests"] > 100
