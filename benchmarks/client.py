"""Client benchmarks, each a ratio of two measurements interleaved in the same run.

    python -m benchmarks.client                  # every section
    python -m benchmarks.client --only startup   # sections: threshold, encoding, client, startup

- threshold: JSON vs NPZ request bodies by size (where ``bodies.NPZ_FROM_ELEMENTS`` comes from);
- encoding: response arrays as base64 tensors vs JSON lists, decoded by the client (1M per_sample);
- client: ``Client.evaluate`` of 1M float64 elements vs the raw NPZ request (body built beforehand);
- startup: ``loss-service losses`` against a running server vs the interpreter's bare start.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from service.client import Client
from service.client.arrays import encode

from .bench import ROWS, data, fmt_ms, machine, record, server

Timed = Callable[[], Any]


def interleaved(first: Timed, second: Timed, repeats: int) -> tuple[float, float]:
    """Median seconds of each, alternating runs so that both see the same machine."""
    first()
    second()
    a, b = [], []
    for _ in range(repeats):
        for function, times in ((first, a), (second, b)):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def raw_npz(p: np.ndarray, t: np.ndarray, fields: dict[str, Any]) -> bytes:
    """The README's way: numpy.savez plus request.json."""
    buffer = io.BytesIO()
    np.savez(buffer, predictions=p, targets=t)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("request.json", orjson.dumps(fields))
    return buffer.getvalue()


def threshold(quick: bool) -> None:
    fields = {"losses": ["mse"], "include": ["stats"]}
    with server("ours") as (port, _), httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:

        def post(body: Any) -> Timed:
            content = bytes(body)
            headers = {"Content-Type": body.content_type}
            return lambda: http.post("/v1/evaluate", content=content, headers=headers).raise_for_status()

        for n in (5, 50, 500, 1000, 2000, 5000, 20_000):
            p, t = data(n)
            arrays = {"predictions": p, "targets": t}
            # Building the body counts: it is part of what the client does.
            j, z = interleaved(
                lambda arrays=arrays: post(encode(arrays, fields, npz=False))(),  # type: ignore[misc]
                lambda arrays=arrays: post(encode(arrays, fields, npz=True))(),  # type: ignore[misc]
                30 if quick else 100,
            )
            record(
                "threshold",
                f"{2 * n} elements: NPZ vs JSON body, built and posted",
                fmt_ms(z),
                fmt_ms(j),
                z / j,
                "< 1 from the threshold on",
                None,
            )


def encoding(quick: bool) -> None:
    p, t = data(1_000_000)
    with server("ours") as (port, _), Client(f"http://127.0.0.1:{port}", max_elements=10**7) as client:
        run = lambda encoding: client.evaluate(  # noqa: E731
            p, t, "mse", include=["per_sample"], array_encoding=encoding
        )
        b, listed = interleaved(lambda: run("base64"), lambda: run("list"), 3 if quick else 7)
    record(
        "encoding",
        "1M per_sample: base64 vs list response, decoded",
        fmt_ms(b),
        fmt_ms(listed),
        b / listed,
        "< 1",
        lambda r: r < 1,
    )


def client(quick: bool) -> None:
    p, t = data(1_000_000)
    fields = {"losses": ["mse"], "include": ["stats"], "array_encoding": "base64"}
    body = raw_npz(p, t, fields)
    with server("ours") as (port, _):
        base = f"http://127.0.0.1:{port}"
        with Client(base, max_elements=10**7) as ours, httpx.Client(base_url=base) as http:
            raw = lambda: http.post(  # noqa: E731
                "/v1/evaluate", content=body, headers={"Content-Type": "application/x-npz"}
            ).json()
            o, r = interleaved(lambda: ours.evaluate(p, t, "mse"), raw, 5 if quick else 15)
    record(
        "client",
        "Client.evaluate, 1M float64 (mse + stats)",
        fmt_ms(o),
        f"raw NPZ request (body built beforehand) {fmt_ms(r)}",
        o / r,
        "<= 1.2",
        lambda x: x <= 1.2,
    )


def startup(quick: bool) -> None:
    script = str(Path(sys.executable).parent / "loss-service")
    with server("ours") as (port, _):
        env = dict(os.environ, LOSS_SERVICE_URL=f"http://127.0.0.1:{port}")

        def command(*args: str) -> Timed:
            return lambda: subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)

        ours, bare = interleaved(
            command(script, "losses"), command(sys.executable, "-c", "pass"), 5 if quick else 15
        )
    record(
        "startup",
        "loss-service losses (start, one request, table)",
        fmt_ms(ours),
        f"python -c pass {fmt_ms(bare)}",
        ours / bare,
        "< 300 ms",
        None,
    )
    print(f"  loss-service losses: {ours * 1000:.0f} ms ({'met' if ours < 0.3 else 'not met'}: < 300 ms)")


SECTIONS = {"threshold": threshold, "encoding": encoding, "client": client, "startup": startup}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    print("| what | ours | baseline | ratio | target | met |\n|---|---|---|---|---|---|", flush=True)
    for name in args.only.split(","):
        SECTIONS[name.strip()](args.quick)
    assert ROWS


if __name__ == "__main__":
    main()
