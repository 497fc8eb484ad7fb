"""Progress bars for reads and uploads of a few MB or more, on stderr when it is a terminal."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import numpy as np

PROGRESS_FROM_BYTES = 4 * 1024 * 1024


class Bars:
    """``read(label, size)`` and ``upload(sent, total)`` show a bar for large transfers."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

        console = Console(stderr=True)
        self.progress = Progress(
            *Progress.get_default_columns(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.upload_task: Any = None

    def __enter__(self) -> Bars:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.progress.stop()

    def read(self, label: str, size: int) -> Callable[[int], None] | None:
        if size < PROGRESS_FROM_BYTES:
            return None
        task = self.progress.add_task(label, total=size)
        return lambda count: self.progress.advance(task, count)

    def upload(self, sent: int, total: int) -> None:
        if total < PROGRESS_FROM_BYTES:
            return
        if self.upload_task is None or sent <= 1 << 20:  # a new request body (retries and splits)
            self.upload_task = self.progress.add_task("uploading", total=total)
        self.progress.update(self.upload_task, completed=sent)


def shape_mismatch(arrays: Mapping[str, np.ndarray]) -> str | None:
    """Why the arrays cannot be evaluated together (one row per sample), or None."""
    predictions = arrays["predictions"]
    if predictions.ndim == 0:
        return "predictions must have one row per sample; got a scalar."
    n = predictions.shape[0]
    for name in ("targets", "weights"):
        array = arrays.get(name)
        if array is not None and (array.ndim == 0 or array.shape[0] != n):
            return (
                f"{name} have shape {array.shape}, predictions {predictions.shape}: "
                "one row per sample is needed."
            )
    weights = arrays.get("weights")
    if weights is not None and weights.ndim != 1:
        return f"weights must have shape ({n},); got {weights.shape}."
    return None
