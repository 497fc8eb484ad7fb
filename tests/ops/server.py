"""A real ``python -m service`` process for the operations tests, bounded in time.

Its log goes to a file (a pipe would fill up and block a busy server); every helper has a timeout and
the process is always killed in the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..test_server import free_port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def connect(self, timeout: float = 5.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        sock.settimeout(timeout)
        return sock

    def peak_rss(self) -> int:
        """Peak resident memory of the server process so far, in bytes (Linux)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)


@contextmanager
def running_server(
    startup: float = 30.0,
    cwd: str | None = None,
    raw_env: dict[str, str] | None = None,
    probe: str = "/readyz",
    arguments: Sequence[str] = ("-m", "service"),
    **env: str,
) -> Iterator[Server]:
    """``python -m service`` with ``LOSS_SERVICE_<NAME>`` from ``env`` (and ``raw_env`` as given),
    once ``probe`` answers 200 (by default with its own history database in a temporary directory).
    ``arguments`` are the interpreter's arguments (a deployment's command after ``python``)."""
    port = free_port()
    environment = dict(os.environ, LOSS_SERVICE_HOST="127.0.0.1", LOSS_SERVICE_PORT=str(port))
    for name in [name for name in environment if name.startswith(("LOSS_SERVICE_", "MALLOC_"))]:
        if name not in ("LOSS_SERVICE_HOST", "LOSS_SERVICE_PORT"):
            del environment[name]
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    environment.update({f"LOSS_SERVICE_{key.upper()}": value for key, value in env.items()})
    environment.update(raw_env or {})
    with tempfile.TemporaryDirectory(prefix="loss-service-test-") as directory:
        environment.setdefault("LOSS_SERVICE_DATABASE_URL", f"sqlite:///{Path(directory) / 'history.db'}")
        log_path = Path(directory) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, *arguments],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
            )
        server = Server(process, f"http://127.0.0.1:{port}", port, log_path)
        try:
            deadline = time.monotonic() + startup
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{server.log()}")
                try:
                    if httpx.get(f"{server.base}{probe}", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready within {startup} s:\n{server.log()}")
                time.sleep(0.05)
            yield server
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def read_response(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """Everything the server sends until it closes the connection (or ``limit`` bytes)."""
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0
