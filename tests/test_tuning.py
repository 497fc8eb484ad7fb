"""service.tuning: the process settings ``python -m service`` applies before NumPy loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from service import tuning

PROBE = (
    "from service import tuning; tuning.apply(); import os, json; "
    "print(json.dumps({k: os.environ[k] for k in [*tuning.MALLOC_ENVIRONMENT, *tuning.THREAD_VARIABLES]}))"
)


def run_probe(**overrides: str) -> dict[str, str]:
    names = [*tuning.MALLOC_ENVIRONMENT, *tuning.THREAD_VARIABLES]
    env = {k: v for k, v in os.environ.items() if k not in names} | overrides
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_are_set_for_this_process_and_its_workers():
    seen = run_probe()
    assert seen["MALLOC_ARENA_MAX"] == "2"
    assert seen["MALLOC_TRIM_THRESHOLD_"] == str(4 * 2**30)
    assert all(seen[name] == "1" for name in tuning.THREAD_VARIABLES)


def test_an_operators_values_win():
    seen = run_probe(MALLOC_ARENA_MAX="4", OPENBLAS_NUM_THREADS="2")
    assert seen["MALLOC_ARENA_MAX"] == "4" and seen["OPENBLAS_NUM_THREADS"] == "2"
