"""Memory of one worker at the default limits: what sizes the containers (README, Deploying).

    python -m benchmarks.sizing

For each of the largest requests the default limits admit (64 MiB bodies, 4,000,000 elements per
array), a fresh single-worker server (the same environment as the other benchmarks) answers the
request once; the table gives its resident memory when idle (after one small request) and its peak
(VmHWM), and its resident memory afterwards: glibc keeps freed memory for the next request
(service/tuning.py), so a worker's footprint stays near the largest peak it has seen.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from .bench import data, npz_body, request, server, tensor

MiB = 2**20
LIMIT_BYTES = 64 * MiB
LIMIT_ELEMENTS = 4_000_000


def status(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) * 1024  # type: ignore[union-attr]


def largest_json_lists(fields: dict[str, object]) -> bytes:
    """The largest body of JSON lists of two arrays under the body limit."""
    n, body = 1_000_000, b""
    while True:
        p, t = data(n)
        candidate = json.dumps({**fields, "predictions": p.tolist(), "targets": t.tolist()}).encode()
        if len(candidate) > LIMIT_BYTES:
            return body
        body, n = candidate, n + 50_000


def cases() -> list[tuple[str, bytes, str]]:
    full = {"losses": ["mse", "huber"], "include": ["stats", "per_sample", "gradient"]}
    p, t = data(LIMIT_ELEMENTS - 10_000)  # the NPZ archive's own bytes stay under the body limit
    base64_n = int(LIMIT_BYTES * 3 / 4 / 16 * 0.99)  # two float64 arrays, base64, under the body limit
    pb, tb = data(base64_n)
    return [
        (
            f"NPZ, 2 x {len(p):,} float64, mse + huber with stats only",
            npz_body(p, t, {"losses": ["mse", "huber"], "include": ["stats"]}),
            "application/x-npz",
        ),
        (
            f"NPZ, 2 x {len(p):,} float64, mse + huber, per-sample and gradients as JSON lists",
            npz_body(p, t, full),
            "application/x-npz",
        ),
        (
            f"NPZ, 2 x {len(p):,} float64, mse + huber, per-sample and gradients as base64",
            npz_body(p, t, {**full, "array_encoding": "base64"}),
            "application/x-npz",
        ),
        (
            f"base64 tensors in JSON, 2 x {base64_n:,}, per-sample and gradients as base64",
            json.dumps(
                {**full, "array_encoding": "base64", "predictions": tensor(pb), "targets": tensor(tb)}
            ).encode(),
            "application/json",
        ),
        ("JSON lists (largest under 64 MiB), per-sample and gradients as lists", largest_json_lists(full),
         "application/json"),
    ]  # fmt: skip


def main() -> None:
    small = json.dumps({"losses": ["mse"], "predictions": [1.0, 2.0], "targets": [0.0, 1.0]}).encode()
    print("| request | body | idle RSS | peak RSS | RSS after |")
    print("|---|---|---|---|---|")
    for what, body, content_type in cases():
        assert len(body) <= LIMIT_BYTES, (what, len(body))
        with server("ours") as (port, process):
            request(port, "POST", "/v1/evaluate", small, {"Content-Type": "application/json"})
            idle = status(process.pid, "VmRSS")
            answer, _ = request(port, "POST", "/v1/evaluate", body, {"Content-Type": content_type})
            assert answer == 200, answer
            time.sleep(0.2)
            peak, after = status(process.pid, "VmHWM"), status(process.pid, "VmRSS")
        print(
            f"| {what} | {len(body) / MiB:.0f} MiB | {idle / MiB:.0f} MiB | {peak / MiB:.0f} MiB "
            f"| {after / MiB:.0f} MiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
