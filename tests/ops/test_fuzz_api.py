"""Schemathesis against the served OpenAPI document: no 5xx, and every response matches its schema.

Deterministic (Hypothesis derandomised, a fixed number of examples per operation) and bounded, so
that CI never fails by chance and the whole fuzz stays well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app
from service.config import Settings

# Small limits, so that generated bodies also exercise the 413 paths.
app = create_app(Settings(max_body_bytes=64 * 1024, max_elements=1000))
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", app)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
# Binary bodies (application/x-npz) have no generator here; the JSON forms are fuzzed.
@pytest.mark.filterwarnings("ignore:Skipped test cases with unsupported payload media types")
@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_no_server_errors_and_responses_match_the_schema(case):
    case.call_and_validate(checks=CHECKS)
