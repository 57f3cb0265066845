"""The demo study, rated in real headless Chromium (Debian ``chromium`` via Playwright).

One app server (``streamlit run app.py``) on a temp SQLite file with the demo study
(fixture assistance, so no model is loaded). Raters are enrolled until every
condition is covered; each completes the study, one reloads mid-study, each
double-clicks Submit once, one opens its link in a second tab. Then the database
must hold exactly one judgment per assigned item, in the rater's condition, with
server and client times.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.rater_bot import RaterBot, browser_problem, chromium, free_port, prepare_demo, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CONDITIONS = {"none", "evidence", "reasoning", "debate"}


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Any]]:
    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "oversight.db"
    url = f"sqlite:///{db}"
    prepare_demo(url)
    port = free_port()
    _redirect_study(url, f"http://127.0.0.1:{port}/landed?cc={{code}}")
    with streamlit_server(url, port=port, log=tmp / "streamlit.log") as base, chromium() as browser:
        yield base, db, browser


def _redirect_study(url: str, redirect_url: str) -> None:
    from study.db import get_engine
    from study.testing import ready_study, small_config

    ready_study(get_engine(url), small_config(
        "redir", items_per_rater=1, practice_items=0, attention_checks=0,
        completion={"completed": "REDIR-OK", "redirect_url": redirect_url},
    ))


def _condition(db: Path, rater: str) -> str:
    with sqlite3.connect(db) as c:
        row = c.execute(
            "select c.key from rater r join condition c on c.id = r.condition_id where r.external_id = ?", (rater,)
        ).fetchone()
    return str(row[0])


def _rate_demo(base: str, db: Path, browser: Any, rater: str, *, reload_at: int | None, second_tab: bool) -> str:
    """Complete the demo study as ``rater``; returns the completion code shown."""
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    bot = RaterBot(page, base)
    bot.open(rater)
    assert bot.probe()["screen"] == "consent"
    bot.step()  # the condition is chosen at consent
    condition = _condition(db, rater)
    double_clicked = expanded = False
    for _ in range(60):
        now = bot.probe()
        if now["screen"] == "completion_code":
            break
        main_item = now["screen"] == "submit" and now["progress"].startswith("Item")
        if main_item and reload_at is not None and now["progress"].startswith(f"Item {reload_at} "):
            page.reload()
            after = bot.wait_screen()
            assert (after["screen"], after["progress"], after["claim"]) == ("submit", now["progress"], now["claim"])
            reload_at = None
        if main_item and second_tab:
            other = context.browser.new_context().new_page()  # a second tab, own session
            RaterBot(other, base).open(rater)
            assert RaterBot(other, base).probe()["progress"] == now["progress"]
            other.context.close()
            second_tab = False
        if main_item and condition != "none" and not expanded and page.locator(".st-key-assistance summary").count():
            before = bot.probe()
            page.locator(".st-key-assistance summary").first.click()
            page.locator(".st-key-assistance mark").first.wait_for()
            bot.wait_screen()
            assert bot.probe()["progress"] == before["progress"]
            expanded = True
        bot.step(double_click=main_item and not double_clicked)
        double_clicked = double_clicked or main_item
    code = bot.completion_code()
    context.close()
    return code


def test_demo_study_in_every_condition(demo_app: tuple[str, Path, Any]) -> None:
    base, db, browser = demo_app
    seen: dict[str, str] = {}
    for n in range(8):  # balanced assignment covers the four conditions in four raters
        rater = f"browser-{n}"
        code = _rate_demo(base, db, browser, rater, reload_at=4 if n == 0 else None, second_tab=n == 1)
        assert code == "OVL-DEMO-DONE"
        seen.setdefault(_condition(db, rater), rater)
        if set(seen) == CONDITIONS:
            break
    assert set(seen) == CONDITIONS
    with sqlite3.connect(db) as c:
        raters = c.execute("select id, external_id, status, condition_id from rater").fetchall()
        assert len(raters) == n + 1 and {r[2] for r in raters} == {"completed"}
        for rater_id, _ext, _status, condition_id in raters:
            assigned = c.execute("select id, condition_id from assignment where rater_id = ?", (rater_id,)).fetchall()
            judged = c.execute(
                "select assignment_id, time_ms, active_ms, client_submitted_at, submitted_at, confidence from judgment"
                " where rater_id = ?", (rater_id,)).fetchall()
            assert sorted(a for a, *_ in judged) == sorted(a for a, _ in assigned)  # exactly one each
            assert {cond for _, cond in assigned} == {condition_id}
            for _a, time_ms, active_ms, client_at, submitted_at, confidence in judged:
                assert time_ms > 0 and submitted_at
                # the bot moves a fresh slider (75%) two steps up: nothing carried over from another item
                assert confidence == pytest.approx(0.85)
                assert active_ms is not None and 0 <= active_ms <= time_ms + 2000 and client_at
        events = dict(c.execute("select kind, count(*) from event group by kind").fetchall())
        assert events.get("resume", 0) >= 2  # the reload and the second tab
        assert events.get("quote_expand", 0) >= 3  # one per assisted condition (none has no quotes)


def test_completion_redirects_with_the_code(demo_app: tuple[str, Path, Any]) -> None:
    base, _db, browser = demo_app
    page = browser.new_page()
    bot = RaterBot(page, base)
    bot.open("redirected", study="redir")
    while bot.probe()["screen"] != "completion_code":
        bot.step()
    assert bot.completion_code() == "REDIR-OK"
    page.wait_for_url("**/landed?cc=REDIR-OK", timeout=15_000)
    page.close()
