"""``loss-service evaluate --scheduler tcp://HOST:PORT`` or ``--workers N``: evaluation on a Dask
cluster (``service.distributed``) of ``.npy`` and Parquet files read lazily by the workers, in
chunks, so that neither this process nor any worker holds the whole arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import usage_error
from .files import split_source

DISTRIBUTED_SUFFIXES = {".npy": "npy", ".parquet": "parquet", ".pq": "parquet"}


def lazy_arrays(sources: dict[str, str]) -> dict[str, Any]:
    """Sources as Dask arrays read by the workers (``PATH.npy`` or ``PATH.parquet[:COLUMNS]``), all
    in the same row chunks (a Parquet file's row groups, or about 2M elements of the predictions)
    so that each chunk is read where it is evaluated."""
    from ..distributed import NpyFile, chunk_rows, read_npy, read_parquet

    kinds = {}
    for role, source in sources.items():
        path, key = split_source(source)
        kind = DISTRIBUTED_SUFFIXES.get(Path(path).suffix.lower())
        if source == "-" or kind is None:
            usage_error(f"{role}: on a cluster, arrays are read from .npy or .parquet files; got {source!r}.")
        if not Path(path).is_file():
            usage_error(f"{role}: no such file: {path}")
        if kind == "npy" and key:
            usage_error(f"{role}: a .npy file holds one array; drop ':{key}'.")
        kinds[role] = (kind, path, key)
    arrays: dict[str, Any] = {}
    rows: Any = None
    # Parquet first: its row groups are the chunks the others follow.
    for role, (kind, path, key) in sorted(kinds.items(), key=lambda item: item[1][0] != "parquet"):
        try:
            if kind == "parquet":
                import pyarrow.parquet as pq

                columns = key.split(",") if key else pq.ParquetFile(path).schema_arrow.names
                arrays[role] = read_parquet(path, [column.strip() for column in columns])
            else:
                shape = NpyFile(path).shape
                if rows is None or (isinstance(rows, tuple) and shape and sum(rows) != shape[0]):
                    rows = chunk_rows(shape)  # a length mismatch is reported below
                arrays[role] = read_npy(path, rows=rows)
        except (ValueError, OSError, KeyError) as error:
            usage_error(f"{role}: cannot read {path} as {kind}: {error}")
        if rows is None and arrays[role].ndim:
            rows = arrays[role].chunks[0]
    return {role: arrays[role] for role in sources}


def evaluate(
    sources: dict[str, str],
    specs: list[Any],
    options: dict[str, Any],
    scheduler: str | None,
    workers: int | None,
) -> Any:
    """Evaluate on the cluster at ``scheduler``, or on a local cluster of ``workers`` processes."""
    from contextlib import ExitStack

    from .common import call
    from .progress import shape_mismatch

    try:
        import distributed as dask_distributed

        from ..distributed import evaluate as evaluate_on_cluster
    except ImportError:
        usage_error("evaluating on a cluster needs Dask: pip install 'loss-service[distributed]'")
    arrays = lazy_arrays(sources)
    mismatch = shape_mismatch(arrays)
    if mismatch:
        usage_error(mismatch)
    with ExitStack() as stack:
        if scheduler is not None:
            try:
                client = stack.enter_context(dask_distributed.Client(scheduler, timeout="10s"))
            except (OSError, TimeoutError) as error:
                from rich.console import Console

                Console(stderr=True, highlight=False).print(f"[red]cannot reach {scheduler}[/red]: {error}")
                raise SystemExit(1) from None
        else:
            cluster = stack.enter_context(
                dask_distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                )
            )
            client = stack.enter_context(dask_distributed.Client(cluster))
        del client  # the default scheduler from here on
        try:
            return call(
                evaluate_on_cluster,
                arrays["predictions"],
                arrays.get("targets"),
                specs,
                arrays.get("weights"),
                **options,
            )
        except ValueError as error:
            usage_error(str(error))
