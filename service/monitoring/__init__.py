"""Monitoring of runs: what SPEC §7 computes over a run's history, and the service that drives it.

Pure functions over accumulators and series, no I/O and no HTTP: ``windows`` (which stored
aggregates answer a window), ``history`` (merging them into summaries and series points),
``compaction`` (folding batches into aggregates), ``diagnostics`` and ``early_stopping`` (Keras 3's
``EarlyStopping`` replayed over a by-step series). ``runs.Monitor`` carries out the runs API over
the store (``service.store``) and the loss core, on worker threads.
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
