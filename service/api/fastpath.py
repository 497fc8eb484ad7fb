"""POST /v1/evaluate served straight from ASGI, ahead of FastAPI's routing.

The hot endpoint needs none of what routing and dependency injection do per request (the body is
read and validated by hand anyway), and skipping them more than halves the server's time on a small
request. Everything else, including other methods on /v1/evaluate (405), goes to the app. The
route's template is set in the scope, so the request middleware labels metrics as for any route.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Settings
from .problems import problem_response, to_problem
from .v1 import serve_evaluate

PATH = "/v1/evaluate"


class RouteTemplate:
    """What the request middleware reads from ``scope["route"]``: the template, for metric labels."""

    path = PATH


class EvaluateFastPath:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.route = RouteTemplate()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        try:
            content = await serve_evaluate(scope, receive, self.settings)
        except Exception as error:
            problem = to_problem(error)
            if problem is None:
                raise  # A bug: the app's 500 handler logs it and answers a problem.
            await problem_response(problem)(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
