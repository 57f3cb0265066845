"""The console's new flows in real headless Chromium at 1280 px: the study form, clone,
the participants review, the full-flow preview, and tables that are not clipped.

One app server (``streamlit run app.py``) on a temp SQLite file with the demo study
(fixture assistance) and simulated raters. Every check reads the database or the page
as a person would see it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from support.rater_bot import browser_problem, chromium, prepare_demo, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "console-browser-secret"
WIDTH = 1280


@pytest.fixture(scope="module")
def console_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Any]]:
    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    from study.db import get_engine
    from study.simulate import simulate_study

    tmp = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{tmp / 'oversight.db'}"
    prepare_demo(url)
    simulate_study(get_engine(url), "demo", 12, seed=4)
    os.environ["OVERSIGHT_ADMIN_PASSWORD"] = PASSWORD
    try:
        with streamlit_server(url, log=tmp / "streamlit.log") as base, chromium() as browser:
            yield base, url, browser
    finally:
        os.environ.pop("OVERSIGHT_ADMIN_PASSWORD", None)


def _settle(page: Any, selector: str | None = None, timeout: float = 60_000) -> None:
    if selector:
        page.wait_for_selector(selector, timeout=timeout)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') !== 'running'",
        timeout=timeout)
    page.wait_for_timeout(800)


def _console(browser: Any, base: str) -> Any:
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    page.goto(f"{base}/console")
    page.locator(".st-key-admin_password input").fill(PASSWORD)
    page.locator(".st-key-login button").click()
    _settle(page, ".st-key-console_section")
    return page


def _section(page: Any, name: str, ready: str) -> None:
    page.locator(".st-key-console_section").get_by_text(name, exact=True).click()
    _settle(page, ready)


def _pick(page: Any, key: str, option: str) -> None:
    """Choose ``option`` in the selectbox or multiselect ``key`` (a combobox: type, then click the option)."""
    box = page.locator(f".st-key-{key} input[role=combobox]")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    _settle(page)


def _no_exception(page: Any) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def _clipped_tables(page: Any) -> list[str]:
    """Keys of keyed tables wider than the page's main column, or scrolling sideways."""
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMainBlockContainer"]').getBoundingClientRect();
        const out = [];
        for (const box of document.querySelectorAll('[class*="st-key-"] [data-testid="stDataFrame"]')) {
            const key = [...box.closest('[class*="st-key-"]').classList].find(c => c.startsWith('st-key-'));
            const r = box.getBoundingClientRect();
            if (r.width === 0) continue;  // inside a closed expander
            const scroller = box.querySelector('.dvn-scroller');
            const sideways = scroller && scroller.scrollWidth > scroller.clientWidth + 2;
            if (r.right > main.right + 1 || r.width < 50 || sideways) out.push(key);
        }
        return out;
    }""")


def test_monitor_and_participants_tables_are_not_clipped(console_app: tuple[str, str, Any]) -> None:
    base, _, browser = console_app
    page = _console(browser, base)
    _settle(page, ".st-key-monitor_activity [data-testid='stDataFrame']")
    _no_exception(page)
    assert page.locator("[data-testid='stDataFrame']").count() >= 5
    assert _clipped_tables(page) == []
    _section(page, "Participants", ".st-key-participants [data-testid='stDataFrame']")
    _no_exception(page)
    assert _clipped_tables(page) == []


def test_review_in_the_browser_is_recorded(console_app: tuple[str, str, Any]) -> None:
    from study.db import get_engine
    from study.participants import participants
    from study.review import excluded_raters

    base, url, browser = console_app
    first = participants(get_engine(url), "demo")["rater_id"].iloc[0]
    page = _console(browser, base)
    _section(page, "Participants", ".st-key-review_raters")
    _pick(page, "review_raters", first)
    page.keyboard.press("Escape")
    _pick(page, "review_decision", "Exclude from analysis")
    page.locator(".st-key-review_reason input").fill("answered at random")
    page.locator(".st-key-review_reason input").press("Tab")
    _settle(page)
    page.locator(".st-key-review_apply button").click()
    _settle(page)
    _no_exception(page)
    assert "Recorded exclude for 1 rater(s)." in page.locator("[data-testid='stAlert']").first.inner_text()
    assert excluded_raters(get_engine(url), "demo") == {first}


def test_form_creates_a_study_and_clone_copies_it(console_app: tuple[str, str, Any]) -> None:
    from study import service
    from study.db import get_engine

    base, url, browser = console_app
    page = _console(browser, base)
    _section(page, "New study", ".st-key-form_name")
    page.locator(".st-key-form_name input").fill("browser-form")
    page.locator(".st-key-form_items_per_rater input").fill("6")
    page.locator(".st-key-form_items_per_rater input").press("Enter")
    _settle(page)
    page.locator(".st-key-form_c3_show_quotes label").click()
    _settle(page)
    page.locator(".st-key-form_comprehension label").click()  # the check, with the example question
    _settle(page, ".st-key-form_q0_options textarea")
    page.locator(".st-key-form_q0_options textarea").fill("Me\nThe AI\nNobody")
    page.locator(".st-key-form_q0_options textarea").press("Tab")
    _settle(page)
    assert page.locator(".st-key-create_from_form button").is_disabled()  # the answer was edited away
    _pick(page, "form_q0_answer", "Me")
    page.locator(".st-key-create_from_form button").click()
    _settle(page, ".st-key-bank_summary")
    _no_exception(page)
    config = service.get_config(get_engine(url), "browser-form")
    assert config.items_per_rater == 6 and not config.condition("debate").show.quotes
    assert config.condition("reasoning").show.quotes
    assert config.comprehension is not None and config.comprehension.attempts == 2
    assert [(q.options, q.answer) for q in config.comprehension.questions] == [(["Me", "The AI", "Nobody"], "Me")]

    _section(page, "Manage", ".st-key-clone_name")
    page.locator(".st-key-clone_name input").fill("browser-form-2")
    page.locator(".st-key-clone_name input").press("Enter")
    _settle(page)
    page.locator(".st-key-clone_study button").click()
    _settle(page)
    _no_exception(page)
    assert service.get_config(get_engine(url), "browser-form-2").items_per_rater == 6


def test_full_flow_preview_shows_each_screen_and_the_truth(console_app: tuple[str, str, Any]) -> None:
    from study import preview
    from study.db import get_engine

    base, url, browser = console_app
    page = _console(browser, base)
    _section(page, "Preview", ".st-key-preview_screen")
    steps = preview.flow_steps(get_engine(url), "demo")
    assert "Consent" in page.locator(".st-key-preview_screen").inner_text()
    page.locator(".st-key-preview_next button").click()
    _settle(page)
    assert "Instructions" in page.locator(".st-key-preview_screen").inner_text()
    page.locator(".st-key-preview_next button").click()
    _settle(page, ".st-key-preview_truth")
    truth = preview.item_truth(get_engine(url), "demo", steps[2].item_id)
    text = page.locator(".st-key-preview_truth").inner_text()
    assert f"gold label {truth.gold_label}" in text
    assert ("the AI is right" if truth.ai_correct else "the AI is wrong") in text
    assert page.locator(".st-key-preview_screen .st-key-submit").count() == 1
    _no_exception(page)
