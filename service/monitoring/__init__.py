"""Monitoring of runs: pure functions over series and accumulators, no I/O and no HTTP.

``early_stopping`` is Keras 3's ``EarlyStopping`` replayed over one split's by-step series.
"""

from .early_stopping import SplitState, early_stopping

__all__ = ["SplitState", "early_stopping"]
