"""Shared fixtures: an app factory and an httpx client bound to the real ASGI app."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings

from service.app import create_app
from service.config import Settings

from .databases import BACKENDS, database

# Deterministic examples by default, so that CI never fails by chance; HYPOTHESIS_PROFILE=explore
# draws new examples on every run.
settings.register_profile("deterministic", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


def pytest_configure(config: pytest.Config) -> None:
    """No test writes the default history database into the working directory: apps and servers
    that are not given a database use one in a temporary directory of the session."""
    if "LOSS_SERVICE_DATABASE_URL" not in os.environ:
        directory = Path(tempfile.mkdtemp(prefix="loss-service-tests-"))
        os.environ["LOSS_SERVICE_DATABASE_URL"] = f"sqlite:///{directory / 'history.db'}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_client(tmp_path: Path) -> Callable[..., httpx.AsyncClient]:
    """``make_client(**settings)``: a client for an app built with those settings (by default with
    its history in an SQLite file in the test's temporary directory)."""

    def factory(**overrides: Any) -> httpx.AsyncClient:
        overrides.setdefault("database_url", f"sqlite:///{tmp_path / 'history.db'}")
        app = create_app(Settings(**overrides))
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    return factory


@pytest.fixture
async def client(make_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty history database, once on SQLite and once on PostgreSQL."""
    with database(request.param, tmp_path) as url:
        yield url
