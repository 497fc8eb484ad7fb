"""Monitoring of runs: pure functions over series and accumulators, no I/O and no HTTP.

``diagnose`` answers ``GET /v1/runs/{run}/diagnostics`` from each split's by-step series of one
loss; ``early_stopping`` is Keras 3's ``EarlyStopping`` replayed over one series.
"""

from .diagnostics import (
    DEFAULT_PARAMS,
    STATUSES,
    Diagnostics,
    DiagnosticsParams,
    Gap,
    Status,
    diagnose,
    to_dict,
)
from .early_stopping import SplitState, early_stopping

__all__ = [
    "DEFAULT_PARAMS",
    "STATUSES",
    "Diagnostics",
    "DiagnosticsParams",
    "Gap",
    "SplitState",
    "Status",
    "diagnose",
    "early_stopping",
    "to_dict",
]
