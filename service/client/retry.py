"""When to try a request again, and how long to wait first.

Only idempotent calls are retried: a retry must not do twice what was meant once. They are retried
on connection errors (the request never reached the service, or the connection broke before an
answer) and on 503 (the service is shutting down, overloaded, or its store is unreachable), never on
any other answer. The wait is exponential backoff with full jitter, or the answer's ``Retry-After``
when it has one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RETRY_STATUSES = frozenset({503})
# Timeouts after the request was sent mean a slow service: trying again would only add load.
NOT_RETRIED = (httpx.ReadTimeout, httpx.WriteTimeout)


@dataclass(frozen=True)
class Retry:
    """Retry settings: ``retries`` more tries after the first, waits of ``backoff``·2ⁿ seconds at
    most (full jitter: uniformly drawn below that), capped at ``max_backoff``.

    A ``Retry-After`` is honoured as given, unless it asks for more than ``max_retry_after``
    seconds: then the error is raised at once. ``Retry(retries=0)`` turns retries off.
    """

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 10.0
    max_retry_after: float = 60.0
    random: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def after_error(self, attempt: int, error: Exception, idempotent: bool) -> float | None:
        """Seconds to wait before the next try after a transport error, or None to raise it."""
        if not idempotent or attempt >= self.retries or isinstance(error, NOT_RETRIED):
            return None
        if not isinstance(error, httpx.TransportError):
            return None
        return self._backoff(attempt)

    def after_response(self, attempt: int, response: httpx.Response, idempotent: bool) -> float | None:
        """Seconds to wait before the next try after this answer, or None to keep it."""
        if response.status_code not in RETRY_STATUSES or not idempotent or attempt >= self.retries:
            return None
        retry_after = retry_after_seconds(response)
        if retry_after is None:
            return self._backoff(attempt)
        return retry_after if retry_after <= self.max_retry_after else None

    def _backoff(self, attempt: int) -> float:
        return self.random.uniform(0.0, min(self.max_backoff, self.backoff * 2**attempt))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110); None if absent or bad."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
