"""The evaluation pipeline: validate -> per-sample values and gradients -> reduce -> statistics.

``evaluate`` takes float64 arrays and resolved loss specs and returns one ``LossResult`` per spec.
Rows with a non-finite prediction, target or weight are handled here, once, by ``nan_policy``: the
losses themselves only ever see finite numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from .accumulate import Accumulator
from .base import Computed, LossDefinition, Params, Reduction
from .checks import first_index
from .errors import ErrorItem, InvalidInput, LossError, NonFiniteInput
from .stats import Stats, summarize

NanPolicy = Literal["raise", "omit", "propagate"]
Include = Literal["stats", "per_sample", "gradient", "breakdown", "inputs"]


@dataclass(frozen=True)
class LossSpec:
    """A loss with its validated parameters."""

    definition: LossDefinition
    params: Params


@dataclass(frozen=True)
class Options:
    reduction: Reduction = "mean"
    nan_policy: NanPolicy = "raise"
    include: frozenset[str] = frozenset({"stats"})
    top_k: int = 5
    # Whether each result carries the mergeable accumulator of its samples (runs, distributed).
    accumulate: bool = False


@dataclass
class Group:
    """One line of a breakdown: an output column or a target class."""

    key: int
    count: int
    weight_sum: float
    value: float


@dataclass
class Breakdown:
    by: Literal["output", "class"]
    groups: list[Group]


@dataclass
class LossResult:
    loss: str
    params: dict[str, Any]
    reduction: Reduction
    value: float | None
    count: int
    weight_sum: float
    omitted: int
    ignored: int
    clipped: int
    stats: Stats | None = None
    per_sample: np.ndarray | None = None
    gradient: np.ndarray | None = None
    breakdown: Breakdown | None = None
    accumulator: Accumulator | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prepared:
    """The request's arrays after the shared checks, and which rows take part."""

    predictions: np.ndarray
    targets: np.ndarray
    weights: np.ndarray | None
    keep: np.ndarray | None  # rows with finite inputs, or None when every row is finite
    nan_policy: NanPolicy

    @property
    def n_samples(self) -> int:
        return int(self.predictions.shape[0])

    @property
    def omitted(self) -> int:
        return 0 if self.keep is None else int(self.n_samples - np.count_nonzero(self.keep))

    def rows(self, array: np.ndarray) -> np.ndarray:
        return array if self.keep is None else array[self.keep]


SUM_CHECK_FROM = 65536


def _all_finite(array: np.ndarray) -> bool:
    """Whether every element is finite.

    A large array is first summed (NaN and infinities propagate; no temporary array), and checked
    element by element only if the sum is not finite, which overflow of finite values also causes.
    """
    if array.size >= SUM_CHECK_FROM:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.add.reduce(array, axis=None)):
                return True
    return bool(np.isfinite(array).all())


def _finite_rows(array: np.ndarray) -> np.ndarray:
    finite = np.isfinite(array)
    return finite.reshape(finite.shape[0], -1).all(axis=1)


def prepare(
    predictions: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray | None,
    nan_policy: NanPolicy,
) -> Prepared:
    """Check what every loss needs (one row per sample, valid weights) and apply ``nan_policy``."""
    if predictions.ndim == 0 or predictions.size == 0:
        raise InvalidInput(
            f"predictions must hold at least one sample and element; got shape {tuple(predictions.shape)}.",
            ("predictions",),
        )
    n = predictions.shape[0]
    if targets.ndim == 0 or targets.shape[0] != n:
        raise InvalidInput(
            f"targets must have one row per sample ({n}); got shape {tuple(targets.shape)}.",
            ("targets",),
        )
    if weights is not None:
        if weights.shape != (n,):
            raise InvalidInput(
                f"weights must have shape ({n},), one per sample; got {tuple(weights.shape)}.",
                ("weights",),
            )
        negative = weights < 0
        if negative.any():
            i = int(np.argmax(negative))
            raise InvalidInput(
                f"weights[{i}] = {float(weights[i])!r} is negative: weights must be >= 0.",
                ("weights", i),
            )
        finite_weights = weights[np.isfinite(weights)]
        if finite_weights.size and not finite_weights.any():
            raise InvalidInput(
                "weights are all 0: at least one sample needs a positive weight.", ("weights",)
            )
    arrays = {"predictions": predictions, "targets": targets}
    if weights is not None:
        arrays["weights"] = weights
    keep: np.ndarray | None = None
    for name, array in arrays.items():
        if _all_finite(array):
            continue
        if nan_policy == "raise":
            index = first_index(~np.isfinite(array))
            where = "".join(f"[{i}]" for i in index)
            message = (
                f"{name}{where} is {float(array[index])!r}: non-finite values are refused under "
                'nan_policy="raise" (use "omit" to leave such samples out, or "propagate").'
            )
            raise NonFiniteInput(message, (name, *index))
        rows = _finite_rows(array)
        keep = rows if keep is None else keep & rows
    return Prepared(predictions, targets, weights, keep, nan_policy)


def without_targets(specs: Sequence[LossSpec], predictions: np.ndarray) -> np.ndarray:
    """The targets of a request that sent none: allowed only when no loss of it takes targets.

    Such losses get an (N, 0) array, so that rows are selected and checked as for any targets.
    """
    needing = [spec.definition.name for spec in specs if spec.definition.takes_targets]
    if needing:
        raise InvalidInput(
            f"targets are required: {', '.join(dict.fromkeys(needing))} take targets. Only a request "
            'whose losses all take none (catalogue "targets": "none") may omit them.',
            ("targets",),
        )
    return np.empty((*predictions.shape[:1], 0))


def evaluate(
    specs: Sequence[LossSpec],
    predictions: np.ndarray,
    targets: np.ndarray | None,
    weights: np.ndarray | None,
    options: Options,
) -> list[LossResult]:
    """Evaluate each spec on the same arrays. Errors carry their location in the request.

    ``targets`` may be None when no loss of ``specs`` takes targets.
    """
    if targets is None:
        targets = without_targets(specs, predictions)
    data = prepare(predictions, targets, weights, options.nan_policy)
    results = []
    for position, spec in enumerate(specs):
        if options.reduction not in spec.definition.reductions:
            allowed = ", ".join(repr(r) for r in spec.definition.reductions)
            raise InvalidInput(
                f"{spec.definition.name} supports reduction {allowed} only; got {options.reduction!r}.",
                ("reduction",),
            )
        try:
            results.append(evaluate_one(spec, data, options))
        except LossError as error:
            raise _locate(error, position, data.keep) from None
    return results


def _locate(error: LossError, position: int, keep: np.ndarray | None) -> LossError:
    """Errors located in the request: parameters in ``losses[position]``, data at its original row.

    A loss sees only the rows that ``nan_policy="omit"`` kept, so its row numbers are mapped back to
    the request's, in the location and in the message that quotes it.
    """
    rows = None if keep is None else np.flatnonzero(keep)
    detail = error.detail
    errors = []
    for e in error.errors:
        location, message = e.location, e.message
        if location[:1] == ("params",):
            location = ("losses", position, *location[1:])
        elif rows is not None and len(location) > 1 and isinstance(location[1], int):
            name, row = location[0], location[1]
            original = int(rows[row])
            location = (name, original, *location[2:])
            message = message.replace(f"{name}[{row}]", f"{name}[{original}]", 1)
            detail = detail.replace(f"{name}[{row}]", f"{name}[{original}]", 1)
        errors.append(ErrorItem(location, message))
    located = error.at()
    located.errors = tuple(errors)
    located.detail = detail
    located.args = (detail,)
    return located


def _echo(params: Params) -> dict[str, Any]:
    """Every parameter with its resolved default, as JSON values (a fresh dict for each result)."""
    return dict(_params_json(params))


@lru_cache(maxsize=1024)
def _params_json(params: Params) -> dict[str, Any]:
    return params.model_dump(mode="json")  # parameter models are frozen, so hashable and final


def evaluate_one(spec: LossSpec, data: Prepared, options: Options) -> LossResult:
    definition = spec.definition
    include = options.include
    want_gradient = "gradient" in include and definition.has_gradient
    n = data.n_samples
    kept = n - data.omitted
    propagated = data.nan_policy == "propagate" and data.omitted > 0

    if kept:
        computed = definition.compute(
            data.rows(data.predictions), data.rows(data.targets), spec.params, want_gradient
        )
    else:
        empty = np.empty(0)
        computed = Computed(empty, np.empty((0, *data.predictions.shape[1:])), elementwise=None)

    a = computed.contribution
    s = data.rows(data.weights) if data.weights is not None else None
    f = computed.factor
    effective = s if f is None else (f if s is None else s * f)
    counted = None if computed.ignored is None else ~computed.ignored
    n_counted = kept if counted is None else int(np.count_nonzero(counted))
    with np.errstate(invalid="ignore"):
        weighted_a = a if s is None else s * a
    total = float(weighted_a.sum())
    if math.isnan(total) and s is not None:
        # 0·inf: a row of weight 0 counts nowhere, even when its loss is infinite (a CTC label
        # sequence that no alignment produces).
        total = float(np.where(s > 0, weighted_a, 0.0).sum())
    weight_sum = float(n_counted if effective is None else effective.sum())

    value: float | None
    scale: float
    reduction = options.reduction
    if reduction == "mean":
        scale = 1.0 / weight_sum if weight_sum > 0 else math.nan
        value = total * scale
    elif reduction == "sum":
        scale, value = 1.0, total
    elif reduction == "sum_over_batch_size":
        scale = 1.0 / n_counted if n_counted else math.nan
        value = total * scale
    else:
        scale, value = 1.0, None
    if value is not None and definition.transform is not None:
        value, derivative = definition.transform(value)
        scale *= derivative
    if propagated and value is not None:
        value = math.nan

    if f is None:
        per_sample_kept = a
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            per_sample_kept = np.where(f > 0, a / f, a)

    result = LossResult(
        loss=definition.name,
        params=_echo(spec.params),
        reduction=reduction,
        value=value,
        count=n_counted + (data.omitted if propagated else 0),
        weight_sum=math.nan if propagated else weight_sum,
        omitted=0 if propagated else data.omitted,
        ignored=0 if computed.ignored is None else int(np.count_nonzero(computed.ignored)),
        clipped=computed.clipped,
    )
    fill = math.nan if propagated else 0.0

    if "per_sample" in include or reduction == "none":
        result.per_sample = _scatter(per_sample_kept, data.keep, (n,), math.nan)

    if want_gradient and computed.gradient is not None:
        if propagated and reduction != "none":
            # Under "propagate" an unknown value has an unknown gradient; 'none' keeps its rows.
            result.gradient = np.full(data.predictions.shape, math.nan)
        else:
            gradient = computed.gradient
            coefficient = scale if s is None else (scale * s).reshape((-1,) + (1,) * (gradient.ndim - 1))
            # Scale in place only an array the loss made for the gradient alone.
            fresh = not any(
                np.may_share_memory(gradient, other) for other in (data.predictions, data.targets, a)
            )
            gradient = np.multiply(gradient, coefficient, out=gradient if fresh else None)
            result.gradient = _scatter(gradient, data.keep, data.predictions.shape, fill)

    if "stats" in include or "breakdown" in include or options.accumulate:
        indices = None if data.keep is None else np.flatnonzero(data.keep)
        values, weights = per_sample_kept, effective
        if counted is not None:
            values = values[counted]
            indices = np.flatnonzero(counted) if indices is None else indices[counted]
            weights = None if weights is None else weights[counted]
        if options.accumulate:
            result.accumulator = Accumulator.of(
                values,
                weights,
                total=total,
                weight_sum=weight_sum,
                omitted=result.omitted,
                ignored=result.ignored,
                clipped=result.clipped,
                nonfinite=data.omitted if propagated else 0,
            )
        if "breakdown" in include:
            result.breakdown = breakdown(definition, computed, values, weights, counted, propagated)
        if "stats" in include:
            if propagated and data.keep is not None:
                # Rows with non-finite inputs: unknown losses, listed first in the top rows.
                unknown_rows = np.flatnonzero(~data.keep)
                values = np.concatenate([values, np.full(unknown_rows.size, math.nan)])
                indices = np.concatenate([indices, unknown_rows])
                weights = None
            result.stats = summarize(values, weights, indices, options.top_k, unknown=propagated)
    return result


def _scatter(values: np.ndarray, keep: np.ndarray | None, shape: tuple[int, ...], fill: float) -> np.ndarray:
    """Rows computed for the kept samples, placed back among all samples (``fill`` elsewhere)."""
    if keep is None:
        return values
    out = np.full(shape, fill)
    out[keep] = values
    return out


def _weighted_mean(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, float]:
    """(weighted mean along the first axis, weight sum); values may be (n,) or (n, D)."""
    weight_sum = float(values.shape[0]) if weights is None else float(weights.sum())
    total = values.sum(axis=0) if weights is None else weights @ values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(total / weight_sum), weight_sum


def breakdown(
    definition: LossDefinition,
    computed: Computed,
    values: np.ndarray,
    weights: np.ndarray | None,
    counted: np.ndarray | None,
    propagated: bool,
) -> Breakdown | None:
    """Per output column (element-wise losses on (N, D)) or per target class.

    Each group's value is the weighted mean of its per-sample (or per-element) losses with the
    effective weights, so a group's value is the loss the whole batch would have if it held only
    that group; for RMSE, the root of it (scikit-learn's per-output ``raw_values``).
    """
    transform = definition.transform

    def finish(value: float) -> float:
        if propagated:
            return math.nan
        if transform is not None and not math.isnan(value):
            return transform(value)[0]
        return value

    if computed.elementwise is not None:
        elements = computed.elementwise if counted is None else computed.elementwise[counted]
        means, weight_sum = _weighted_mean(elements, weights)
        count = int(elements.shape[0])
        return Breakdown(
            "output", [Group(j, count, weight_sum, finish(float(m))) for j, m in enumerate(means)]
        )
    if computed.classes is None:
        return None
    classes = computed.classes if counted is None else computed.classes[counted]
    groups = []
    for key in np.unique(classes):
        members = classes == key
        mean, weight_sum = _weighted_mean(values[members], None if weights is None else weights[members])
        groups.append(Group(int(key), int(np.count_nonzero(members)), weight_sum, finish(float(mean))))
    return Breakdown("class", groups)
