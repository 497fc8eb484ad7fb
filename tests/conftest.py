"""Shared fixtures: an app factory and an httpx client bound to the real ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.config import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_client() -> Callable[..., httpx.AsyncClient]:
    """``make_client(**settings)``: a client for an app built with those settings."""

    def factory(**overrides: Any) -> httpx.AsyncClient:
        app = create_app(Settings(**overrides))
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    return factory


@pytest.fixture
async def client(make_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c
