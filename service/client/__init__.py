"""Python client of the loss service: ``Client`` (blocking) and ``AsyncClient`` (asyncio).

    from service.client import Client
    with Client("http://127.0.0.1:8000") as client:
        result = client.evaluate(predictions, targets, ["mse", {"name": "huber", "delta": 2.0}])
    print(result["mean_squared_error"].value)

NumPy arrays (or anything array-like) go in; typed answers (msgspec structs) with NumPy arrays come
out. Large arrays travel as NPZ bodies, small ones as JSON. An error answer raises ``ProblemError``.
Idempotent calls are retried on connection errors and 503 (see ``Retry``).
"""

from .aio import AsyncClient
from .merge import SplitError
from .plans import EvaluateOptions, Limits
from .problem import ErrorLocation, ProblemError
from .results import (
    ArraySummary,
    Breakdown,
    Curve,
    CurveResult,
    Evaluation,
    Group,
    Inputs,
    LossInfo,
    LossResult,
    Stats,
    TopRow,
    to_json,
)
from .retry import Retry
from .sync import Client

__all__ = [
    "ArraySummary",
    "AsyncClient",
    "Breakdown",
    "Client",
    "Curve",
    "CurveResult",
    "ErrorLocation",
    "EvaluateOptions",
    "Evaluation",
    "Group",
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
