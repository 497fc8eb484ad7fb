"""Ratio benchmarks: the service against bare baselines, measured in the same run on the same machine.

    python -m benchmarks.bench                 # every section; prints a Markdown table of ratios
    python -m benchmarks.bench --only core     # sections: small, large, binary, core, stacked, memory
    python -m benchmarks.bench --quick         # shorter runs, for a smoke check

Needs the test extra (scikit-learn) and, for the small-request section, wrk (Debian: apt-get install
wrk). PyTorch is optional: without it the PyTorch comparison is skipped. Servers are started here on
127.0.0.1 with the same environment (single-threaded BLAS, the malloc settings of the Docker image)
and stopped at the end. Machines are noisy: every figure is a ratio of two measurements interleaved
in the same run, and each measurement is the best (or median) of several.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import math
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service import tuning  # noqa: E402

tuning.apply()  # this process (the core section) gets what the servers get, before NumPy loads

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Both servers run with the settings the service applies to itself (see service/tuning.py).
SERVER_ENV = {**tuning.MALLOC_ENVIRONMENT, **dict.fromkeys(tuning.THREAD_VARIABLES, "1")}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "rb")
wrk.body = f:read("*all")
f:close()
"""


@dataclass
class Row:
    section: str
    what: str
    ours: str
    baseline: str
    ratio: float
    target: str
    met: bool | None

    def markdown(self) -> str:
        met = "" if self.met is None else ("yes" if self.met else "**no**")
        return f"| {self.what} | {self.ours} | {self.baseline} | {self.ratio:.2f} | {self.target} | {met} |"


ROWS: list[Row] = []


def record(
    section: str,
    what: str,
    ours: str,
    baseline: str,
    ratio: float,
    target: str,
    ok: Callable[[float], bool] | None,
) -> None:
    row = Row(section, what, ours, baseline, ratio, target, None if ok is None else ok(ratio))
    ROWS.append(row)
    print(row.markdown(), flush=True)


# ---- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    kind: str, workers: int = 1, database_url: str | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Our service (``python -m service``; its history in ``database_url``, else in a temporary
    SQLite file) or the bare baseline, on a free loopback port."""
    port = free_port()
    env = dict(os.environ, **SERVER_ENV)
    scratch = tempfile.TemporaryDirectory(prefix="loss-service-bench-")
    if kind == "ours":
        env.update(
            LOSS_SERVICE_DATABASE_URL=database_url or f"sqlite:///{Path(scratch.name) / 'history.db'}",
            LOSS_SERVICE_HOST="127.0.0.1",
            LOSS_SERVICE_PORT=str(port),
            LOSS_SERVICE_WORKERS=str(workers),
            LOSS_SERVICE_LOG_LEVEL="warning",
            LOSS_SERVICE_MAX_BODY_BYTES=str(256 * 2**20),
            LOSS_SERVICE_MAX_ELEMENTS=str(10**7),
        )
        command = [sys.executable, "-m", "service"]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks.baseline:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = request(port, "GET", "/healthz", b"", {})
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{kind} server did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        scratch.cleanup()


def request(port: int, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def timed_post(port: int, body: bytes, content_type: str, repeats: int, path: str = "/v1/evaluate") -> float:
    """Median client-measured seconds of a POST (after one warm-up)."""
    headers = {"Content-Type": content_type}
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        status, content = request(port, "POST", path, body, headers)
        elapsed = time.perf_counter() - start
        if status not in (200, 201):
            raise RuntimeError(f"status {status}: {content[:300]!r}")
        if i:
            times.append(elapsed)
    return statistics.median(times)


# ---- payloads --------------------------------------------------------------------------------


def tensor(array: np.ndarray) -> dict[str, Any]:
    array = np.ascontiguousarray(array, dtype="<f8")
    return {
        "dtype": "float64",
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes()).decode(),
    }


def npz_body(p: np.ndarray, t: np.ndarray, request_fields: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, predictions=p, targets=t)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("request.json", json.dumps(request_fields))
    return buffer.getvalue()


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), rng.normal(size=n)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# ---- sections --------------------------------------------------------------------------------


def wrk(port: int, body_file: str, seconds: int, script: str, path: str = "/v1/evaluate") -> dict[str, float]:
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c32",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script,
            f"http://127.0.0.1:{port}{path}",
        ],
        env=dict(os.environ, BODY_FILE=body_file),
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", output)
        if not match:
            return math.nan
        return float(match.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[match.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50": latency("50%"),
        "p99": latency("99%"),
        "errors": (int(errors.group(1)) if errors else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    }


def small(quick: bool) -> None:
    """100-element MSE with stats: requests/s and latency, ours vs the bare ASGI app."""
    p, t = data(100)
    body = json.dumps(
        {"losses": ["mse"], "predictions": p.tolist(), "targets": t.tolist(), "include": ["stats"]}
    )
    seconds = 3 if quick else 8
    with tempfile.TemporaryDirectory() as tmp:
        body_file, script = Path(tmp, "body.json"), Path(tmp, "post.lua")
        body_file.write_text(body)
        script.write_text(WRK_SCRIPT)
        for workers in (1, 2):
            best: dict[str, dict[str, float]] = {}
            with server("ours", workers) as (ours, _), server("baseline", workers) as (bare, _):
                for _ in range(2):  # interleaved: each side's best of two
                    for name, port in (("ours", ours), ("baseline", bare)):
                        result = wrk(port, str(body_file), seconds, str(script))
                        if name not in best or result["rps"] > best[name]["rps"]:
                            best[name] = result
            o, b = best["ours"], best["baseline"]
            describe = "{rps:.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, {errors:.0f} errors"
            record(
                "small",
                f"100-element MSE + stats, {workers} worker(s), wrk 32 connections",
                describe.format(**o),
                describe.format(**b),
                o["rps"] / b["rps"],
                ">= 0.5",
                lambda r: r >= 0.5,
            )


def large(quick: bool) -> None:
    """1M-element JSON bodies, client-measured, ours vs the bare ASGI app."""
    n = 1_000_000
    p, t = data(n)
    repeats = 3 if quick else 5
    listed = {"predictions": p.tolist(), "targets": t.tolist()}
    cases = [
        ("1M JSON lists, mse + stats", {"losses": ["mse"], "include": ["stats"], **listed}),
        (
            "1M JSON lists, + per_sample + gradient, list encoding",
            {
                "losses": ["mse"],
                "include": ["stats", "per_sample", "gradient"],
                "array_encoding": "list",
                **listed,
            },
        ),
        (
            "1M JSON lists, + per_sample + gradient, base64 encoding",
            {
                "losses": ["mse"],
                "include": ["stats", "per_sample", "gradient"],
                "array_encoding": "base64",
                **listed,
            },
        ),
    ]
    with server("ours") as (ours, _), server("baseline") as (bare, _):
        for what, payload in cases:
            body = json.dumps(payload).encode()
            o = timed_post(ours, body, "application/json", repeats)
            b = timed_post(bare, body, "application/json", repeats)
            record(
                "large",
                f"{what} ({len(body) / 1e6:.1f} MB)",
                fmt_ms(o),
                fmt_ms(b),
                o / b,
                "<= 1.25",
                lambda r: r <= 1.25,
            )


def binary(quick: bool) -> None:
    """The same 1M-element data as base64 tensors in JSON and as an NPZ body."""
    n = 1_000_000
    p, t = data(n)
    repeats = 5 if quick else 9
    fields = {"losses": ["mse"], "include": ["stats"]}
    cases = [
        (
            "1M base64 tensors in JSON, mse + stats",
            json.dumps({**fields, "predictions": tensor(p), "targets": tensor(t)}).encode(),
            "application/json",
        ),
        ("1M NPZ body, mse + stats", npz_body(p, t, fields), "application/x-npz"),
    ]
    with server("ours") as (ours, _), server("baseline") as (bare, _):
        for what, body, content_type in cases:
            o = timed_post(ours, body, content_type, repeats)
            b = timed_post(bare, body, content_type, repeats)
            record(
                "binary",
                f"{what} ({len(body) / 1e6:.1f} MB)",
                fmt_ms(o),
                fmt_ms(b),
                o / b,
                "<= 1.5",
                lambda r: r <= 1.5,
            )


def best_of(function: Callable[[], Any], repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def core(quick: bool) -> None:
    """The loss core alone, in this process, against NumPy, PyTorch and scikit-learn."""
    from service.losses import registry
    from service.losses.evaluate import LossSpec, Options, evaluate
    from service.losses.stats import summarize

    repeats = 5 if quick else 15
    n = 1_000_000
    p, t = data(n)

    def run(
        name: str, predictions: np.ndarray, targets: np.ndarray, include: frozenset[str], **params: Any
    ) -> Any:
        definition = registry.get(name)
        spec = LossSpec(definition, definition.params(**params))
        return lambda: evaluate([spec], predictions, targets, None, Options(include=include))

    both = frozenset({"per_sample", "gradient"})
    ours = best_of(run("mse", p, t, both), repeats)
    add = best_of(lambda: np.add(p, t), repeats)
    record(
        "core",
        "mse value + per_sample + gradient, 1M",
        fmt_ms(ours),
        f"np.add {fmt_ms(add)}",
        ours / add,
        "<= 5",
        lambda r: r <= 5,
    )

    labels = (np.random.default_rng(1).uniform(size=n) > 0.5).astype(float)
    ours = best_of(run("bce", p, labels, frozenset({"gradient"}), from_logits=True), repeats)
    try:
        import torch

        torch.set_num_threads(1)
        x = torch.tensor(p, requires_grad=True)
        y = torch.tensor(labels)

        def torch_bce() -> None:
            x.grad = None
            torch.nn.functional.binary_cross_entropy_with_logits(x, y).backward()

        reference = best_of(torch_bce, repeats)
        record(
            "core",
            "bce from logits, value + gradient, 1M",
            fmt_ms(ours),
            f"torch {torch.__version__} CPU 1 thread {fmt_ms(reference)}",
            ours / reference,
            "<= 1.5",
            lambda r: r <= 1.5,
        )
    except ImportError:
        print("torch is not installed: skipping the PyTorch comparison", flush=True)

    values = np.square(p)
    ours = best_of(lambda: summarize(values, None, np.arange(n), 5), repeats)
    partition = best_of(lambda: np.partition(values, n // 2), repeats)
    record(
        "core",
        "stats (mean, std, min, max, 4 quantiles, top 5), 1M",
        fmt_ms(ours),
        f"np.partition {fmt_ms(partition)}",
        ours / partition,
        "<= 1.5",
        lambda r: r <= 1.5,
    )

    sklearn_comparisons(run, repeats)


def sklearn_comparisons(run: Callable[..., Any], repeats: int) -> None:
    """Every loss with a scikit-learn equivalent, value only, 1M elements: sklearn time / ours."""
    from sklearn import metrics

    n = 1_000_000
    rng = np.random.default_rng(2)
    real_p, real_t = rng.normal(size=n), rng.normal(size=n)
    positive_p, positive_t = rng.uniform(0.1, 3, size=n), rng.uniform(0.1, 3, size=n)
    labels = (rng.uniform(size=n) > 0.5).astype(float)
    probabilities = rng.uniform(0.01, 0.99, size=n)
    classes = rng.integers(0, 10, size=n // 10)
    class_probabilities = rng.dirichlet(np.ones(10), size=n // 10)
    scores = rng.normal(size=n)
    signs = np.where(labels > 0, 1.0, -1.0)
    multiclass_scores = rng.normal(size=(n // 10, 10))
    none = frozenset()
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "mean_squared_error",
            run("mse", real_p, real_t, none),
            lambda: metrics.mean_squared_error(real_t, real_p),
        ),
        (
            "root_mean_squared_error",
            run("rmse", real_p, real_t, none),
            lambda: metrics.root_mean_squared_error(real_t, real_p),
        ),
        (
            "mean_absolute_error",
            run("mae", real_p, real_t, none),
            lambda: metrics.mean_absolute_error(real_t, real_p),
        ),
        (
            "binary_cross_entropy (log_loss)",
            run("bce", probabilities, labels, none),
            lambda: metrics.log_loss(labels, probabilities),
        ),
        (
            "cross_entropy (log_loss, 100k x 10)",
            run("cross_entropy", class_probabilities, classes.astype(float), none),
            lambda: metrics.log_loss(classes, class_probabilities, labels=range(10)),
        ),
    ]
    optional = [
        (
            "mean_absolute_percentage_error",
            "mape",
            (real_p, real_t, {}),
            lambda: metrics.mean_absolute_percentage_error(real_t, real_p),
        ),
        (
            "mean_squared_log_error",
            "msle",
            (positive_p, positive_t, {}),
            lambda: metrics.mean_squared_log_error(positive_t, positive_p),
        ),
        (
            "quantile (pinball)",
            "quantile",
            (real_p, real_t, {"quantile": 0.9}),
            lambda: metrics.mean_pinball_loss(real_t, real_p, alpha=0.9),
        ),
        (
            "tweedie_deviance (power 1.5)",
            "tweedie_deviance",
            (positive_p, positive_t, {"power": 1.5}),
            lambda: metrics.mean_tweedie_deviance(positive_t, positive_p, power=1.5),
        ),
        (
            "brier",
            "brier",
            (probabilities, labels, {}),
            lambda: metrics.brier_score_loss(labels, probabilities),
        ),
        ("hinge", "hinge", (scores, signs, {}), lambda: metrics.hinge_loss(signs, scores)),
        (
            "multiclass_hinge (100k x 10)",
            "multiclass_hinge",
            (multiclass_scores, classes.astype(float), {}),
            lambda: metrics.hinge_loss(classes, multiclass_scores, labels=range(10)),
        ),
    ]
    from service.losses import registry
    from service.losses.errors import UnknownLoss

    for what, name, (predictions, targets, params), reference in optional:
        try:
            registry.get(name)
        except UnknownLoss:
            continue
        cases.append((what, run(name, predictions, targets, none, **params), reference))
    for what, ours, reference in cases:
        o = best_of(ours, repeats)
        s = best_of(reference, max(3, repeats // 3))
        record(
            "core",
            f"{what}: sklearn time / ours (value)",
            fmt_ms(o),
            f"sklearn {fmt_ms(s)}",
            s / o,
            ">= 5",
            lambda r: r >= 5,
        )


def stacked(quick: bool) -> None:
    """Losses whose rows are stacked parts against PyTorch (CPU, one thread, float64), in this
    process: value and gradient on both sides (torch: forward and backward)."""
    from service.losses import registry
    from service.losses.evaluate import LossSpec, Options, evaluate

    try:
        import torch
    except ImportError:
        print("torch is not installed: skipping the stacked-parts section", flush=True)
        return
    torch.set_num_threads(1)
    functional = torch.nn.functional
    repeats = 5 if quick else 15
    rng = np.random.default_rng(3)
    gradient = Options(include=frozenset({"gradient"}))

    def ours(name: str, predictions: np.ndarray, targets: np.ndarray | None) -> Callable[[], Any]:
        definition = registry.get(name)
        spec = LossSpec(definition, definition.params())
        return lambda: evaluate([spec], predictions, targets, None, gradient)

    def backward(x: Any, loss: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            x.grad = None
            loss().backward()

        return run

    n, frames, classes, length = 32, 200, 30, 40
    logits = rng.normal(size=(n, frames, classes))
    labels = rng.integers(1, classes, size=(n, length))
    z = torch.tensor(logits.transpose(1, 0, 2).copy(), requires_grad=True)  # torch's (T, N, C)
    torch_labels, frame_counts = torch.tensor(labels), torch.full((n,), frames, dtype=torch.long)
    label_counts = torch.full((n,), length, dtype=torch.long)
    cases = [
        (
            f"ctc value + gradient, N={n}, T={frames}, C={classes}, S={length}",
            ours("ctc", logits, labels.astype(np.float64)),
            backward(
                z,
                lambda: functional.ctc_loss(
                    functional.log_softmax(z, dim=-1),
                    torch_labels,
                    frame_counts,
                    label_counts,
                    reduction="sum",
                ),
            ),
            "<= 2",
            lambda r: r <= 2.0,
        )
    ]
    rows, width = 100_000, 128
    triplets = rng.normal(size=(rows, 3, width))
    t = torch.tensor(triplets, requires_grad=True)
    pairs = rng.normal(size=(rows, 2, width))
    signs = np.where(rng.uniform(size=rows) < 0.5, -1.0, 1.0)
    c, torch_signs = torch.tensor(pairs, requires_grad=True), torch.tensor(signs)
    cases += [
        (
            f"triplet_margin value + gradient, {rows // 1000}k x {width}",
            ours("triplet_margin", triplets, None),
            backward(t, lambda: functional.triplet_margin_loss(t[:, 0], t[:, 1], t[:, 2])),
            "",
            None,
        ),
        (
            f"cosine_embedding value + gradient, {rows // 1000}k x {width}",
            ours("cosine_embedding", pairs, signs),
            backward(c, lambda: functional.cosine_embedding_loss(c[:, 0], c[:, 1], torch_signs)),
            "",
            None,
        ),
    ]
    for what, mine, theirs, target, ok in cases:
        o, reference = best_of(mine, repeats), best_of(theirs, repeats)
        record(
            "stacked",
            what,
            fmt_ms(o),
            f"torch {torch.__version__} CPU 1 thread {fmt_ms(reference)}",
            o / reference,
            target,
            ok,
        )


def peak_added(pid: int, send: Callable[[], None]) -> int:
    """Bytes by which one request raised the process's peak RSS (VmHWM, reset before)."""

    def status(field: str) -> int:
        text = Path(f"/proc/{pid}/status").read_text()
        return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) * 1024  # type: ignore[union-attr]

    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = status("VmRSS")
    send()
    return status("VmHWM") - before


def memory(quick: bool) -> None:
    """Peak RSS added by one 1M-element request, on a fresh single-process server each time."""
    n = 1_000_000
    p, t = data(n)
    fields = {"losses": ["mse"], "include": ["stats"]}
    cases = [
        (
            "1M JSON lists",
            json.dumps({**fields, "predictions": p.tolist(), "targets": t.tolist()}).encode(),
            "application/json",
            "JSON body",
            4.0,
        ),
        (
            "1M base64 tensors",
            json.dumps({**fields, "predictions": tensor(p), "targets": tensor(t)}).encode(),
            "application/json",
            "array bytes",
            3.0,
        ),
        ("1M NPZ body", npz_body(p, t, fields), "application/x-npz", "array bytes", 3.0),
    ]
    small_body = json.dumps({"losses": ["mse"], "predictions": [1.0, 2.0], "targets": [0.0, 1.0]}).encode()
    for what, body, content_type, against, limit in cases:
        with server("ours") as (port, process):
            request(port, "POST", "/v1/evaluate", small_body, {"Content-Type": "application/json"})
            added = peak_added(process.pid, lambda body=body, ct=content_type: timed_post(port, body, ct, 1))
        reference = len(body) if against == "JSON body" else p.nbytes + t.nbytes
        record(
            "memory",
            f"peak RSS added by one request, {what}",
            f"{added / 2**20:.0f} MiB",
            f"{against} {reference / 2**20:.0f} MiB",
            added / reference,
            f"<= {limit:g}",
            lambda r, x=limit: r <= x,
        )


SECTIONS = {
    "small": small,
    "large": large,
    "binary": binary,
    "core": core,
    "stacked": stacked,
    "memory": memory,
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_gib:.0f} GiB, Python {platform.python_version()}, "
        f"NumPy {np.__version__}"
    )


def section_parser(doc: str | None, sections: Mapping[str, Any]) -> argparse.ArgumentParser:
    """The options every benchmark script takes: ``--only`` some sections, ``--quick``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(sections), help="comma-separated sections")
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    return parser


def print_header() -> None:
    """The machine, then the head of the table that ``record`` adds rows to."""
    print(f"Machine: {machine()}\n")
    print("| what | ours | baseline | ratio | target | met |\n|---|---|---|---|---|---|", flush=True)


def run_sections(doc: str | None, sections: Mapping[str, Callable[[bool], None]]) -> None:
    """Parse the command line, print the header, and run the chosen sections in order."""
    args = section_parser(doc, sections).parse_args()
    print_header()
    for name in args.only.split(","):
        sections[name.strip()](args.quick)


def main() -> None:
    run_sections(__doc__, SECTIONS)


if __name__ == "__main__":
    main()
