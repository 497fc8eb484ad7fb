"""Evaluation of arrays larger than one machine's memory, on a Dask cluster.

``evaluate(predictions, targets, losses, weights=None, **options)`` answers what ``POST
/v1/evaluate`` answers for the whole arrays with ``include=["stats"]`` (an ``Evaluation``, as
``Client.evaluate`` returns), computed chunk by chunk:

1. the arrays are Dask arrays chunked along the samples (anything array-like is wrapped), re-chunked
   to the same sample chunks, each chunk whole along its other axes;
2. each chunk is evaluated with the service's core (``service.losses.evaluate`` with
   ``Options(accumulate=True)`` and the request's ``nan_policy``) into one mergeable accumulator per
   loss (``service.losses.accumulate``), serialized (``Accumulator.to_bytes``: a few kB however
   large the chunk);
3. the accumulators are merged in a tree reduction on the cluster (``split_every`` at a time);
4. the merged accumulators are finalised once (``Accumulator.finalize`` with the reduction and the
   loss's transform, e.g. RMSE's square root, applied after merging).

``value``, ``count``, ``weight_sum``, ``omitted``, ``ignored``, ``clipped`` and the statistics'
``mean``, ``std``, ``min``, ``max`` and ``sum`` equal the service's to about 1e-12 relative (sums
in another order); quantiles are within the sketch's relative accuracy α = 0.01 of the exact ones
(``RELATIVE_ACCURACY``). ``stats.top`` is empty: the worst rows are per-sample figures, which
this evaluation never gathers. ``per_sample``, ``gradient``, ``breakdown``, ``inputs`` and
reduction ``none`` (per-sample answers) are not offered.

Errors are those of the service. The request (losses, options) is validated as the service
validates it, and the arrays' shapes before anything is computed. A chunk that breaks a loss's
contract (a label out of range, a NaN under ``nan_policy="raise"``) gives the problem the service
would give, located at its row in the whole array: of several culprits, the one the service names
first (its checks run in order: weights, then non-finite predictions, targets, weights, then each
loss in order); within one loss, the first chunk's. Two checks look at the whole batch rather than
at rows, and are made across chunks here: weights that are all 0 (one chunk of zero weights is
fine), and margin losses' targets that mix the {-1, +1} and {0, 1} encodings (each chunk could use
one encoding and pass). The work one loss may do per request (``TooLarge``, a 413 from the
service) is a request's limit, not applied: a chunk beyond it is evaluated in halves, merged.

Needs the ``distributed`` extra: ``pip install 'loss-service[distributed]'``. The computation runs
where Dask's default scheduler runs it: the active ``distributed.Client`` when there is one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Unpack

import numpy as np

try:
    import dask
    import dask.array as da
    from dask.delayed import Delayed, delayed
except ImportError as error:  # pragma: no cover - the extra is part of the test install
    raise ImportError("service.distributed needs Dask: pip install 'loss-service[distributed]'") from error

from .arrow import column_array
from .client.evaluation import loss_specs
from .client.plans import EvaluateOptions, Losses, refuse_unknown
from .client.problem import ErrorLocation, ProblemError
from .client.results import Evaluation, LossResult, Stats
from .losses import LossSpec, Options, registry
from .losses import evaluate as evaluate_core
from .losses.accumulate import Accumulator, Sketch, merge_all
from .losses.errors import ErrorItem, InvalidInput, LossError, NonFiniteInput, TooLarge
from .losses.evaluate import prepare, without_targets

__all__ = ["evaluate", "read_npy", "read_parquet"]

# Chunks of a few million elements: large enough that the per-chunk work dwarfs Dask's per-task
# overhead (~1 ms), small enough that a worker holds a few at once.
CHUNK_ELEMENTS = 1 << 21
SPLIT_EVERY = 8
ROLES = ("predictions", "targets", "weights")
# The order in which the service's prepare() checks the arrays (see Partial.rank).
PREPARE_ORDER = {"negative weights": 0, "all-zero weights": 1, "predictions": 2, "targets": 3, "weights": 4}


# ---- what a chunk (or a subtree of chunks) hands up the reduction ---------------------------------


@dataclass
class Failure:
    """A chunk's error as the core raised it, located in the whole arrays.

    ``rank`` orders failures as the service would meet them on the whole arrays: (0, check) for the
    shared checks, (1, loss position) for a loss's; then the chunk's first row.
    """

    rank: tuple[int, int, float]
    status: int
    kind: str
    title: str
    detail: str
    errors: list[tuple[tuple[str | int, ...], str]]


@dataclass
class Partial:
    """The reduction's payload: one serialized accumulator per loss (None once any chunk failed),
    the first failure, and what the whole-batch checks need."""

    accumulators: list[bytes] | None
    failure: Failure | None = None
    rows: int = 0
    kept: int = 0  # rows with finite inputs (the rows a loss sees)
    any_finite_weight: bool = False
    any_positive_weight: bool = False
    first_zero: tuple[int, ...] | None = None  # of the targets, among kept rows (margin losses)
    first_minus_one: tuple[int, ...] | None = None
    sign_losses: tuple[int, ...] = field(default_factory=tuple)


def _first(a: tuple[int, ...] | None, b: tuple[int, ...] | None) -> tuple[int, ...] | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def combine(*given: Partial | np.ndarray) -> Partial:
    """Partials of adjacent chunks as one: accumulators merged, the first failure kept."""
    parts = [_unwrap(part) for part in given]
    failures = [p.failure for p in parts if p.failure is not None]
    failure = min(failures, key=lambda f: f.rank) if failures else None
    accumulators = None
    if failure is None:
        columns = zip(*(p.accumulators or [] for p in parts), strict=True)
        accumulators = [merge_all(Accumulator.from_bytes(b) for b in column).to_bytes() for column in columns]
    first_zero = first_minus_one = None
    for p in parts:
        first_zero = _first(first_zero, p.first_zero)
        first_minus_one = _first(first_minus_one, p.first_minus_one)
    return Partial(
        accumulators,
        failure,
        rows=sum(p.rows for p in parts),
        kept=sum(p.kept for p in parts),
        any_finite_weight=any(p.any_finite_weight for p in parts),
        any_positive_weight=any(p.any_positive_weight for p in parts),
        first_zero=first_zero,
        first_minus_one=first_minus_one,
        sign_losses=parts[0].sign_losses,
    )


# ---- one chunk -------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _specs(specs: tuple[tuple[str, str], ...]) -> list[LossSpec]:
    """Loss specs from (canonical name, JSON parameters), validated once per worker process."""
    resolved = []
    for name, params in specs:
        definition = registry.get(name)
        resolved.append(LossSpec(definition, definition.params.model_validate_json(params)))
    return resolved


def _is_sign_loss(spec: LossSpec) -> bool:
    """A margin loss: targets in {-1, +1} or in {0, 1}, one encoding per batch."""
    return "sign" in spec.definition.mode_for(spec.params).targets


_ROW = re.compile(r"\b(predictions|targets|weights)\[(\d+)\]")


def _shift_text(text: str, start: int) -> str:
    return _ROW.sub(lambda m: f"{m.group(1)}[{int(m.group(2)) + start}]", text)


def _failure(error: LossError, rank: tuple[int, int, float], start: int, kept: int, position: int) -> Failure:
    """The error located in the whole arrays: rows moved by ``start``, parameters at ``position``,
    and the chunk's row count in shapes marked, to be replaced by the whole's (``_KEPT``)."""
    shape = re.compile(rf"\({kept}(?=[,)])")

    def text(value: str) -> str:
        return shape.sub("(" + _KEPT, _shift_text(value, start))

    errors = []
    for item in error.errors:
        location = item.location
        if location[:1] == ("losses",) and len(location) > 1:
            location = ("losses", position, *location[2:])
        elif len(location) > 1 and location[0] in ROLES and isinstance(location[1], int):
            location = (location[0], location[1] + start, *location[2:])
        errors.append((location, text(item.message)))
    status = 413 if isinstance(error, TooLarge) else 422
    return Failure(rank, status, error.kind, error.title, text(error.detail), errors)


_KEPT = "\x00rows\x00"


def _prepare_rank(error: LossError) -> int:
    location = error.errors[0].location if error.errors else ()
    if isinstance(error, NonFiniteInput):
        return PREPARE_ORDER[str(location[0])]
    return PREPARE_ORDER["negative weights"]


def evaluate_chunk(
    predictions: Any,
    targets: Any,
    weights: Any,
    start: int,
    specs: tuple[tuple[str, str], ...],
    reduction: str,
    nan_policy: str,
) -> Partial:
    """Evaluate one chunk (rows ``start`` on) with the core, into serialized accumulators.
    ``targets`` is None when no loss takes targets."""
    p = np.asarray(predictions, dtype=np.float64)
    # No targets: (n, 0), as the core gives the losses that take none.
    t = (
        np.empty((p.shape[0] if p.ndim else 0, 0))
        if targets is None
        else np.asarray(targets, dtype=np.float64)
    )
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    resolved = _specs(specs)
    signs = tuple(i for i, spec in enumerate(resolved) if _is_sign_loss(spec))
    partial = Partial(None, rows=int(p.shape[0]), sign_losses=signs)
    if p.shape[0] == 0:
        partial.accumulators = [Accumulator.empty().to_bytes() for _ in resolved]
        return partial
    weights_given = w
    if w is not None:
        finite = w[np.isfinite(w)]
        partial.any_finite_weight = bool(finite.size)
        partial.any_positive_weight = bool(finite.any())
        # The core refuses a batch whose weights are all 0; the whole may still have positive
        # weights elsewhere (checked across chunks, see _accumulate).
        if partial.any_finite_weight and not partial.any_positive_weight:
            w = np.where(np.isfinite(w), 1.0, w)
    try:
        data = prepare(p, t, w, nan_policy)  # type: ignore[arg-type]
    except LossError as error:
        rank = (0, _prepare_rank(error), float(start))
        partial.failure = _failure(error, rank, start, int(p.shape[0]), 0)
        return partial
    partial.kept = data.n_samples - data.omitted
    mapped = t
    if signs:
        kept_targets = data.rows(t)
        rows = (
            np.arange(start, start + p.shape[0]) if data.keep is None else np.flatnonzero(data.keep) + start
        )
        for value, name in ((0.0, "first_zero"), (-1.0, "first_minus_one")):
            hits = kept_targets == value
            if hits.any():
                index = np.unravel_index(int(np.argmax(hits)), hits.shape)
                setattr(partial, name, (int(rows[index[0]]), *(int(i) for i in index[1:])))
        if partial.first_zero is not None and partial.first_minus_one is not None:
            # Both encodings in this chunk: the whole is refused (see finish()); 0 and -1 both
            # mean "negative", so the chunk is still evaluated for the other checks.
            mapped = np.where(t == 0.0, -1.0, t)
    options = Options(
        reduction=reduction,  # type: ignore[arg-type]
        nan_policy=nan_policy,  # type: ignore[arg-type]
        include=frozenset(),
        accumulate=True,
    )
    accumulators = []
    for position, spec in enumerate(resolved):
        try:
            accumulator = _accumulate(spec, p, mapped if position in signs else t, weights_given, options)
        except LossError as error:
            partial.failure = _failure(error, (1, position, float(start)), start, partial.kept, position)
            return partial
        accumulators.append(accumulator.to_bytes())
    partial.accumulators = accumulators
    return partial


def _accumulate(
    spec: LossSpec, p: np.ndarray, t: np.ndarray, w: np.ndarray | None, options: Options
) -> Accumulator:
    """One loss's accumulator of these rows, from the core.

    Rows whose finite weights are all 0 (which the core refuses as a batch) are evaluated with
    weight 1 and their weighed sums zeroed. Rows whose loss needs more work than the core allows
    one request (``TooLarge``: the pairs of long lists, a CTC lattice) are evaluated in halves and
    the halves' accumulators merged, which is exact: a chunk is no request.
    """
    zero_weights = False
    if w is not None:
        finite = w[np.isfinite(w)]
        if finite.size and not finite.any():
            zero_weights, w = True, np.where(np.isfinite(w), 1.0, w)
    try:
        (result,) = evaluate_core([spec], p, t, w, options)
    except TooLarge:
        if p.shape[0] < 2:
            raise
        half = p.shape[0] // 2
        halves = []
        for low, high in ((0, half), (half, p.shape[0])):
            try:
                halves.append(
                    _accumulate(spec, p[low:high], t[low:high], None if w is None else w[low:high], options)
                )
            except LossError as error:
                raise _shifted(error, low) from None
        accumulator = merge_all(halves)
    else:
        assert result.accumulator is not None
        accumulator = result.accumulator
    if zero_weights:
        accumulator = replace(
            accumulator,
            weight_sum=0.0,
            total=0.0,
            sum=0.0,
            m2=0.0,
            min=math.inf,
            max=-math.inf,
            sketch=Sketch.empty(),
        )
    return accumulator


def _shifted(error: LossError, rows: int) -> LossError:
    """The error with its row locations (and the rows its texts quote) moved by ``rows``."""
    shifted = error.at()
    shifted.errors = tuple(
        ErrorItem(
            (e.location[0], e.location[1] + rows, *e.location[2:])
            if len(e.location) > 1 and e.location[0] in ROLES and isinstance(e.location[1], int)
            else e.location,
            _shift_text(e.message, rows),
        )
        for e in error.errors
    )
    shifted.detail = _shift_text(error.detail, rows)
    shifted.args = (shifted.detail,)
    return shifted


# ---- the whole -------------------------------------------------------------------------------------


def _problem(failure: Failure, kept: int) -> ProblemError:
    from .api.problems import TYPE_PREFIX, format_location

    def text(value: str) -> str:
        return value.replace(_KEPT, str(kept))

    return ProblemError(
        failure.status,
        TYPE_PREFIX + failure.kind,
        failure.title,
        text(failure.detail),
        [ErrorLocation(format_location(location), text(message)) for location, message in failure.errors],
    )


def _where(index: tuple[int, ...]) -> str:
    return "".join(f"[{i}]" for i in index)


def _whole_batch_failures(partial: Partial, weighted: bool) -> list[Failure]:
    """The checks the service makes on the whole batch, which no single chunk can make."""
    failures = []
    if weighted and partial.any_finite_weight and not partial.any_positive_weight:
        message = "weights are all 0: at least one sample needs a positive weight."
        rank = (0, PREPARE_ORDER["all-zero weights"], 0.0)
        failures.append(
            Failure(rank, 422, InvalidInput.kind, InvalidInput.title, message, [(("weights",), message)])
        )
    zero, minus = partial.first_zero, partial.first_minus_one
    if partial.sign_losses and zero is not None and minus is not None:
        # The message of service.losses.margin.signs, with both rows in the whole array.
        message = (
            f"targets{_where(zero)} = 0 but targets{_where(minus)} = -1: the targets mix the encodings "
            "{-1, +1} and {0, 1}. Send one encoding per request."
        )
        rank = (1, partial.sign_losses[0], math.inf)  # after that loss's row-by-row checks
        failures.append(
            Failure(
                rank, 422, InvalidInput.kind, InvalidInput.title, message, [(("targets", *zero), message)]
            )
        )
    return failures


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def finish(
    partial: Partial, specs: Sequence[LossSpec], reduction: str, include: frozenset[str], weighted: bool
) -> Evaluation:
    """The merged accumulators as evaluate's answer (or the first problem, raised)."""
    failures = _whole_batch_failures(partial, weighted)
    if partial.failure is not None:
        failures.append(partial.failure)
    if failures:
        raise _problem(min(failures, key=lambda f: f.rank), partial.kept) from None
    assert partial.accumulators is not None
    results = []
    for spec, data in zip(specs, partial.accumulators, strict=True):
        summary = Accumulator.from_bytes(data).finalize(reduction, spec.definition.transform)
        stats = None
        if "stats" in include:
            stats = Stats(
                mean=_number(summary.mean),
                std=_number(summary.std),
                min=_number(summary.min),
                max=_number(summary.max),
                sum=_number(summary.sum),
                quantiles={q: _number(v) for q, v in summary.quantiles.items()},
                top=[],
            )
        results.append(
            LossResult(
                loss=spec.definition.name,
                params=spec.params.model_dump(mode="json"),
                reduction=reduction,
                value=_number(summary.value),
                count=summary.count,
                weight_sum=_number(summary.weight_sum),
                omitted=summary.omitted,
                ignored=summary.ignored,
                clipped=summary.clipped,
                stats=stats,
            )
        )
    return Evaluation("v1", partial.rows, results)


def _request(losses: Losses, options: Mapping[str, Any]) -> tuple[list[LossSpec], Any]:
    """The losses and options validated as the service validates a request (same problems)."""
    from pydantic import ValidationError

    from .api.problems import TYPE_PREFIX, validation_problem
    from .api.schemas import evaluate_request_model
    from .api.translate import to_spec

    refuse_unknown("evaluate", options, EvaluateOptions)
    payload = {"losses": loss_specs(losses), "predictions": None, "targets": None, **options}
    if "include" in payload:
        payload["include"] = list(payload["include"])
    try:
        request: Any = evaluate_request_model().model_validate(payload)
    except ValidationError as error:
        problem = validation_problem(error.errors())
        raise ProblemError(
            problem.status,
            TYPE_PREFIX + problem.kind,
            problem.title,
            problem.detail,
            [ErrorLocation(location, message) for location, message in problem.errors],
        ) from None
    unsupported = set(request.include) - {"stats"}
    if unsupported:
        raise ValueError(
            f"include {sorted(unsupported)}: distributed evaluation answers value and stats only; "
            "per-sample figures (per_sample, gradient, breakdown, inputs) are not gathered."
        )
    if request.reduction == "none":
        raise ValueError(
            "reduction 'none' answers per-sample losses, which distributed evaluation does not "
            "gather; use mean, sum or sum_over_batch_size."
        )
    return [to_spec(spec) for spec in request.losses], request


# ---- arrays ----------------------------------------------------------------------------------------


def as_dask(array: Any) -> da.Array:
    """A Dask array of ``array`` (chunks of about ``CHUNK_ELEMENTS`` rows' worth when wrapped)."""
    if isinstance(array, da.Array):
        return array
    array = np.asarray(array)
    if array.ndim == 0:
        return da.from_array(array)
    row = max(1, math.prod(array.shape[1:]))
    return da.from_array(array, chunks=(max(1, CHUNK_ELEMENTS // row), *array.shape[1:]))


def _aligned(arrays: Mapping[str, da.Array]) -> dict[str, da.Array]:
    """Every array with the predictions' sample chunks and whole along its other axes."""
    predictions = arrays["predictions"]
    if any(math.isnan(size) for array in arrays.values() for size in array.shape):
        raise ValueError(
            "the arrays' lengths are unknown (chunks of unknown size); call .compute_chunk_sizes() first."
        )
    rows = predictions.chunks[0]
    aligned = {}
    for name, array in arrays.items():
        chunks = {0: rows, **{axis: -1 for axis in range(1, array.ndim)}}
        aligned[name] = array.rechunk(chunks)
    return aligned


def _check_shapes(arrays: Mapping[str, da.Array], specs: Sequence[LossSpec], nan_policy: str) -> None:
    """The service's shape checks (one row per sample, weights (N,), targets unless no loss takes
    any), with its messages: the core sees arrays of the same shapes that take no memory."""

    def probe(name: str) -> np.ndarray | None:
        array = arrays.get(name)
        return None if array is None else np.broadcast_to(np.float64(0.0), array.shape)

    predictions, targets, weights = probe("predictions"), probe("targets"), probe("weights")
    assert predictions is not None
    n = predictions.shape[0] if predictions.ndim else 0
    if weights is not None and weights.shape == (n,):
        weights = None  # right; its values are the chunks' business
    try:
        if targets is None:
            targets = without_targets(specs, predictions)
        prepare(predictions, targets, weights, nan_policy)  # type: ignore[arg-type]
    except LossError as error:
        from .api.problems import TYPE_PREFIX, format_location

        raise ProblemError(
            422,
            TYPE_PREFIX + error.kind,
            error.title,
            error.detail,
            [ErrorLocation(format_location(e.location), e.message) for e in error.errors],
        ) from None


def evaluate(
    predictions: Any,
    targets: Any | None,
    losses: Losses,
    weights: Any = None,
    *,
    split_every: int = SPLIT_EVERY,
    **options: Unpack[EvaluateOptions],
) -> Evaluation:
    """Evaluate losses on Dask arrays (or anything array-like) chunk by chunk on the cluster.

    The answer is ``POST /v1/evaluate``'s for the whole arrays (see the module docstring for what is
    exact, what is within α, and what is left out); ``options`` are evaluate's ``reduction``,
    ``nan_policy``, ``include`` (``["stats"]`` or ``[]``), ``top_k`` and ``array_encoding`` (the
    last two change nothing here). Accumulators are merged ``split_every`` at a time.
    A problem raises ``ProblemError`` as the service would answer it.
    """
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2; got {split_every}.")
    specs, request = _request(losses, options)
    given = {"predictions": as_dask(predictions)}
    if targets is not None:
        given["targets"] = as_dask(targets)
    if weights is not None:
        given["weights"] = as_dask(weights)
    _check_shapes(given, specs, request.nan_policy)
    arrays = _aligned(given)
    # The graph carries loss names and parameters, not objects.
    payload = tuple((spec.definition.name, spec.params.model_dump_json()) for spec in specs)
    rows = arrays["predictions"].chunks[0]
    starts = da.from_array(
        np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64), chunks=((1,) * len(rows),)
    )
    # One task per chunk, fused by Dask with the tasks that read its rows of every array (a file
    # read by read_npy or read_parquet, or slices of an array), so no array travels between workers.
    inputs: list[Any] = [starts, "i"]
    for name, array in arrays.items():
        # The sample axis is shared; every other axis has a letter of its own (whole in one chunk).
        letters = {"predictions": "abcdefg", "targets": "hjkmnop", "weights": "qrstuvw"}[name]
        inputs += [array, "i" + letters[: array.ndim - 1]]
    blocks = da.blockwise(
        _evaluate_block,
        "i",
        *inputs,
        dtype=object,
        concatenate=True,
        align_arrays=False,  # the starts have one element per chunk: same blocks, other sizes
        adjust_chunks={"i": 1},
        meta=np.empty((0,), dtype=object),
        roles=tuple(arrays),
        specs=payload,
        reduction=request.reduction,
        nan_policy=request.nan_policy,
    )
    tasks: list[Delayed] = list(blocks.to_delayed().ravel())
    while len(tasks) > 1:
        groups = [tasks[i : i + split_every] for i in range(0, len(tasks), split_every)]
        tasks = [delayed(combine, pure=True)(*group) for group in groups]
    (partial,) = dask.compute(tasks[0])
    return finish(_unwrap(partial), specs, request.reduction, frozenset(request.include), "weights" in given)


def _evaluate_block(
    start: np.ndarray,
    *blocks: np.ndarray,
    roles: tuple[str, ...],
    specs: tuple[tuple[str, str], ...],
    reduction: str,
    nan_policy: str,
) -> np.ndarray:
    """``evaluate_chunk`` as a block of a Dask array (the chunk's arrays in the order of ``roles``):
    one object, the chunk's Partial."""
    given = dict(zip(roles, blocks, strict=True))
    partial = evaluate_chunk(
        given["predictions"],
        given.get("targets"),
        given.get("weights"),
        int(start[0]),
        specs,
        reduction,
        nan_policy,
    )
    block = np.empty(1, dtype=object)
    block[0] = partial
    return block


def _unwrap(part: Partial | np.ndarray) -> Partial:
    return part if isinstance(part, Partial) else part[0]  # type: ignore[no-any-return]


# ---- files, read lazily by the workers -------------------------------------------------------------


class NpyFile:
    """A ``.npy`` file as an array-like whose slices are read when asked for (memory mapped, so
    only the rows asked for are read): what ``da.from_array`` needs to read it in the workers."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(Path(path).resolve())
        header = np.load(self.path, mmap_mode="r")  # reads the header only
        self.shape: tuple[int, ...] = header.shape
        self.dtype = header.dtype
        self.ndim = len(self.shape)
        stat = Path(self.path).stat()
        self._token = (self.path, stat.st_size, stat.st_mtime_ns)

    def __dask_tokenize__(self) -> Any:
        return ("NpyFile", *self._token)

    def __getitem__(self, index: Any) -> np.ndarray:
        return np.array(np.load(self.path, mmap_mode="r")[index])


def chunk_rows(shape: tuple[int, ...], chunk_elements: int = CHUNK_ELEMENTS) -> int:
    """Rows per chunk for about ``chunk_elements`` elements."""
    return max(1, chunk_elements // max(1, math.prod(shape[1:])))


def read_npy(
    path: str | Path, chunk_elements: int = CHUNK_ELEMENTS, rows: int | tuple[int, ...] | None = None
) -> da.Array:
    """A ``.npy`` file as a Dask array whose chunks (of about ``chunk_elements``, or of ``rows``
    rows) are read by the workers that evaluate them, never by this process. Workers must see the
    same path."""
    file = NpyFile(path)
    if not file.shape:
        return da.from_array(np.load(file.path))
    chunks = (rows if rows is not None else chunk_rows(file.shape, chunk_elements), *file.shape[1:])
    return da.from_array(file, chunks=chunks, inline_array=True, meta=np.empty((0,) * file.ndim, file.dtype))


class ParquetColumns:
    """Columns of a Parquet file as an array-like read by row groups when sliced: one column gives
    its values (a fixed-size list column the rows of a 2-D array), several one column each."""

    def __init__(self, path: str | Path, columns: str | Sequence[str]) -> None:
        import pyarrow.parquet as pq

        self.path = str(Path(path).resolve())
        self.columns = (columns,) if isinstance(columns, str) else tuple(columns)
        file = pq.ParquetFile(self.path)
        names = file.schema_arrow.names
        missing = [name for name in self.columns if name not in names]
        if missing:
            raise KeyError(f"{self.path} has no column {missing[0]!r}; columns: {', '.join(names)}.")
        self.groups = [file.metadata.row_group(i).num_rows for i in range(file.metadata.num_row_groups)]
        self.bounds = np.concatenate([[0], np.cumsum(self.groups)]).astype(np.int64)
        # A row's shape and the dtype from the first row group (widths are fixed per file).
        sample = self._group(0) if self.groups else np.empty((0,))
        self.shape: tuple[int, ...] = (int(self.bounds[-1]), *sample.shape[1:])
        self.dtype = sample.dtype
        self.ndim = len(self.shape)
        stat = Path(self.path).stat()
        self._token = (self.path, self.columns, stat.st_size, stat.st_mtime_ns)

    def __dask_tokenize__(self) -> Any:
        return ("ParquetColumns", *self._token)

    def _group(self, group: int) -> np.ndarray:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(self.path).read_row_group(group, columns=list(self.columns))
        arrays = [column_array(table.column(name)) for name in self.columns]
        return arrays[0] if len(arrays) == 1 else np.column_stack(arrays)

    def __getitem__(self, index: Any) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        rows, rest = index[0], index[1:]
        start, stop, step = rows.indices(self.shape[0]) if isinstance(rows, slice) else (0, self.shape[0], 1)
        first = int(np.searchsorted(self.bounds, start, side="right")) - 1
        last = int(np.searchsorted(self.bounds, stop, side="left"))
        pieces = [self._group(group) for group in range(max(first, 0), min(last, len(self.groups)))]
        whole = np.concatenate(pieces) if pieces else np.empty((0, *self.shape[1:]), self.dtype)
        offset = int(self.bounds[max(first, 0)])
        selected = whole[start - offset : stop - offset : step]
        if not isinstance(rows, slice):
            selected = whole[np.asarray(rows) - offset]
        return selected[(slice(None), *rest)] if rest else selected


def read_parquet(path: str | Path, columns: str | Sequence[str]) -> da.Array:
    """Columns of a Parquet file (see ``ParquetColumns``) as a Dask array, one chunk per row group,
    read by the workers that evaluate them. Workers must see the same path."""
    file = ParquetColumns(path, columns)
    groups = tuple(rows for rows in file.groups if rows) or (0,)
    return da.from_array(
        file, chunks=(groups, *file.shape[1:]), inline_array=True, meta=np.empty((0,) * file.ndim, file.dtype)
    )
