"""Errors of the monitoring layer; each carries the HTTP status the API answers with."""

from __future__ import annotations


class MonitoringError(Exception):
    status = 400
    kind = "monitoring-error"
    title = "Monitoring request failed"

    def __init__(self, detail: str, location: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.location = location


class UnknownRun(MonitoringError):
    status = 404
    kind = "unknown-run"
    title = "Unknown run"

    def __init__(self, name: str) -> None:
        super().__init__(f"There is no run {name!r}. Create it with PUT /v1/runs/{name}.", "path.run")


class RunConflict(MonitoringError):
    status = 409
    kind = "run-conflict"
    title = "Run exists with other losses"


class BatchConflict(MonitoringError):
    status = 409
    kind = "batch-conflict"
    title = "Batch id already recorded with other content"


class InvalidQuery(MonitoringError):
    status = 422
    kind = "invalid-query"
    title = "Query does not match the run"
