"""A fault-injecting HTTP proxy for the retry tests, in a thread of the test process.

Each request takes the next scripted fault (then ``pass``): ``503`` answers a problem with
``Retry-After`` when given (``503:2``), ``plain503`` answers uvicorn's plain-text 503, ``drop``
closes the connection without an answer; ``pass`` forwards to the upstream server. Two faults
forward the request and then lose the upstream's answer: ``lost`` closes the connection instead of
answering, ``lost503`` answers 503 instead. Every request that reached the proxy is logged, and so
is every one forwarded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson


@dataclass
class Seen:
    method: str
    path: str
    content_type: str | None
    body: bytes


@dataclass
class Proxy:
    upstream: str
    faults: list[str] = field(default_factory=list)
    received: list[Seen] = field(default_factory=list)
    forwarded: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    def next_fault(self) -> str:
        with self.lock:
            return self.faults.pop(0) if self.faults else "pass"


def _handler(proxy: Proxy, upstream: httpx.Client) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, self.headers.get("content-type"), body)
            proxy.received.append(seen)
            fault = proxy.next_fault()
            if fault == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if fault.startswith("503"):
                _, _, retry_after = fault.partition(":")
                problem = {
                    "type": "urn:loss-service:problem:unavailable",
                    "title": "Unavailable",
                    "status": 503,
                    "detail": "Injected by the test proxy.",
                    "errors": [],
                }
                headers = {"Retry-After": retry_after} if retry_after else {}
                self._answer(503, orjson.dumps(problem), "application/problem+json", headers)
                return
            if fault == "plain503":
                self._answer(503, b"Service Unavailable", "text/plain; charset=utf-8", {})
                return
            proxy.forwarded.append(seen)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            response = upstream.request(self.command, self.path, content=body, headers=headers)
            if fault == "lost":
                self.close_connection = True
                self.connection.close()
                return
            if fault == "lost503":
                self._answer(503, b"Service Unavailable", "text/plain; charset=utf-8", {})
                return
            self._answer(response.status_code, response.content, response.headers.get("content-type"), {})

        def _answer(
            self, status: int, body: bytes, content_type: str | None, headers: dict[str, str]
        ) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


@contextmanager
def fault_proxy(upstream: str) -> Iterator[Proxy]:
    """A proxy on a free 127.0.0.1 port in front of ``upstream``; stopped on exit."""
    proxy = Proxy(upstream)
    with httpx.Client(base_url=upstream, timeout=30) as client:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy, client))
        server.daemon_threads = True
        proxy.base = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield proxy
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
