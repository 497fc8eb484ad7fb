"""Debian's Chromium driven by Playwright, and a tab that records what a page must never do.

Playwright's own browser download is never used: the tests run ``/usr/bin/chromium`` (``apt-get
install -y chromium``). Where it is missing the tests skip, or fail under LOSS_SERVICE_TEST_STRICT=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

from ..environment import require

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
VIEWPORT = {"width": 1280, "height": 900}


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        require("Chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Tab:
    """A page in a fresh browser context, with every console message, page error and request."""

    page: Page
    base: str
    screenshots: Path
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    expected_errors: tuple[str, ...] = ()

    def open(self, hash_path: str) -> None:
        self.page.goto(f"{self.base}/ui/{hash_path}")

    def screenshot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"] + self.errors

    def api_requests(self) -> list[Request]:
        return [r for r in self.requests if urlsplit(r.url).path.startswith("/v1/")]

    def assert_clean(self) -> None:
        """No console error or page error (but the expected ones), and nothing sent to another origin."""
        unexpected = [e for e in self.console_errors() if not any(x in e for x in self.expected_errors)]
        assert unexpected == [], unexpected
        assert self.foreign == [], self.foreign


@contextmanager
def open_tab(browser: Browser, base: str, screenshots: Path) -> Iterator[Tab]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    tab = Tab(page, base, screenshots)

    def route(route: Route) -> None:
        # Anything for another origin is recorded and never leaves the machine.
        if origin(route.request.url) == base:
            route.continue_()
        else:
            tab.foreign.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda message: tab.console.append((message.type, message.text)))
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.on("request", lambda request: tab.requests.append(request))
    try:
        yield tab
    finally:
        context.close()


# In the page: whether the uPlot chart at `selector` holds `columns` (to 1e-12), so a test can wait
# for a redraw before it compares exactly.
HOLDS = """([selector, columns]) => {
  const data = document.querySelector(selector)?.uplot?.data;
  if (!data || data.length !== columns.length) return false;
  const close = (a, b) =>
    b === null ? a === null || a === undefined : Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
  return columns.every(
    (column, i) => column.length === data[i].length && column.every((v, j) => close(data[i][j], v)),
  );
}"""


def drawn(page: Page, selector: str) -> dict[str, Any]:
    """What the chart at ``selector`` draws: its series labels, data and the page's hooks."""
    result: dict[str, Any] = page.eval_on_selector(
        selector,
        """element => ({
            labels: element.uplot.series.slice(1).map(s => s.label),
            data: element.uplot.data.map(column => Array.from(column, v => v ?? null)),
            dataset: {...element.dataset},
        })""",
    )
    return result


def wait_until_drawn(page: Page, selector: str, columns: list[list[float | None]]) -> dict[str, Any]:
    page.wait_for_function(HOLDS, arg=[selector, columns])
    return drawn(page, selector)
