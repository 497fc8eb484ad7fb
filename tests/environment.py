"""What the tests need from the machine, and what happens when it is missing.

Tests that need a real component (a PostgreSQL server, Chromium) call ``require(...)`` when it is
absent: locally that skips the test with the reason shown in pytest's summary; with
``LOSS_SERVICE_TEST_STRICT=1`` (set by ``.ci/run``) it fails instead, so that CI can never pass
without those tests having run.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

STRICT_VARIABLE = "LOSS_SERVICE_TEST_STRICT"


def strict() -> bool:
    return os.environ.get(STRICT_VARIABLE, "") not in ("", "0")


def require(reason: str) -> NoReturn:
    """Skip (locally) or fail (under ``LOSS_SERVICE_TEST_STRICT=1``): a required component is missing."""
    if strict():
        pytest.fail(f"{reason} ({STRICT_VARIABLE}=1 turns this skip into a failure)", pytrace=False)
    pytest.skip(reason)
