"""Python client of the loss service: ``Client`` (blocking) and ``AsyncClient`` (asyncio).

    from service.client import Client
    with Client("http://127.0.0.1:8000") as client:
        result = client.evaluate(predictions, targets, ["mse", {"name": "huber", "delta": 2.0}])
    print(result["mean_squared_error"].value)

NumPy arrays (or anything array-like) go in; typed answers (msgspec structs) with NumPy arrays come
out. Large arrays travel as NPZ bodies, small ones as JSON. An error answer raises ``ProblemError``.
Idempotent calls are retried on connection errors and 503 (see ``Retry``). Runs (``create_run``,
``log_batch``, ``summary``, ``series``, ``diagnostics``...) record batches and read their history
(``/v1/runs``); every batch carries a ``batch_id``, so a retried one is counted once. The answer types load
NumPy, so they are imported when first used: listing losses from a command line stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .aio import AsyncClient
from .plans import EvaluateOptions, Limits
from .problem import ErrorLocation, ProblemError, SplitError
from .retry import Retry
from .structs import Equivalent, InputMode, LossInfo, to_json
from .sync import Client

if TYPE_CHECKING:
    from .results import (
        ArraySummary,
        Breakdown,
        Curve,
        CurveResult,
        Evaluation,
        Group,
        Inputs,
        LossResult,
        Stats,
        TopRow,
    )
    from .run_results import (
        AlertRule,
        CreatedRun,
        Diagnostics,
        Gap,
        LatestValue,
        LoggedBatch,
        LossStatus,
        RuleState,
        Run,
        RunList,
        RunSummary,
        Series,
        SeriesLine,
        SeriesPoint,
        SplitDiagnostics,
        WindowStats,
        WindowSummary,
    )

_RESULTS = {
    "ArraySummary",
    "Breakdown",
    "Curve",
    "CurveResult",
    "Evaluation",
    "Group",
    "Inputs",
    "LossResult",
    "Stats",
    "TopRow",
}


_RUN_RESULTS = {
    "AlertRule",
    "CreatedRun",
    "Diagnostics",
    "Gap",
    "LatestValue",
    "LoggedBatch",
    "LossStatus",
    "RuleState",
    "Run",
    "RunList",
    "RunSummary",
    "Series",
    "SeriesLine",
    "SeriesPoint",
    "SplitDiagnostics",
    "WindowStats",
    "WindowSummary",
}


def __getattr__(name: str) -> Any:
    if name in _RESULTS:
        return getattr(import_module(".results", __name__), name)
    if name in _RUN_RESULTS:
        return getattr(import_module(".run_results", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "WindowSummary",
    "WindowStats",
    "SplitDiagnostics",
    "SeriesPoint",
    "SeriesLine",
    "Series",
    "RunSummary",
    "RunList",
    "Run",
    "RuleState",
    "LossStatus",
    "LoggedBatch",
    "LatestValue",
    "Gap",
    "Diagnostics",
    "CreatedRun",
    "AlertRule",
    "ArraySummary",
    "AsyncClient",
    "Breakdown",
    "Client",
    "Curve",
    "CurveResult",
    "Equivalent",
    "ErrorLocation",
    "EvaluateOptions",
    "Evaluation",
    "Group",
    "InputMode",
    "Inputs",
    "Limits",
    "LossInfo",
    "LossResult",
    "ProblemError",
    "Retry",
    "SplitError",
    "Stats",
    "TopRow",
    "to_json",
]
