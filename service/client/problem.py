"""``ProblemError``: an error answer of the service (RFC 9457 problem details) as an exception."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import msgspec


@dataclass(frozen=True)
class ErrorLocation:
    """One culprit: where in the request (``body.predictions[3]``) and what is wrong there."""

    location: str
    message: str


class _Problem(msgspec.Struct):
    type: str = "about:blank"
    title: str = ""
    status: int = 0
    detail: str = ""
    errors: list[ErrorLocation] = msgspec.field(default_factory=list)


_PROBLEM = msgspec.json.Decoder(_Problem)


class ProblemError(Exception):
    """An error answer: ``status``, ``type``, ``title``, ``detail`` and the located ``errors``.

    An answer that is not problem+json (a proxy's error page, uvicorn's plain-text 503) gets the
    status's reason phrase as its title and the body's text as its detail.
    """

    def __init__(
        self,
        status: int,
        type: str,
        title: str,
        detail: str,
        errors: list[ErrorLocation] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.request_id = request_id
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response, retry_after: float | None = None) -> ProblemError:
        reason = response.reason_phrase or "Error"
        try:
            problem = _PROBLEM.decode(response.content)
        except msgspec.DecodeError:
            text = response.text.strip()[:500]
            return cls(
                response.status_code,
                "about:blank",
                reason,
                text or reason,
                request_id=response.headers.get("x-request-id"),
                retry_after=retry_after,
            )
        return cls(
            problem.status or response.status_code,
            problem.type,
            problem.title or reason,
            problem.detail,
            problem.errors,
            response.headers.get("x-request-id"),
            retry_after,
        )

    def shifted(self, rows: int) -> ProblemError:
        """The same problem with row indices of the request's arrays moved by ``rows``.

        An array split into several requests gets its problems located in the whole array.
        """

        def shift(text: str) -> str:
            return _ROW.sub(lambda m: f"{m.group(1)}[{int(m.group(2)) + rows}]", text)

        errors = [ErrorLocation(shift(e.location), shift(e.message)) for e in self.errors]
        return ProblemError(
            self.status, self.type, self.title, shift(self.detail), errors, self.request_id, self.retry_after
        )


_ROW = re.compile(r"\b(predictions|targets|weights)\[(\d+)\]")


class SplitError(ValueError):
    """The arrays exceed one request's limits, and what was asked cannot be merged exactly."""
