"""The catalogue page in Chromium against a real server: every loss, its formula, parameters and
equivalents, the curve drawn from the API's numbers (and redrawn when a parameter changes), the
classic overlays, the "try it" form, and a page that cannot reach another origin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..ops.server import Server, running_server
from .browser import Tab, drawn, wait_until_drawn

pytestmark = pytest.mark.slow

CURVE = "[data-testid=curve]"
GRADIENT = "[data-testid=curve-gradient]"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as started:
        yield started


def post(server: Server, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.base}/v1/{path}", json=body, timeout=10)


def curve(server: Server, name: str, params: list[dict[str, Any]], **grid: float) -> dict[str, Any]:
    body = {"params": params, "target": 0.0, "start": -3.0, "stop": 3.0, "num": 201, **grid}
    response = post(server, f"losses/{name}/curve", body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def columns(*answers: dict[str, Any], key: str = "value") -> list[list[float | None]]:
    """The chart's columns for these curve answers: x, then one column per curve, in order."""
    return [answers[0]["x"], *(c[key] for answer in answers for c in answer["curves"])]


def test_the_catalogue_shows_each_loss_with_formula_parameters_and_equivalents(tab: Tab, server: Server):
    catalogue = httpx.get(f"{server.base}/v1/losses", timeout=10).json()["losses"]
    huber = next(entry for entry in catalogue if entry["name"] == "huber")
    tab.open("#/catalogue/huber")
    page = tab.page
    page.wait_for_selector("[data-testid=loss-entry][data-loss=huber]")
    assert page.locator("[data-testid=loss-link]").all_inner_texts() == [e["name"] for e in catalogue]
    assert page.inner_text("[data-testid=formula]") == huber["formula"]
    assert page.input_value("[data-param=delta]") == "1"
    rows = page.locator("[data-testid=equivalents] tbody tr").all_inner_texts()
    expected = [f"{e['library']}\t{e['function']}\t{e['mapping']}" for e in huber["equivalents"]]
    assert rows == expected
    assert {"PyTorch", "Keras", "Optax"} <= {e["library"] for e in huber["equivalents"]}
    page.fill("[data-testid=loss-filter]", "l1")
    visible = [name for name in page.locator("[data-testid=loss-link]:visible").all_inner_texts()]
    assert visible == ["mean_absolute_error", "smooth_l1"]  # mae's alias is l1
    tab.screenshot("catalogue-huber")


def test_the_curve_draws_what_the_api_returns(tab: Tab, server: Server):
    expected = curve(server, "huber", [{}])
    tab.open("#/catalogue/huber")
    loss = wait_until_drawn(tab.page, CURVE, columns(expected))
    gradient = wait_until_drawn(tab.page, GRADIENT, columns(expected, key="gradient"))
    assert loss["data"] == columns(expected) and gradient["data"] == columns(expected, key="gradient")
    assert loss["labels"] == ["huber"]
    assert loss["dataset"]["points"] == "201" and loss["dataset"]["loss"] == "huber"
    # The line is on the canvas: pixels of its colour (#2563eb) are there.
    painted = tab.page.eval_on_selector(
        f"{CURVE} canvas",
        """canvas => {
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
                if (Math.abs(r - 37) < 30 && Math.abs(g - 99) < 30 && b > 200) count++;
            }
            return count;
        }""",
    )
    assert painted > 200
    tab.screenshot("curve")


def test_the_curve_follows_a_parameter_change(tab: Tab, server: Server):
    tab.open("#/catalogue/huber")
    before = wait_until_drawn(tab.page, CURVE, columns(curve(server, "huber", [{}])))
    tab.page.fill("[data-param=delta]", "0.25")
    expected = curve(server, "huber", [{"delta": 0.25}])
    after = wait_until_drawn(tab.page, CURVE, columns(expected))
    assert after["data"] == columns(expected) and after["data"] != before["data"]
    assert after["labels"] == ["huber (delta=0.25)"]
    gradient = wait_until_drawn(tab.page, GRADIENT, columns(expected, key="gradient"))
    assert max(gradient["data"][1]) == 0.25  # Huber's gradient saturates at delta
    sent = [r for r in tab.api_requests() if r.url.endswith("/v1/losses/huber/curve")]
    assert sent[-1].post_data_json["params"] == [{"delta": 0.25}]


def test_the_target_and_the_range_move_the_curve(tab: Tab, server: Server):
    tab.open("#/catalogue/mean_squared_error")
    wait_until_drawn(tab.page, CURVE, columns(curve(server, "mean_squared_error", [{}])))
    tab.page.fill("[data-curve=target]", "1.5")
    tab.page.fill("[data-curve=stop]", "4")
    expected = curve(server, "mean_squared_error", [{}], target=1.5, stop=4.0)
    assert wait_until_drawn(tab.page, CURVE, columns(expected))["data"] == columns(expected)


def test_l1_vs_l2(tab: Tab, server: Server):
    tab.open("#/catalogue")
    tab.page.get_by_text("L1 vs L2").click()
    expected = [curve(server, "mean_absolute_error", [{}]), curve(server, "mean_squared_error", [{}])]
    loss = wait_until_drawn(tab.page, CURVE, columns(*expected))
    assert loss["labels"] == ["mean_absolute_error", "mean_squared_error"]
    assert loss["dataset"]["curves"] == "2"
    gradient = wait_until_drawn(tab.page, GRADIENT, columns(*expected, key="gradient"))
    assert gradient["data"][1][0] == -1.0 and gradient["data"][2][0] == -6.0  # sign(e) and 2e at e = -3
    tab.screenshot("l1-vs-l2")


def test_huber_for_several_deltas_then_one_removed(tab: Tab, server: Server):
    tab.open("#/catalogue/mean_squared_error")
    tab.page.get_by_text("Huber for several deltas").click()
    expected = curve(server, "huber", [{}, {"delta": 0.5}, {"delta": 2}])
    loss = wait_until_drawn(tab.page, CURVE, columns(expected))
    assert loss["labels"] == ["huber (delta=1)", "huber (delta=0.5)", "huber (delta=2)"]
    chips = tab.page.locator("[data-testid=overlay]").all_inner_texts()
    assert chips == ["huber:delta=0.5 ×", "huber:delta=2 ×"]
    tab.screenshot("huber-deltas")
    tab.page.get_by_label("remove huber:delta=0.5").click()
    expected = curve(server, "huber", [{}, {"delta": 2}])
    labels = wait_until_drawn(tab.page, CURVE, columns(expected))["labels"]
    assert labels == ["huber (delta=1)", "huber (delta=2)"]
    assert "overlay=huber%3Adelta%3D2" in tab.page.url


def test_keeping_a_curve_and_overlaying_another_loss(tab: Tab, server: Server):
    tab.open("#/catalogue/pseudo_huber")
    wait_until_drawn(tab.page, CURVE, columns(curve(server, "pseudo_huber", [{}])))
    tab.page.fill("[data-param=delta]", "2")
    tab.page.get_by_text("Keep this curve").click()
    tab.page.fill("[data-param=delta]", "0.5")
    tab.page.select_option("[data-testid=overlay-loss]", "log_cosh")
    pseudo_huber = curve(server, "pseudo_huber", [{"delta": 0.5}, {"delta": 2}])
    expected = [pseudo_huber, curve(server, "log_cosh", [{}])]
    loss = wait_until_drawn(tab.page, CURVE, columns(*expected))
    assert loss["labels"] == ["pseudo_huber (delta=0.5)", "pseudo_huber (delta=2)", "log_cosh"]


def test_an_input_mode_fixes_its_parameters_and_range(tab: Tab, server: Server):
    tab.open("#/catalogue/binary_cross_entropy")
    grid = {"target": 1.0, "start": 0.01, "stop": 0.99}
    probabilities = curve(server, "binary_cross_entropy", [{"from_logits": False}], **grid)
    wait_until_drawn(tab.page, CURVE, columns(probabilities))
    assert tab.page.is_disabled("[data-param=from_logits]")
    tab.page.select_option("[data-curve=mode]", label="logits")
    logits = curve(server, "binary_cross_entropy", [{"from_logits": True}], target=1.0)
    assert wait_until_drawn(tab.page, CURVE, columns(logits))["data"] == columns(logits)
    assert tab.page.is_checked("[data-param=from_logits]")


def test_a_margin_loss_takes_a_sign_target(tab: Tab, server: Server):
    tab.open("#/catalogue/hinge")
    wait_until_drawn(tab.page, CURVE, columns(curve(server, "hinge", [{}], target=1.0)))
    tab.page.select_option("[data-curve=target]", "-1")
    expected = curve(server, "hinge", [{}], target=-1.0)
    assert wait_until_drawn(tab.page, CURVE, columns(expected))["data"] == columns(expected)


def test_a_domain_error_shows_the_problem_and_keeps_the_chart(tab: Tab, server: Server):
    tab.expected_errors = ("status of 422",)  # the browser logs the refused request
    tab.open("#/catalogue/mean_squared_log_error")
    grid = {"start": -0.95, "stop": 3.0}
    expected = curve(server, "mean_squared_log_error", [{}], **grid)
    wait_until_drawn(tab.page, CURVE, columns(expected))
    tab.page.fill("[data-curve=start]", "-2")
    problem = post(server, "losses/mean_squared_log_error/curve", {"start": -2.0, "stop": 3.0}).json()
    tab.page.wait_for_selector("[data-testid=problem]")
    assert problem["detail"] in tab.page.inner_text("[data-testid=problem]")
    assert drawn(tab.page, CURVE)["data"] == columns(expected)


def test_try_it_evaluates_pasted_arrays(tab: Tab, server: Server):
    tab.open("#/catalogue/huber")
    page = tab.page
    page.fill("[data-param=delta]", "0.5")
    page.fill("[data-try=predictions]", "0.5, 2.5\n-1 4")
    page.fill("[data-try=targets]", "[0, 1, 1, 0]")
    page.fill("[data-try=weights]", "1 2 1 1")
    page.get_by_role("button", name="Evaluate").click()
    result = page.wait_for_selector("[data-testid=try-result]")
    body = {
        "losses": [{"name": "huber", "delta": 0.5}],
        "predictions": [0.5, 2.5, -1, 4],
        "targets": [0, 1, 1, 0],
        "weights": [1, 2, 1, 1],
    }
    answer = post(server, "evaluate", body).json()["results"][0]
    assert float(result.get_attribute("data-value") or "nan") == answer["value"]
    assert "samples that count\t4" in result.inner_text()


def test_try_it_shows_the_problem(tab: Tab, server: Server):
    tab.expected_errors = ("status of 422",)
    tab.open("#/catalogue/cross_entropy")
    page = tab.page
    page.wait_for_selector("[data-testid=try-form]")
    assert page.locator(CURVE).count() == 0  # a vector prediction has no scalar curve
    page.fill("[data-try=targets]", "[0, 1]")  # three rows of predictions, two targets
    page.get_by_role("button", name="Evaluate").click()
    shown = page.wait_for_selector("[data-testid=problem]").inner_text()
    body = {
        "losses": [{"name": "cross_entropy"}],
        "predictions": [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]],
        "targets": [0, 1],
    }
    problem = post(server, "evaluate", body).json()
    assert problem["status"] == 422 and problem["detail"] in shown
    page.fill("[data-try=targets]", "0 1 x")
    page.get_by_role("button", name="Evaluate").click()
    page.wait_for_selector("text=targets: 'x' is not a number")


def test_an_unknown_loss_says_so(tab: Tab):
    tab.open("#/catalogue/no_such_loss")
    assert "no loss named 'no_such_loss'" in tab.page.wait_for_selector("[data-testid=problem]").inner_text()


def test_the_page_cannot_reach_another_origin(tab: Tab):
    tab.expected_errors = ("Content Security Policy",)
    tab.open("#/catalogue/huber")
    tab.page.wait_for_selector(CURVE)
    outcome = tab.page.evaluate(
        """async () => {
            const image = new Image();
            image.src = "http://192.0.2.1/pixel.png";
            document.body.append(image);
            try {
                await fetch("http://192.0.2.1/data");
                return "fetched";
            } catch (error) {
                return error.name;
            }
        }"""
    )
    assert outcome == "TypeError"
    tab.page.wait_for_timeout(200)
    errors = tab.console_errors()
    for directive in ("connect-src 'self'", "img-src 'self'"):
        assert [e for e in errors if "Content Security Policy" in e and directive in e], errors
    assert tab.foreign == []  # the policy stopped both before they reached the network
