"""Prometheus metrics of the loss work itself: stages of an evaluation, losses and elements.

HTTP-level metrics (requests by route and status, latency, body sizes) are recorded by the
middleware (``api/middleware.py``); the loss metrics by the endpoints, around the work they delegate.

With several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set by ``python -m service`` before the workers
start, each worker writes its samples there, and ``exposition()`` aggregates them all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.core import Metric

disable_created_metrics()  # no *_created series: creation times say nothing an operator needs

LATENCY_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# A summary (count and sum) rather than a histogram: four observations per request, each cheap;
# the latency histogram covers the distribution of whole requests.
STAGE_SECONDS = Summary(
    "loss_service_stage_seconds",
    "Time spent per stage of an evaluation: parse, decode, compute, encode.",
    ["stage"],
)
EVALUATIONS = Counter("loss_service_evaluations_total", "Loss evaluations, per loss.", ["loss"])
ELEMENTS = Counter(
    "loss_service_elements_evaluated_total", "Prediction elements evaluated, per loss.", ["loss"]
)

# Route labels are route templates (/v1/losses/{name}), never raw paths, so cardinality is bounded.
REQUESTS = Counter(
    "loss_service_http_requests_total",
    "HTTP requests, by method, route and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "loss_service_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by method and route.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
SIZE_BUCKETS = tuple(float(4**k) for k in range(4, 15))  # 256 B .. 256 MiB
REQUEST_BYTES = Histogram(
    "loss_service_http_request_body_bytes",
    "Request body bytes received, by route.",
    ["route"],
    buckets=SIZE_BUCKETS,
)
RESPONSE_BYTES = Histogram(
    "loss_service_http_response_body_bytes",
    "Response body bytes sent, by route.",
    ["route"],
    buckets=SIZE_BUCKETS,
)
BATCHES = Counter(
    "loss_service_batches_recorded_total",
    "Batches posted to runs: recorded, or answered as a duplicate of a recorded batch_id.",
    ["outcome"],
)
STORE_SECONDS = Histogram(
    "loss_service_store_seconds",
    "Time of history database operations (including the wait for a database thread), by operation.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
IN_PROGRESS = Gauge(
    "loss_service_http_requests_in_progress", "Requests being handled.", multiprocess_mode="livesum"
)


class _With:
    """A registry's metrics followed by more families (computed for this scrape)."""

    def __init__(self, registry: CollectorRegistry, extra: Iterable[Metric]) -> None:
        self.registry, self.extra = registry, extra

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
        yield from self.extra


def exposition(extra: Iterable[Metric] = ()) -> tuple[bytes, str]:
    """The Prometheus text exposition of this process, or of every worker in multiprocess mode,
    followed by ``extra`` metric families."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(_With(registry, extra)), CONTENT_TYPE_LATEST  # type: ignore[arg-type]


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (counters and histograms keep its samples)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


@cache
def _child(metric: Any, *labels: str) -> Any:
    """A labelled child, looked up once: ``labels()`` costs more than the observation itself."""
    return metric.labels(*labels)


class stage:  # noqa: N801  (used as a function: ``with metrics.stage("decode"):``)
    """Time a block as one stage of an evaluation (a plain class: cheaper than a generator)."""

    __slots__ = ("_observe", "_start")

    def __init__(self, name: str) -> None:
        self._observe = _child(STAGE_SECONDS, name).observe

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        self._observe(time.perf_counter() - self._start)


def evaluated(loss: str, elements: int) -> None:
    _child(EVALUATIONS, loss).inc()
    _child(ELEMENTS, loss).inc(elements)


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_done(method: str, route: str, status: int, seconds: float, bytes_in: int, bytes_out: int) -> None:
    """Record one finished request (labels from bounded sets: methods, route templates, statuses)."""
    method = method if method in HTTP_METHODS else "OTHER"
    _child(REQUESTS, method, route, str(status)).inc()
    _child(LATENCY, method, route).observe(seconds)
    _child(REQUEST_BYTES, route).observe(bytes_in)
    _child(RESPONSE_BYTES, route).observe(bytes_out)


def batch_recorded(duplicate: bool = False) -> None:
    _child(BATCHES, "duplicate" if duplicate else "recorded").inc()


def store_operation(operation: str, seconds: float) -> None:
    _child(STORE_SECONDS, operation).observe(seconds)
