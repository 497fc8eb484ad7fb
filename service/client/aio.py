"""``AsyncClient``: the asyncio client (httpx.AsyncClient); the same methods as ``Client``, awaited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Unpack

import anyio
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


class AsyncClient(ClientBase):
    """The asyncio twin of ``Client``: every method is a coroutine; ``transport`` is an
    ``httpx.AsyncBaseTransport`` (``httpx.ASGITransport(app)`` serves the app in-process)."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(base_url, api_key, **settings)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def losses(self) -> list[LossInfo]:
        """See ``Client.losses``."""
        return await self._run(catalogue_plan(self.retry))

    async def loss(self, name: str) -> LossInfo:
        """See ``Client.loss``."""
        return await self._run(loss_plan(self.retry, name))

    async def evaluate(
        self,
        predictions: Any,
        targets: Any,
        losses: Losses,
        weights: Any = None,
        **options: Unpack[EvaluateOptions],
    ) -> Evaluation:
        """See ``Client.evaluate``."""
        from .evaluation import evaluate as plan  # NumPy, loaded by the first call that needs it

        return await self._run(plan(self.retry, self.limits, predictions, targets, losses, weights, options))

    async def curve(
        self,
        name: str,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        target: float = 0.0,
        start: float = -3.0,
        stop: float = 3.0,
        num: int = 201,
    ) -> CurveResult:
        """See ``Client.curve``."""
        return await self._run(curve_plan(self.retry, name, params, target, start, stop, num))

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """See ``Client.request``."""
        return await self._run(request_plan(self.retry, method, path, json, params, idempotent))

    # ---- runs (/v1/runs) ---------------------------------------------------------------------

    async def create_run(
        self,
        name: str,
        losses: Losses,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        alerts: Sequence[Mapping[str, Any]] | None = None,
    ) -> CreatedRun:
        """See ``Client.create_run``."""
        from .runs import create_run as plan

        return await self._run(plan(self.retry, name, losses, description, tags, alerts))

    async def runs(
        self, tags: Tags | None = None, limit: int | None = None, page_size: int = MAX_PAGE
    ) -> RunList:
        """See ``Client.runs``."""
        from .runs import runs as plan

        return await self._run(plan(self.retry, tags, limit, page_size))

    async def run(self, name: str) -> Run:
        """See ``Client.run``."""
        from .runs import run as plan

        return await self._run(plan(self.retry, name))

    async def delete_run(self, name: str) -> None:
        """See ``Client.delete_run``."""
        from .runs import delete_run as plan

        await self._run(plan(self.retry, name))

    async def log_batch(
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
        """See ``Client.log_batch``."""
        from .runs import log_batch as plan

        return await self._run(
            plan(self.retry, run, predictions, targets, weights, split, step, time, batch_id, options)
        )

    async def summary(self, run: str, **window: Unpack[Window]) -> RunSummary:
        """See ``Client.summary``."""
        from .runs import summary as plan

        return await self._run(plan(self.retry, run, window))

    async def series(
        self,
        run: str,
        by: Literal["step", "time"] = "step",
        interval: str | int | None = None,
        max_points: int | None = None,
        **window: Unpack[Window],
    ) -> Series:
        """See ``Client.series``."""
        from .runs import series as plan

        return await self._run(plan(self.retry, run, by, interval, max_points, window))

    async def diagnostics(self, run: str, **options: Unpack[DiagnosticsOptions]) -> Diagnostics:
        """See ``Client.diagnostics``."""
        from .runs import diagnostics as plan

        return await self._run(plan(self.retry, run, options))

    async def _run(self, plan: Plan[T]) -> T:
        outcome: Outcome = None
        try:
            while True:
                step = plan.send(outcome)
                if isinstance(step, Sleep):
                    await anyio.sleep(step.seconds)
                    outcome = None
                else:
                    outcome = await self._send(step)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _send(self, call: Call) -> httpx.Response | Exception:
        content = None if call.body is None else self._upload(call.body)
        try:
            request = self._http.build_request(content=content, **self.request_arguments(call))
            return await self._http.send(request)
        except httpx.TransportError as error:
            return error

    async def _upload(self, body: Body) -> AsyncIterator[bytes]:
        sent = 0
        for piece in body.slices():
            yield piece
            sent += len(piece)
            self.report(body, sent)
