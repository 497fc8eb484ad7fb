"""``Client``: the blocking client (httpx.Client)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Unpack

import httpx

from .base import DEFAULT_URL, ClientBase
from .plans import MAX_PAGE, Call, EvaluateOptions, Losses, Outcome, Plan, Sleep
from .plans import catalogue as catalogue_plan
from .plans import curve as curve_plan
from .plans import loss as loss_plan
from .plans import request as request_plan

if TYPE_CHECKING:
    from .bodies import Body
    from .results import CurveResult, Evaluation
    from .run_results import CreatedRun, Diagnostics, LoggedBatch, Run, RunList, RunSummary, Series
    from .runs import BatchOptions, DiagnosticsOptions, Tags, Window
    from .structs import LossInfo

T = TypeVar("T")


class Client(ClientBase):
    """A blocking client of the loss service: NumPy arrays (or anything array-like) in, typed
    answers with NumPy arrays out. Error answers raise ``ProblemError``.

    >>> with Client("http://127.0.0.1:8000") as client:
    ...     client.evaluate([0.1, 0.9], [0.0, 1.0], "mse").results[0].value
    0.01

    Keyword settings are those of ``ClientBase``; ``transport`` is an ``httpx.BaseTransport``.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(base_url, api_key, **settings)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def losses(self) -> list[LossInfo]:
        """The catalogue (``GET /v1/losses``)."""
        return self._run(catalogue_plan(self.retry))

    def loss(self, name: str) -> LossInfo:
        """One catalogue entry by name or alias (``GET /v1/losses/{name}``)."""
        return self._run(loss_plan(self.retry, name))

    def evaluate(
        self,
        predictions: Any,
        targets: Any,
        losses: Losses,
        weights: Any = None,
        **options: Unpack[EvaluateOptions],
    ) -> Evaluation:
        """Evaluate one or more losses (``POST /v1/evaluate``); ``options`` are the request's
        ``reduction``, ``nan_policy``, ``include``, ``top_k`` and ``array_encoding``."""
        from .evaluation import evaluate as plan  # NumPy, loaded by the first call that needs it

        return self._run(plan(self.retry, self.limits, predictions, targets, losses, weights, options))

    def curve(
        self,
        name: str,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        target: float = 0.0,
        start: float = -3.0,
        stop: float = 3.0,
        num: int = 201,
    ) -> CurveResult:
        """A loss and its gradient over ``num`` predictions from ``start`` to ``stop``; ``params``
        is one parameter set or a list of them (one curve each)."""
        return self._run(curve_plan(self.retry, name, params, target, start, stop, num))

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Any call of the API; its JSON answer. Retried only when ``idempotent`` (by default:
        GET, HEAD, OPTIONS, PUT and DELETE)."""
        return self._run(request_plan(self.retry, method, path, json, params, idempotent))

    # ---- runs (/v1/runs) ---------------------------------------------------------------------

    def create_run(
        self,
        name: str,
        losses: Losses,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        alerts: Sequence[Mapping[str, Any]] | None = None,
    ) -> CreatedRun:
        """Create run ``name`` with its losses (fixed for its life), or find it with the same
        losses; ``.created`` says which. Other losses: ``ProblemError`` 409. A description, tags or
        alert rules (``[{"name": "mse-1h", "loss": "mse", "split": "production", "window": "1h",
        "max": 0.3}]``) given replace the stored ones."""
        from .runs import create_run as plan

        return self._run(plan(self.retry, name, losses, description, tags, alerts))

    def runs(self, tags: Tags | None = None, limit: int | None = None, page_size: int = MAX_PAGE) -> RunList:
        """Runs, newest first, having every tag in ``tags`` (``{"team": "vision"}`` or
        ``["team:vision"]``): all of them, or the first ``limit``, fetched ``page_size`` a page."""
        from .runs import runs as plan

        return self._run(plan(self.retry, tags, limit, page_size))

    def run(self, name: str) -> Run:
        """One run: its losses, tags, splits, batches and extent."""
        from .runs import run as plan

        return self._run(plan(self.retry, name))

    def delete_run(self, name: str) -> None:
        """Delete a run and all its history."""
        from .runs import delete_run as plan

        self._run(plan(self.retry, name))

    def log_batch(
        self,
        run: str,
        predictions: Any,
        targets: Any,
        weights: Any = None,
        *,
        split: str = "default",
        step: int | None = None,
        time: datetime | str | None = None,
        batch_id: str | None = None,
        **options: Unpack[BatchOptions],
    ) -> LoggedBatch:
        """Evaluate a batch with the run's losses and record it (``POST /v1/runs/{run}/batches``).

        ``split`` (``train``, ``validation``, ``production``...), ``step`` (an epoch or iteration),
        ``time`` (an aware datetime or RFC 3339; default: when the service receives it) and
        ``batch_id``: a fresh UUID when not given, the same for every retry of this call, so a batch
        is recorded once however often it is sent (``.duplicate`` tells a repeat). ``options`` as
        in ``evaluate``: they shape this answer only.
        """
        from .runs import log_batch as plan

        return self._run(
            plan(self.retry, run, predictions, targets, weights, split, step, time, batch_id, options)
        )

    def summary(self, run: str, **window: Unpack[Window]) -> RunSummary:
        """One merged accumulator per (split, loss) over a window: ``split`` and ``loss`` (a name or
        a list), ``from_`` and ``to`` (aware datetimes or RFC 3339; from_ <= time < to),
        ``step_from`` and ``step_to`` (inclusive), ``reduction`` of the window's value."""
        from .runs import summary as plan

        return self._run(plan(self.retry, run, window))

    def series(
        self,
        run: str,
        by: Literal["step", "time"] = "step",
        interval: str | int | None = None,
        max_points: int | None = None,
        **window: Unpack[Window],
    ) -> Series:
        """A series per (split, loss): a point per step, or per time bucket of ``interval`` (seconds,
        or ``1m``, ``5m``, ``1h``, ``1d``); adjacent points merged beyond ``max_points``. The window
        as in ``summary``. Each line gives its points as NumPy arrays (``steps``, ``values``...)."""
        from .runs import series as plan

        return self._run(plan(self.retry, run, by, interval, max_points, window))

    def diagnostics(self, run: str, **options: Unpack[DiagnosticsOptions]) -> Diagnostics:
        """Training diagnostics of one ``loss`` (required when the run has several) from its by-step
        values: Keras ``EarlyStopping``'s state on ``split`` (default ``validation``) with
        ``patience``, ``min_delta``, ``baseline`` and ``start_from_step``, the gap to
        ``reference_split`` (default ``train``), plateau, overfitting, divergence (``divergence``
        growth factor), and the run's alert rules with their states."""
        from .runs import diagnostics as plan

        return self._run(plan(self.retry, run, options))

    def _run(self, plan: Plan[T]) -> T:
        outcome: Outcome = None
        try:
            while True:
                step = plan.send(outcome)
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    outcome = None
                else:
                    outcome = self._send(step)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _send(self, call: Call) -> httpx.Response | Exception:
        content = None if call.body is None else self._upload(call.body)
        try:
            return self._http.send(self._http.build_request(content=content, **self.request_arguments(call)))
        except httpx.TransportError as error:
            return error

    def _upload(self, body: Body) -> Iterator[bytes]:
        sent = 0
        for piece in body.slices():
            yield piece
            sent += len(piece)
            self.report(body, sent)
