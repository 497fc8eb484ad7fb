"""Bounded load test: mixed requests for a fixed time against a multi-worker server.

    python -m benchmarks.load                      # starts `python -m service` with 2 workers
    python -m benchmarks.load --duration 20 --connections 32 --workers 2
    python -m benchmarks.load --url http://127.0.0.1:8000   # an already running server

A small asyncio HTTP/1.1 client (keep-alive connections, no third-party client in the hot path)
sends a fixed mix of requests round-robin and reports requests/s, p50/p99 latency and errors (any
status other than the expected 200, or a transport error). Exit status 1 if there was any error.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

import numpy as np
import orjson


def _tensor(array: np.ndarray) -> dict[str, object]:
    data = base64.b64encode(np.ascontiguousarray(array, "<f8").tobytes()).decode()
    return {"dtype": "float64", "shape": list(array.shape), "data": data}


def request_mix() -> list[tuple[str, bytes]]:
    """(name, raw HTTP/1.1 request) pairs: health, catalogue entry, small and medium evaluations, a curve."""
    rng = np.random.default_rng(0)
    small = {
        "losses": ["mse", {"name": "huber", "delta": 2.0}],
        "predictions": rng.normal(size=100).round(4).tolist(),
        "targets": rng.normal(size=100).round(4).tolist(),
        "include": ["stats", "per_sample"],
    }
    logits = rng.normal(size=(1000, 10))
    medium = {
        "losses": [{"name": "cross_entropy", "input": "logits"}],
        "predictions": _tensor(logits),
        "targets": rng.integers(0, 10, size=1000).tolist(),
        "include": ["stats", "gradient"],
        "array_encoding": "base64",
    }
    curve = {"params": [{"delta": 0.5}, {"delta": 2.0}], "target": 0, "start": -3, "stop": 3, "num": 61}

    def get(path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: load\r\n\r\n".encode()

    def post(path: str, body: dict[str, object]) -> bytes:
        raw = orjson.dumps(body)
        head = f"POST {path} HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\n"
        return head.encode() + f"Content-Length: {len(raw)}\r\n\r\n".encode() + raw

    return [
        ("healthz", get("/healthz")),
        ("get_loss", get("/v1/losses/huber")),
        ("evaluate_small", post("/v1/evaluate", small)),
        ("evaluate_small", post("/v1/evaluate", small)),
        ("evaluate_medium", post("/v1/evaluate", medium)),
        ("curve", post("/v1/losses/huber/curve", curve)),
    ]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, mix: list[tuple[str, bytes]], offset: int, deadline: float, tally: Tally
) -> None:
    i = offset
    reader = writer = None
    while time.monotonic() < deadline:
        name, raw = mix[i % len(mix)]
        i += 1
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            writer.write(raw)
            status = await asyncio.wait_for(_read_response(reader), timeout=30)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
            tally.error(f"{name}: {type(error).__name__}")
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        tally.latencies.append(time.perf_counter() - started)
        if status != 200:
            tally.error(f"{name}: HTTP {status}")
    if writer is not None:
        writer.close()


async def run_load(url: str, duration: float, connections: int) -> dict[str, object]:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    mix = request_mix()
    tally = Tally()
    started = time.monotonic()
    deadline = started + duration
    await asyncio.gather(*(_connection(host, int(port), mix, k, deadline, tally) for k in range(connections)))
    elapsed = time.monotonic() - started
    latencies = np.array(tally.latencies) * 1000
    return {
        "requests": int(latencies.size),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(latencies.size / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2) if latencies.size else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 2) if latencies.size else None,
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "connections": connections,
    }


def start_server(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        LOSS_SERVICE_HOST="127.0.0.1",
        LOSS_SERVICE_PORT=str(port),
        LOSS_SERVICE_WORKERS=str(workers),
        LOSS_SERVICE_LOG_LEVEL="warning",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "service"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1):
                return process, url
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not become ready")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running server; otherwise one is started")
    parser.add_argument("--workers", type=int, default=2, help="workers of the started server")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    args = parser.parse_args(argv)
    process = None
    url = args.url
    if url is None:
        process, url = start_server(args.workers)
    try:
        result = asyncio.run(run_load(url, args.duration, args.connections))
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    print(orjson.dumps(result).decode())
    print(
        f"{result['requests']} requests in {result['seconds']} s: {result['requests_per_second']} req/s, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, errors {result['errors']}",
        file=sys.stderr,
    )
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
