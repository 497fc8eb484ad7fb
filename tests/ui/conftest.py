"""One Chromium per test module; each test gets a fresh tab on the module's ``server`` and must
leave it clean: no console error, no page error, no request to another origin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from ..ops.server import Server
from .browser import Tab, chromium, open_tab


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def tab(browser: Browser, server: Server, tmp_path: Path) -> Iterator[Tab]:
    with open_tab(browser, server.base, tmp_path) as opened:
        yield opened
        opened.assert_clean()
