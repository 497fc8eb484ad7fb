"""Arrays larger than one request may carry: split along the samples, answers merged exactly.

A split is made only where the merged answer is exactly the answer for the whole arrays (up to
floating-point rounding): ``value``, ``count``, ``weight_sum``, ``omitted``, ``ignored``,
``clipped``, ``per_sample`` and ``gradient``, for losses whose value is a weighted sum of
per-sample losses (those whose catalogue entry offers reduction ``sum``; not RMSE, whose square
root comes after the mean). Each part is asked for its weighted sum (reduction ``sum``), and the
requested reduction is applied to the totals. Quantiles cannot be merged exactly, so ``stats`` is
refused, as are ``breakdown`` and ``inputs``: ``SplitError`` says so before anything is sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .problem import SplitError
from .results import Evaluation, LossResult
from .structs import LossInfo

if TYPE_CHECKING:
    from .plans import Limits

MERGEABLE_INCLUDE = frozenset({"per_sample", "gradient"})
# Room in a request body for request.json and the archive's own bytes.
BODY_MARGIN = 64 * 1024


def n_rows(arrays: Mapping[str, np.ndarray]) -> int:
    return int(arrays["predictions"].shape[0]) if arrays["predictions"].ndim else 1


def rows_per_request(arrays: Mapping[str, np.ndarray], limits: Limits) -> int | None:
    """The most rows one request may carry within ``limits`` (None: any number)."""
    if any(array.ndim == 0 for array in arrays.values()):
        return None  # Not rows of samples: sent as they are, for the service to judge.
    bounds = []
    row_bytes = 0
    for array in arrays.values():
        row_elements = math.prod(array.shape[1:])
        if row_elements:
            bounds.append(limits.max_elements // row_elements)
            row_bytes += row_elements * array.itemsize
    if row_bytes:
        bounds.append((limits.max_body_bytes - BODY_MARGIN) // row_bytes)
    return max(1, min(bounds)) if bounds else None


def check_splittable(
    arrays: Mapping[str, np.ndarray], fields: Mapping[str, Any], n_samples: int, rows: int, limits: Limits
) -> None:
    """Refuse (``SplitError``) a split whose answers cannot be merged exactly."""
    why = (
        f"{n_samples} samples exceed what one request may carry ({rows} here: at most "
        f"{limits.max_elements} elements per array and {limits.max_body_bytes} bytes per body)"
    )
    include = set(fields.get("include", ["stats"]))
    refused = sorted(include - MERGEABLE_INCLUDE)
    if refused:
        raise SplitError(
            f"{why}, and the client splits only what merges exactly: include {refused} cannot be "
            "(quantiles do not merge exactly). Ask for a subset of "
            f"{sorted(MERGEABLE_INCLUDE)}, raise the service's limits and Client(max_elements=..., "
            "max_body_bytes=...), or use service.distributed, whose quantiles are within its sketch's "
            "accuracy."
        )
    for name, array in arrays.items():
        if array.shape[0] != n_samples:
            raise SplitError(
                f"{why}, and {name} has {array.shape[0]} rows where predictions have {n_samples}: "
                "the arrays need one row per sample to be split."
            )


def check_plain_sums(specs: Sequence[Any], catalogue: Sequence[LossInfo]) -> None:
    """Refuse losses whose value is not a weighted sum (or mean) of per-sample losses."""
    entries = {name: entry for entry in catalogue for name in (entry.name, *entry.aliases)}
    for spec in specs:
        name = spec if isinstance(spec, str) else spec.get("name")
        entry = entries.get(name)  # type: ignore[arg-type]
        if entry is not None and "sum" not in entry.reductions:
            raise SplitError(
                f"{entry.name}'s value is not a weighted mean of per-sample losses (it has no "
                "reduction 'sum'), so its value over several requests does not merge exactly; "
                "evaluate it on fewer samples per call, or raise the limits."
            )


def chunk_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Each part is asked for its weighted sum; reduction ``none`` stays as it is."""
    reduction = fields.get("reduction", "mean")
    return {
        **fields,
        "reduction": "none" if reduction == "none" else "sum",
        "include": list(fields.get("include", [])),
    }


def merge(parts: Sequence[Evaluation], reduction: str, nan_policy: str) -> Evaluation:
    """The answers of consecutive parts as the answer for the whole arrays."""
    results = [
        _merge_loss([part.results[i] for part in parts], reduction, nan_policy)
        for i in range(len(parts[0].results))
    ]
    return Evaluation(parts[0].api_version, sum(part.n_samples for part in parts), results)


def _total(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else math.fsum(v for v in values if v is not None)


def _merge_loss(parts: Sequence[LossResult], reduction: str, nan_policy: str) -> LossResult:
    count = sum(part.count for part in parts)
    weight_sum = _total([part.weight_sum for part in parts])
    # Under "propagate", a part with non-finite inputs has no weight sum, and so has the whole.
    propagated = nan_policy == "propagate" and weight_sum is None
    total = _total([part.value for part in parts])
    scale = 1.0
    if reduction == "mean":
        scale = 1.0 / weight_sum if weight_sum else math.nan
    elif reduction == "sum_over_batch_size":
        scale = 1.0 / count if count else math.nan
    value = None
    if reduction != "none" and total is not None and not propagated:
        value = total * scale
        value = value if math.isfinite(value) else None
    first = parts[0]
    result = LossResult(
        loss=first.loss,
        params=first.params,
        reduction=reduction,
        value=value,
        count=count,
        weight_sum=weight_sum,
        omitted=sum(part.omitted for part in parts),
        ignored=sum(part.ignored for part in parts),
        clipped=sum(part.clipped for part in parts),
    )
    if first.per_sample is not None:
        result.per_sample = np.concatenate([_array(part.per_sample) for part in parts])
    if first.gradient is not None:
        gradient = np.concatenate([_array(part.gradient) for part in parts])
        if propagated and reduction != "none":
            gradient = np.full_like(gradient, math.nan)  # an unknown value has an unknown gradient
        elif scale != 1.0:
            gradient *= scale
        result.gradient = gradient
    return result


def _array(value: np.ndarray | None) -> np.ndarray:
    assert value is not None
    return value
