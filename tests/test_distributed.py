"""Distributed evaluation on a local Dask cluster (two worker processes, started once for the module
and always closed): answers equal to the in-process core's on arrays of a few million elements in
uneven chunks, and problems equal to the service's."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.client import Client, ProblemError
from service.client import local as in_process
from service.losses import LossSpec, Options, evaluate, get
from service.losses.accumulate import RELATIVE_ACCURACY

da = pytest.importorskip("dask.array")
dask_distributed = pytest.importorskip("distributed")
from service import distributed  # noqa: E402  (needs the extra)

pytestmark = pytest.mark.slow
ALPHA = RELATIVE_ACCURACY


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with (
        dask_distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        dask_distributed.Client(cluster),
    ):
        yield cluster


@pytest.fixture(scope="module")
def service() -> Iterator[Client]:
    """The service's app in this process: the reference for problems."""
    with Client(transport=in_process.transport()) as client:
        yield client


def lazy(tmp: Path, name: str, array: np.ndarray, rows: tuple[int, ...]) -> object:
    """``array`` saved as .npy, read back by the workers in the given uneven row chunks."""
    np.save(tmp / f"{name}.npy", array)
    lazy_array = distributed.read_npy(tmp / f"{name}.npy", chunk_elements=1 << 18)
    assert sum(rows) == array.shape[0]
    return lazy_array.rechunk({0: rows})


def core(predictions, targets, losses, weights, **options):
    specs = [LossSpec(get(name), get(name).params(**params)) for name, params in losses]
    return evaluate(specs, predictions, targets, weights, Options(include=frozenset({"stats"}), **options))


def assert_equal_to_core(result, reference) -> None:
    assert len(result.results) == len(reference)
    for got, want in zip(result.results, reference, strict=True):
        assert (got.loss, got.params, got.reduction) == (want.loss, want.params, want.reduction)
        assert (got.count, got.omitted, got.ignored, got.clipped) == (
            want.count,
            want.omitted,
            want.ignored,
            want.clipped,
        ), got.loss
        for key in ("value", "weight_sum"):
            expected = getattr(want, key)
            if expected is None or math.isnan(expected):
                assert getattr(got, key) is None, (got.loss, key)
            else:
                assert getattr(got, key) == pytest.approx(expected, rel=1e-9), (got.loss, key)
        for key in ("mean", "std", "min", "max", "sum"):
            assert getattr(got.stats, key) == pytest.approx(getattr(want.stats, key), rel=1e-9), (
                got.loss,
                key,
            )
        for q, exact in want.stats.quantiles.items():
            assert abs(got.stats.quantiles[q] - exact) <= ALPHA * abs(exact) * (1 + 1e-9), (got.loss, q)
        assert got.stats.top == []


def test_regression_with_nan_omitted_weights_and_a_transform(cluster, tmp_path):
    n = 1_500_000  # (n, 2): 3M elements per array
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    w = rng.uniform(0.0, 2.0, size=n)
    p[[3, 700_001, n - 1], 0] = np.nan
    t[123_456, 1] = np.inf
    w[999_999] = np.nan
    w[400_000:523_457] = 0.0  # one whole chunk of zero weights: fine, the whole has positive ones
    rows = (400_000, 123_457, 700_000, 1, n - 1_223_458)
    arrays = [lazy(tmp_path, name, a, rows) for name, a in (("p", p), ("t", t), ("w", w))]
    losses = [("mse", {}), ("huber", {"delta": 0.5}), ("rmse", {})]
    specs = ["mse", {"name": "huber", "delta": 0.5}, "rmse"]
    result = distributed.evaluate(*arrays[:2], specs, arrays[2], nan_policy="omit", split_every=2)
    assert result.n_samples == n and result.results[0].omitted == 5
    assert_equal_to_core(result, core(p, t, losses, w, nan_policy="omit"))
    for reduction in ("sum", "sum_over_batch_size"):
        result = distributed.evaluate(
            *arrays[:2], specs[:2], arrays[2], nan_policy="omit", reduction=reduction
        )
        assert_equal_to_core(result, core(p, t, losses[:2], w, nan_policy="omit", reduction=reduction))


def test_class_index_targets_with_class_weights_and_ignore_index(cluster, tmp_path):
    n, classes = 400_000, 5  # 2M logits
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=3.0, size=(n, classes))
    labels = rng.integers(0, classes, size=n).astype(np.float64)
    labels[::97] = -100  # ignored rows
    rows = (150_000, 1_000, 99_000, n - 250_000)
    spec = {"input": "logits", "class_weights": [1.0, 2.0, 0.5, 1.0, 3.0], "ignore_index": -100}
    result = distributed.evaluate(
        lazy(tmp_path, "z", logits, rows),
        lazy(tmp_path, "y", labels, rows),
        [{"name": "cross_entropy", **spec}],
    )
    reference = core(logits, labels, [("cross_entropy", spec)], None)
    assert result.results[0].ignored == reference[0].ignored > 0
    assert_equal_to_core(result, reference)


def test_negative_losses_and_clipping(cluster, tmp_path):
    n = 600_000
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, 3))
    y = x + rng.normal(scale=1.5, size=(n, 3))  # mostly aligned: cosine similarity mostly negative
    rows = (250_000, 50_000, n - 300_000)
    result = distributed.evaluate(
        lazy(tmp_path, "x", x, rows), lazy(tmp_path, "y", y, rows), "cosine_similarity"
    )
    reference = core(x, y, [("cosine_similarity", {})], None)
    assert reference[0].stats.min < 0 < reference[0].stats.max
    assert_equal_to_core(result, reference)
    probabilities = rng.uniform(size=n)
    probabilities[::1000] = 0.0  # clipped by epsilon
    labels = (rng.uniform(size=n) < 0.5).astype(np.float64)
    result = distributed.evaluate(
        lazy(tmp_path, "q", probabilities, rows), lazy(tmp_path, "l", labels, rows), "bce"
    )
    reference = core(probabilities, labels, [("bce", {})], None)
    assert result.results[0].clipped == reference[0].clipped > 0
    assert_equal_to_core(result, reference)


def test_a_loss_without_targets_on_three_dimensional_rows(cluster, tmp_path):
    n = 200_000  # (n, 3, 4): anchor, positive, negative embeddings
    rng = np.random.default_rng(6)
    triplets = rng.normal(size=(n, 3, 4))
    triplets[77_777, 1, 2] = np.nan
    rows = (90_000, 10_000, n - 100_000)
    spec = {"name": "triplet_margin", "margin": 0.5}
    result = distributed.evaluate(lazy(tmp_path, "e", triplets, rows), None, [spec], nan_policy="omit")
    reference = evaluate(
        [LossSpec(get("triplet_margin"), get("triplet_margin").params(margin=0.5))],
        triplets,
        None,
        None,
        Options(include=frozenset({"stats"}), nan_policy="omit"),
    )
    assert result.results[0].omitted == 1
    assert_equal_to_core(result, reference)


def test_chunks_beyond_the_cores_work_limit_are_evaluated_in_parts(cluster, service, tmp_path, monkeypatch):
    """The pairs of 20-item lists: 400 cells a row, and the core takes at most 4,194,304 per call
    (a request); chunks of 12,000 and 20,000 rows are evaluated in halves and merged."""
    import service.losses.checks as checks

    n, length = 40_000, 20
    rng = np.random.default_rng(7)
    scores = rng.normal(size=(n, length))
    relevance = rng.integers(0, 4, size=(n, length)).astype(np.float64)
    rows = (12_000, 20_000, 8_000)
    specs = ["pairwise_hinge", {"name": "pairwise_logistic"}]
    too_much = problem_of(service.evaluate, scores, relevance, specs[:1])
    assert too_much.status == 413  # the service: too much work for one request
    result = distributed.evaluate(
        lazy(tmp_path, "s", scores, rows), lazy(tmp_path, "r", relevance, rows), specs
    )
    monkeypatch.setattr(checks, "MAX_CELLS", 10**12)  # the reference: the whole in one call
    reference = core(scores, relevance, [("pairwise_hinge", {}), ("pairwise_logistic", {})], None)
    assert_equal_to_core(result, reference)
    one_row_too_long = rng.normal(size=(3, 2_100))  # 4.4M cells in one row: no part is small enough
    got = problem_of(distributed.evaluate, one_row_too_long, np.ones((3, 2_100)), "pairwise_hinge")
    assert (got.status, got.type) == (413, too_much.type) and got.errors[0].location == "body.predictions"


def test_propagate_makes_the_whole_unknown(cluster):
    p = np.linspace(0, 1, 10_000)
    p[7_777] = np.nan
    chunked = da.from_array(p, chunks=3_000)
    result = distributed.evaluate(chunked, np.zeros(10_000), ["mae", "rmse"], nan_policy="propagate")
    reference = core(p, np.zeros(10_000), [("mae", {}), ("rmse", {})], None, nan_policy="propagate")
    for got, want in zip(result.results, reference, strict=True):
        assert got.value is None and got.weight_sum is None and got.count == want.count == 10_000
        assert got.omitted == want.omitted == 0
        assert got.stats.mean is None and all(v is None for v in got.stats.quantiles.values())


def problem_of(call, *args, **kwargs) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        call(*args, **kwargs)
    return caught.value


def assert_same_problem(got: ProblemError, want: ProblemError) -> None:
    assert (got.status, got.type, got.title, got.detail) == (want.status, want.type, want.title, want.detail)
    assert got.errors == want.errors


def chunks(array: np.ndarray, size: int = 1_000) -> object:
    return da.from_array(array, chunks=(size, *array.shape[1:]))


def bad_inputs() -> list[tuple[str, np.ndarray, np.ndarray, list, np.ndarray | None, dict]]:
    n = 5_000
    rng = np.random.default_rng(3)
    probabilities = np.full((n, 3), 1 / 3)
    labels = rng.integers(0, 3, size=n).astype(np.float64)
    late_label = labels.copy()
    late_label[3_210] = 3.0
    nan_late = rng.normal(size=n)
    nan_late[4_321] = np.nan
    nan_targets_early = rng.normal(size=n)
    nan_targets_early[10] = np.nan
    scores = rng.normal(size=n)
    mixed = np.ones(n)
    mixed[[1_500, 1_700]] = 0.0  # chunk 1 uses {0, 1}
    mixed[[3_003, 3_100]] = -1.0  # chunk 3 uses {-1, +1}
    mixed_in_one_chunk = np.ones(n)
    mixed_in_one_chunk[[2_050, 2_010]] = [-1.0, 0.0]
    negative = rng.uniform(size=n)
    negative[2_500] = -1.0
    zeros = np.zeros(n)
    omitted, wider = rng.normal(size=(n, 2)), rng.normal(size=(n, 3))
    omitted[[5, 2_005]] = np.nan
    return [
        ("a label out of range in a later chunk", probabilities, late_label, ["cross_entropy"], None, {}),
        (
            "a NaN in the predictions is named before an earlier label error",
            np.where(np.isnan(nan_late)[:, None], np.nan, probabilities),
            late_label,
            ["cross_entropy"],
            None,
            {},
        ),
        ("non-finite predictions before targets", nan_late, nan_targets_early, ["mse"], None, {}),
        ("the first loss's problem first", scores, mixed, ["mse", "hinge", "cross_entropy"], None, {}),
        ("margin encodings mixed across chunks", scores, mixed, ["hinge", "squared_hinge"], None, {}),
        ("margin encodings mixed in one chunk", scores, mixed_in_one_chunk, ["hinge"], None, {}),
        ("a negative weight", scores, scores, ["mse"], negative, {}),
        ("weights all zero", scores, scores, ["mse"], zeros, {}),
        ("shapes that differ, rows omitted", omitted, wider, ["mse"], None, {"nan_policy": "omit"}),
        ("a reduction the loss lacks", scores, scores, ["rmse"], None, {"reduction": "sum"}),
        ("a parameter out of range", scores, scores, ["mse", {"name": "huber", "delta": -1}], None, {}),
        ("an unknown loss", scores, scores, ["msee"], None, {}),
        ("an unknown option value", scores, scores, ["mse"], None, {"nan_policy": "ignore"}),
        ("targets missing for a loss that takes them", scores, None, ["mse"], None, {}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "predictions", "targets", "losses", "weights", "options"), bad_inputs(), ids=lambda v: v
)
def test_problems_are_the_services(cluster, service, case, predictions, targets, losses, weights, options):
    want = problem_of(service.evaluate, predictions, targets, losses, weights, **options)
    chunked_weights = None if weights is None else chunks(weights)
    chunked_targets = None if targets is None else chunks(targets)
    got = problem_of(
        distributed.evaluate, chunks(predictions), chunked_targets, losses, chunked_weights, **options
    )
    assert_same_problem(got, want)


def test_what_is_not_gathered_is_refused(cluster):
    x = np.ones(10)
    with pytest.raises(ValueError, match="per_sample"):
        distributed.evaluate(x, x, "mse", include=["stats", "per_sample"])
    with pytest.raises(ValueError, match="reduction 'none'"):
        distributed.evaluate(x, x, "mse", reduction="none")
    with pytest.raises(TypeError, match="unexpected options"):
        distributed.evaluate(x, x, "mse", reduce="sum")  # type: ignore[call-arg]
    assert distributed.evaluate(x, x, "mse", include=[]).results[0].stats is None


def test_parquet_by_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(4)
    p, t = rng.normal(size=(1_000, 3)), rng.normal(size=1_000)
    table = pa.table({"p": pa.FixedSizeListArray.from_arrays(pa.array(p.ravel()), 3), "t": t, "u": t * 2})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=300)
    rows = distributed.read_parquet(tmp_path / "d.parquet", "p")
    assert rows.chunks == ((300, 300, 300, 100), (3,))
    np.testing.assert_array_equal(rows.compute(scheduler="sync"), p)
    both = distributed.read_parquet(tmp_path / "d.parquet", ["t", "u"])
    np.testing.assert_array_equal(both.compute(scheduler="sync"), np.column_stack([t, t * 2]))
    with pytest.raises(KeyError, match="no column 'v'"):
        distributed.read_parquet(tmp_path / "d.parquet", "v")


def test_command_line_on_a_local_cluster_and_on_a_scheduler(cluster, tmp_path, service):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 200_000
    rng = np.random.default_rng(5)
    p, t = rng.normal(size=n), rng.normal(size=n)
    np.save(tmp_path / "p.npy", p)
    pq.write_table(
        pa.table({"target": t, "weight": rng.uniform(size=n)}), tmp_path / "d.parquet", row_group_size=45_000
    )
    w = pq.read_table(tmp_path / "d.parquet").column("weight").to_numpy()
    runner = CliRunner()
    common = [
        "evaluate",
        str(tmp_path / "p.npy"),
        f"{tmp_path / 'd.parquet'}:target",
        "-l",
        "mse",
        "-l",
        "huber:delta=0.5",
    ]
    on_workers = runner.invoke(app, [*common, "--workers", "2", "--format", "json"])
    assert on_workers.exit_code == 0, on_workers.stderr
    answer = json.loads(on_workers.stdout)
    reference = service.evaluate(p, t, ["mse", {"name": "huber", "delta": 0.5}])
    assert answer["n_samples"] == n
    for got, want in zip(answer["results"], reference.results, strict=True):
        assert got["value"] == pytest.approx(want.value, rel=1e-9) and got["count"] == want.count
    weighted = ["--weights", f"{tmp_path / 'd.parquet'}:weight", "--scheduler", cluster.scheduler_address]
    on_scheduler = runner.invoke(app, [*common, *weighted])
    assert on_scheduler.exit_code == 0, on_scheduler.stderr
    assert "huber" in on_scheduler.stdout and f"{n} samples" in on_scheduler.stdout
    expected = service.evaluate(p, t, "mse", w).results[0].value
    assert f"{expected:.6g}" in on_scheduler.stdout
    npy = str(tmp_path / "p.npy")
    wrong = runner.invoke(app, ["evaluate", npy, npy, "-l", "msee", "--scheduler", cluster.scheduler_address])
    assert wrong.exit_code == 1 and "Unknown loss" in wrong.stderr
    csv = runner.invoke(app, [*common[:2], str(tmp_path / "t.csv"), *common[3:], "--workers", "2"])
    assert csv.exit_code == 2 and ".npy or .parquet" in csv.stderr
    np.save(tmp_path / "short.npy", p[:-1])
    short = runner.invoke(app, [*common[:2], str(tmp_path / "short.npy"), *common[3:], "--workers", "2"])
    assert short.exit_code == 2 and "one row per sample" in short.stderr
    stats_only = runner.invoke(app, [*common, "--workers", "2", "--include", "gradient"])
    assert stats_only.exit_code == 2 and "gradient" in stats_only.stderr
