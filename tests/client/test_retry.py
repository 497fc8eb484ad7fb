"""Retries through a fault-injecting proxy: idempotent calls survive 503s and dropped connections,
non-idempotent ones are never sent twice, and Retry-After is honoured."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from service.client import AsyncClient, Client, ProblemError, Retry
from service.client.retry import retry_after_seconds

from .conftest import API_KEY
from .proxy import fault_proxy

FAST = Retry(retries=3, backoff=0.01, max_backoff=0.05)
BODY = {"losses": ["mse"], "predictions": [1.0, 2.0], "targets": [0.0, 0.0]}


def test_idempotent_calls_are_retried_after_503_and_dropped_connections(server):
    with fault_proxy(server.base) as proxy, Client(proxy.base, API_KEY, retry=FAST) as client:
        proxy.faults = ["503", "drop", "plain503"]
        assert client.evaluate([1.0, 2.0], [0.0, 0.0], "mse").results[0].value == 2.5
        assert len(proxy.received) == 4 and len(proxy.forwarded) == 1
        proxy.faults = ["drop"]
        assert client.loss("mse").name == "mean_squared_error"
        proxy.faults = ["503"]
        assert client.curve("mae", num=3).curves[0].value.tolist() == [3.0, 0.0, 3.0]


def test_non_idempotent_calls_are_not_retried(server):
    with fault_proxy(server.base) as proxy, Client(proxy.base, API_KEY, retry=FAST) as client:
        proxy.faults = ["503"]
        with pytest.raises(ProblemError) as caught:
            client.request("POST", "/v1/evaluate", BODY)
        assert caught.value.status == 503 and caught.value.detail == "Injected by the test proxy."
        proxy.faults = ["drop"]
        with pytest.raises(httpx.TransportError):
            client.request("POST", "/v1/evaluate", BODY)
        assert len(proxy.received) == 2 and proxy.forwarded == []
        # The caller may declare a call idempotent.
        proxy.faults = ["503"]
        assert client.request("POST", "/v1/evaluate", BODY, idempotent=True)["results"][0]["value"] == 2.5


def test_retries_run_out(server):
    with fault_proxy(server.base) as proxy, Client(proxy.base, API_KEY, retry=FAST) as client:
        proxy.faults = ["plain503"] * 4
        with pytest.raises(ProblemError) as caught:
            client.losses()
        assert len(proxy.received) == 4 and proxy.forwarded == []
        assert caught.value.status == 503 and caught.value.title == "Service Unavailable"
        assert caught.value.detail == "Service Unavailable"  # a plain-text answer, not a problem
    with (
        Client(server.base.rsplit(":", 1)[0] + ":9", retry=FAST) as closed,
        pytest.raises(httpx.ConnectError),
    ):
        closed.losses()


def test_retry_after_is_honoured_or_refused(server):
    patient = Retry(retries=2, backoff=0.01, max_retry_after=5)
    with fault_proxy(server.base) as proxy, Client(proxy.base, API_KEY, retry=patient) as client:
        proxy.faults = ["503:1"]
        start = time.monotonic()
        client.losses()
        assert time.monotonic() - start >= 0.95
        proxy.faults = ["503:30"]  # longer than max_retry_after: raised at once
        start = time.monotonic()
        with pytest.raises(ProblemError) as caught:
            client.losses()
        assert time.monotonic() - start < 1 and caught.value.status == 503
        assert len(proxy.received) == 3


@pytest.mark.anyio
async def test_async_client_retries_the_same_way(server):
    with fault_proxy(server.base) as proxy:
        async with AsyncClient(proxy.base, API_KEY, retry=FAST) as client:
            proxy.faults = ["503", "drop"]
            assert (await client.evaluate([1.0], [0.0], "mae")).results[0].value == 1.0
            proxy.faults = ["503"]
            with pytest.raises(ProblemError):
                await client.request("POST", "/v1/evaluate", BODY)
        assert len(proxy.received) == 4 and len(proxy.forwarded) == 1


def response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


def test_backoff_is_jittered_exponential_and_capped():
    retry = Retry(retries=10, backoff=0.5, max_backoff=3.0, random=random.Random(0))
    error = httpx.ConnectError("refused")
    delays = [retry.after_error(attempt, error, idempotent=True) for attempt in range(10)]
    assert all(d is not None and 0 <= d <= min(3.0, 0.5 * 2**i) for i, d in enumerate(delays))
    assert len(set(delays)) == 10  # drawn, not fixed
    assert retry.after_error(10, error, idempotent=True) is None
    assert retry.after_error(0, error, idempotent=False) is None
    assert retry.after_error(0, httpx.ReadTimeout("slow"), idempotent=True) is None
    assert retry.after_response(0, response(500), idempotent=True) is None
    assert retry.after_response(0, response(503, **{"Retry-After": "2"}), idempotent=True) == 2.0


def test_retry_after_as_seconds_or_http_date():
    assert retry_after_seconds(response(503, **{"Retry-After": "7"})) == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_seconds(response(503, **{"Retry-After": later})) <= 30
    assert retry_after_seconds(response(503, **{"Retry-After": "soon"})) is None
    assert retry_after_seconds(response(503)) is None
