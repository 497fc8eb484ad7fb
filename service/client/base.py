"""What the blocking and the asyncio client share: settings, headers, and how a call becomes a request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .. import __version__
from .bodies import Body
from .plans import Call, Limits
from .retry import Retry

DEFAULT_URL = "http://127.0.0.1:8000"
# Connecting should be quick; a large evaluation may take a while to answer.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
UploadProgress = Callable[[int, int], None]


class ClientBase:
    """Settings common to ``Client`` and ``AsyncClient``.

    ``base_url`` and ``api_key`` (sent as a Bearer token); ``timeout`` (seconds, or an
    ``httpx.Timeout``); ``retry`` (see ``Retry``); ``max_elements`` and ``max_body_bytes``: the
    service's limits per request (its ``LOSS_SERVICE_MAX_ELEMENTS`` and ``_MAX_BODY_BYTES``, whose
    defaults these are), beyond which arrays are split where the answers merge exactly;
    ``on_upload(sent, total)``: called as a request body goes out, for a progress bar;
    ``transport``: an httpx transport (the service in-process: ``service.client.local``).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
        max_elements: int = Limits.max_elements,
        max_body_bytes: int = Limits.max_body_bytes,
        on_upload: UploadProgress | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or Retry()
        self.limits = Limits(max_elements, max_body_bytes)
        self.timeout = timeout
        self.on_upload = on_upload
        self.headers = {"User-Agent": f"loss-service-client/{__version__}", **(headers or {})}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def request_arguments(self, call: Call) -> dict[str, Any]:
        """The arguments of ``httpx.Client.build_request`` for a call (its body aside)."""
        headers = {}
        if call.body is not None:
            headers = {"Content-Type": call.body.content_type, "Content-Length": str(call.body.size)}
        return {"method": call.method, "url": call.path, "params": call.params, "headers": headers}

    def report(self, body: Body, sent: int) -> None:
        if self.on_upload is not None:
            self.on_upload(sent, body.size)
