"""Client benchmarks, each a ratio of two measurements interleaved in the same run.

    python -m benchmarks.client                  # every section
    python -m benchmarks.client --only startup   # sections: threshold, encoding, client, startup,
                                                 # distributed (needs the distributed extra)

- threshold: JSON vs NPZ request bodies by size (where ``bodies.NPZ_FROM_ELEMENTS`` comes from);
- encoding: response arrays as base64 tensors vs JSON lists, decoded by the client (1M per_sample);
- client: ``Client.evaluate`` of 1M float64 elements vs the raw NPZ request (body built beforehand);
- startup: ``loss-service losses`` against a running server vs the interpreter's bare start;
- distributed: ``service.distributed.evaluate`` of 20M float64 elements (``.npy`` files read by the
  workers) on a 2-worker LocalCluster vs the in-process core on the same files (``np.load`` then
  ``evaluate``), and where the time goes: Dask's task stream, and one chunk's parts timed here.
"""

from __future__ import annotations

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

from service import tuning
from service.client import Client
from service.client.arrays import encode

from .bench import ROWS, data, fmt_ms, record, run_sections, server

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
        # Without the malloc settings this process took for the servers (benchmarks.bench applies
        # service.tuning to itself): with them every new interpreter starts about 3 times slower,
        # and a person's shell has none of them.
        env = {name: value for name, value in os.environ.items() if name not in tuning.MALLOC_ENVIRONMENT}
        env["LOSS_SERVICE_URL"] = f"http://127.0.0.1:{port}"

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


def distributed(quick: bool) -> None:
    import tempfile

    from dask.distributed import Client as DaskClient
    from dask.distributed import LocalCluster, get_task_stream

    from service import distributed as dist
    from service.losses import LossSpec, Options, evaluate, get
    from service.losses.accumulate import Accumulator, merge_all

    n = 5_000_000 if quick else 20_000_000
    spec = LossSpec(get("mse"), get("mse").params())
    with tempfile.TemporaryDirectory(prefix="loss-service-bench-") as directory:
        paths = [str(Path(directory) / name) for name in ("p.npy", "t.npy")]
        for path, array in zip(paths, data(n), strict=True):
            np.save(path, array)
        del array

        def in_process() -> None:
            p, t = (np.load(path) for path in paths)
            evaluate([spec], p, t, None, Options())

        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            DaskClient(cluster),
        ):
            started = time.perf_counter() - start

            def on_cluster() -> None:
                dist.evaluate(dist.read_npy(paths[0]), dist.read_npy(paths[1]), "mse")

            d, c = interleaved(on_cluster, in_process, 3 if quick else 5)
            with get_task_stream() as stream:
                on_cluster()
        record(
            "distributed",
            f"distributed.evaluate, {n // 1_000_000}M float64, mse + stats, 2-worker LocalCluster "
            "(.npy files read by the workers)",
            fmt_ms(d),
            f"in-process core, np.load + evaluate: {fmt_ms(c)}",
            d / c,
            "stated",
            None,
        )
        print(f"  LocalCluster start (2 processes): {started * 1000:.0f} ms")
        by_kind: dict[str, list[float]] = {}
        for task in stream.data:
            kind = task["key"][0] if isinstance(task["key"], tuple) else task["key"]
            kind = str(kind).rsplit("-", 1)[0]
            for part in task["startstops"]:
                times = by_kind.setdefault(f"{kind} {part['action']}", [])
                times.append(part["stop"] - part["start"])
        for kind, times in sorted(by_kind.items(), key=lambda item: -sum(item[1])):
            print(f"  task stream: {kind}: {len(times)} tasks, {sum(times) * 1000:.0f} ms in all")

        # One chunk's parts, in this process.
        rows = dist.CHUNK_ELEMENTS
        p, t = (dist.NpyFile(path)[:rows] for path in paths)
        accumulator = evaluate([spec], p, t, None, Options(include=frozenset(), accumulate=True))[
            0
        ].accumulator
        assert accumulator is not None
        blobs = [accumulator.to_bytes()] * 8
        parts: dict[str, Timed] = {
            "read 2 x 16 MB (np.load, memory mapped)": lambda: [dist.NpyFile(path)[:rows] for path in paths],
            "loss alone (evaluate, no statistics)": lambda: evaluate(
                [spec], p, t, None, Options(include=frozenset())
            ),
            "loss + accumulator (evaluate, accumulate=True)": lambda: evaluate(
                [spec], p, t, None, Options(include=frozenset(), accumulate=True)
            ),
            "to_bytes": accumulator.to_bytes,
            "merge of 8 (from_bytes, merge_all, to_bytes)": lambda: merge_all(
                Accumulator.from_bytes(b) for b in blobs
            ).to_bytes(),
            "the whole chunk (evaluate_chunk)": lambda: dist.evaluate_chunk(
                p, t, None, 0, (("mean_squared_error", "{}"),), "mean", "raise"
            ),
        }
        print(f"  one chunk of {rows:,} rows ({len(blobs[0]):,} bytes serialized), median of 5:")
        for name, function in parts.items():
            print(f"    {name}: {median_seconds(function, 5) * 1000:.1f} ms")
        p, t = (np.load(path) for path in paths)
        core_only = median_seconds(lambda: evaluate([spec], p, t, None, Options()), 3)
        print(f"  in-process core alone, arrays in memory ({n:,} elements each): {core_only * 1000:.0f} ms")


def median_seconds(function: Timed, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


SECTIONS = {
    "threshold": threshold,
    "encoding": encoding,
    "client": client,
    "startup": startup,
    "distributed": distributed,
}


def main() -> None:
    run_sections(__doc__, SECTIONS)
    assert ROWS


if __name__ == "__main__":
    main()
