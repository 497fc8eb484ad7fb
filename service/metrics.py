"""Prometheus metrics of the loss work itself: stages of an evaluation, losses and elements.

HTTP-level metrics (requests by route and status, latency, body sizes) are recorded by the
middleware; these are recorded by the endpoints, around the work they delegate.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

STAGE_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

STAGE_SECONDS = Histogram(
    "loss_service_stage_seconds",
    "Time spent per stage of an evaluation: parse, decode, compute, encode.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
EVALUATIONS = Counter("loss_service_evaluations_total", "Loss evaluations, per loss.", ["loss"])
ELEMENTS = Counter(
    "loss_service_elements_evaluated_total", "Prediction elements evaluated, per loss.", ["loss"]
)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time a block as one stage of an evaluation."""
    start = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(name).observe(time.perf_counter() - start)


def evaluated(loss: str, elements: int) -> None:
    EVALUATIONS.labels(loss).inc()
    ELEMENTS.labels(loss).inc(elements)
