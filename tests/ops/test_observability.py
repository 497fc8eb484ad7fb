"""Auth, CORS, gzip, request ids, JSON logs and Prometheus metrics, on a real two-worker server."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from .server import running_server

pytestmark = pytest.mark.slow

KEY = "s3cret-key-0123456789"
SMALL = {"losses": ["mse", "huber"], "predictions": [0.1, 0.9, 0.3], "targets": [0.0, 1.0, 0.0]}


def samples(text: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of one metric family in a Prometheus exposition."""
    found = {}
    for line in text.splitlines():
        match = re.match(rf"^{name}(\{{.*\}})? (\S+)$", line)
        if match:
            found[match.group(1) or ""] = float(match.group(2))
    return found


def test_auth_request_ids_logs_and_metrics_across_workers():
    with running_server(
        workers="2",
        api_keys=f"other-key,{KEY}",
        log_format="json",
        log_level="debug",
        cors_origins="https://dash.example",
        gzip_min_bytes="1000",
    ) as server:
        auth = {"authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=server.base, timeout=10) as client:
            # Authentication: 401 problem with WWW-Authenticate; operations endpoints stay open.
            for headers in ({}, {"authorization": "Bearer wrong-key"}, {"authorization": KEY}):
                response = client.post("/v1/evaluate", json=SMALL, headers=headers)
                assert response.status_code == 401
                assert response.headers["www-authenticate"].startswith("Bearer")
                assert response.headers["content-type"] == "application/problem+json"
            for path in ("/healthz", "/readyz", "/metrics"):
                assert client.get(path).status_code == 200

            # Request ids: accepted when sane, generated otherwise, always echoed.
            response = client.post("/v1/evaluate", json=SMALL, headers={**auth, "x-request-id": "abc-123"})
            assert response.status_code == 200 and response.headers["x-request-id"] == "abc-123"
            generated = client.get("/v1/losses/mse", headers=auth).headers["x-request-id"]
            assert re.fullmatch(r"[0-9a-f]{32}", generated)
            hostile = client.get("/healthz", headers={"x-request-id": "a b;" * 60})
            assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])

            # CORS: the allowed origin only; gzip above the threshold for clients that accept it.
            preflight = {"origin": "https://dash.example", "access-control-request-method": "POST"}
            allowed = client.options("/v1/evaluate", headers=preflight)
            assert allowed.headers["access-control-allow-origin"] == "https://dash.example"
            denied = client.options("/v1/evaluate", headers={**preflight, "origin": "https://evil.example"})
            assert "access-control-allow-origin" not in denied.headers
            catalogue = client.get("/v1/losses", headers={**auth, "accept-encoding": "gzip"})
            assert catalogue.headers["content-encoding"] == "gzip" and catalogue.json()["losses"]
            assert (
                "content-encoding" not in client.get("/healthz", headers={"accept-encoding": "gzip"}).headers
            )

            # Enough fresh connections that both workers serve some.
            evaluations = 40
            for _ in range(evaluations - 1):
                with httpx.Client(base_url=server.base, timeout=10) as fresh:
                    response = fresh.post("/v1/evaluate", json=SMALL, headers=auth)
                    assert response.status_code == 200
            for name in ("mse", "huber", "not-a-loss"):
                client.get(f"/v1/losses/{name}", headers=auth)
            exposition = client.get("/metrics").text

        log = server.log()

    # Metrics from every worker, aggregated; routes are templates, never raw paths.
    requests = samples(exposition, "loss_service_http_requests_total")
    evaluate_ok = requests['{method="POST",route="/v1/evaluate",status="200"}']
    assert evaluate_ok == evaluations
    assert requests['{method="POST",route="/v1/evaluate",status="401"}'] == 3
    assert requests['{method="GET",route="/v1/losses/{name}",status="404"}'] == 1, requests
    assert not any("/v1/losses/mse" in labels or "not-a-loss" in labels for labels in requests)
    evaluations_by_loss = samples(exposition, "loss_service_evaluations_total")
    assert evaluations_by_loss['{loss="mean_squared_error"}'] == evaluations
    assert samples(exposition, "loss_service_elements_evaluated_total")['{loss="huber"}'] == 3 * evaluations
    stages = samples(exposition, "loss_service_stage_seconds_count")
    for stage in ("decode", "compute", "encode"):
        assert stages[f'{{stage="{stage}"}}'] == evaluations
    latency = samples(exposition, "loss_service_http_request_duration_seconds_count")
    assert latency['{method="POST",route="/v1/evaluate"}'] == evaluations + 3
    body_bytes = samples(exposition, "loss_service_http_request_body_bytes_sum")
    assert body_bytes['{route="/v1/evaluate"}'] > evaluations * 50

    # Logs: one JSON object per line, each access line with its request id; keys never logged.
    lines = [line for line in log.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert all("request_id" in entry and "level" in entry for entry in entries)
    access = [e for e in entries if e["logger"] == "service.access"]
    assert any(e["request_id"] == "abc-123" and e["route"] == "/v1/evaluate" for e in access)
    assert KEY not in log and "wrong-key" not in log and "other-key" not in log
    assert "authorization" not in log.lower()
