"""With LOSS_SERVICE_API_KEYS set, the page asks for a key, shows why a key was refused, keeps the key
for the tab's session only, sends it as a Bearer token and never writes it to the console."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from ..ops.server import Server, running_server
from .browser import Tab, open_tab

pytestmark = pytest.mark.slow

KEY = "right-key-0123456789"
WRONG = "wrong-key-9876543210"
STORAGE_KEY = "loss-service.api-key"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(api_keys=f"other-key,{KEY}") as started:
        yield started


@pytest.fixture
def tab(tab: Tab) -> Tab:
    tab.expected_errors = ("status of 401",)  # the browser logs each refused request
    return tab


def enter(tab: Tab, key: str) -> None:
    tab.page.fill("[data-testid=key-input]", key)
    tab.page.get_by_role("button", name="Use this key").click()


def storage(tab: Tab, kind: str) -> dict[str, str]:
    items: dict[str, str] = tab.page.evaluate(f"() => ({{...{kind}}})")
    return items


def test_the_page_asks_for_a_key_and_says_why_one_was_refused(tab: Tab, server: Server):
    refused = httpx.get(f"{server.base}/v1/losses", timeout=10).json()
    tab.open("#/catalogue/huber")
    tab.page.wait_for_selector("[data-testid=key-form]")
    assert refused["detail"] in tab.page.inner_text("[data-testid=key-error]")
    tab.screenshot("key-prompt")
    enter(tab, WRONG)
    tab.page.wait_for_selector("text=The key was refused")
    assert tab.page.locator("[data-testid=key-form]").count() == 1
    assert refused["detail"] in tab.page.inner_text("[data-testid=key-error]")
    assert storage(tab, "sessionStorage") == {}  # a refused key is not kept
    tab.screenshot("key-refused")
    wrong = [r for r in tab.api_requests() if r.headers.get("authorization") == f"Bearer {WRONG}"]
    assert wrong, "the wrong key was sent as a Bearer token"


def test_a_good_key_is_sent_as_a_bearer_token_and_kept_for_the_session_only(
    tab: Tab, server: Server, browser: Browser
):
    tab.open("#/catalogue/huber")
    tab.page.wait_for_selector("[data-testid=key-form]")
    enter(tab, KEY)
    tab.page.wait_for_selector("[data-testid=curve] canvas")
    assert tab.page.locator("[data-testid=key-form]").count() == 0
    after_key = [r for r in tab.api_requests() if r.headers.get("authorization")]
    assert after_key and {r.headers["authorization"] for r in after_key} == {f"Bearer {KEY}"}
    assert storage(tab, "sessionStorage") == {STORAGE_KEY: KEY}
    assert storage(tab, "localStorage") == {}
    assert tab.page.context.cookies() == []
    # A reload keeps the session's key; a new session asks again.
    tab.page.reload()
    tab.page.wait_for_selector("[data-testid=curve] canvas")
    assert tab.page.locator("[data-testid=key-form]").count() == 0
    with open_tab(browser, server.base, tab.screenshots) as other:
        other.expected_errors = tab.expected_errors
        other.open("#/catalogue")
        other.page.wait_for_selector("[data-testid=key-form]")
        other.assert_clean()
    # Forgetting the key brings the prompt back.
    tab.page.get_by_test_id("forget-key").click()
    tab.page.wait_for_selector("[data-testid=key-form]")
    assert storage(tab, "sessionStorage") == {}
    assert not [text for _, text in tab.console if KEY in text or WRONG in text]
    assert KEY not in server.log()


def test_the_key_unlocks_the_try_it_form(tab: Tab, server: Server):
    tab.open("#/catalogue/mean_absolute_error")
    enter(tab, KEY)
    tab.page.get_by_role("button", name="Evaluate").click()
    result = tab.page.wait_for_selector("[data-testid=try-result]")
    body = {"losses": ["mae"], "predictions": [0.2, 1.5, -0.7, 3.0], "targets": [0, 1, -1, 2.5]}
    answer = httpx.post(
        f"{server.base}/v1/evaluate", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    ).json()
    assert float(result.get_attribute("data-value") or "nan") == answer["results"][0]["value"]
