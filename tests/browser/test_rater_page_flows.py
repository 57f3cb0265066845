"""The rater page's newer flows in real headless Chromium (Debian ``chromium`` via Playwright).

One app server on a temp SQLite file with one small study per flow: the error next to
Submit on a long item (inside the viewport), quotes marked in the source paragraphs,
the confidence slider (``%``, ``require_confidence``, ``confidence_moved``), practice
feedback across a reload, one answer per item for ``none`` in a two-stage study, the
comprehension check (a failed and a passed attempt, and failing twice), and the time
limit ending an idle page with no action from the rater.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.rater_bot import RaterBot, browser_problem, chromium, free_port, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHECK = {"questions": [
    {"question": "What do you judge?", "options": ["the AI's answer", "the weather"], "answer": "the AI's answer"},
    {"question": "Can the AI be wrong?", "options": ["yes", "no"], "answer": "yes"},
], "attempts": 2, "fail_code": "NOT-UNDERSTOOD"}
FILLER = ("This paragraph of the source goes on about related matters, in detail, so that the page is long. " * 6).strip()


def _long_items() -> list[Any]:
    from study.testing import fixture_items
    from tasks.items import Source

    out = []
    for it in fixture_items(24, n_practice=0, n_attention=0):
        first = it.sources[0].model_copy(update={"text": it.sources[0].text + "\n\n" + FILLER + "\n\n" + FILLER})
        extra = [Source(title=f"More {k}", text=f"{FILLER}\n\n{FILLER}") for k in range(3)]
        out.append(it.model_copy(update={"sources": [first, *extra]}))
    return out


def _studies(url: str) -> None:
    from study.db import get_engine, upgrade
    from study.testing import ready_study, small_config

    upgrade(url)
    engine = get_engine(url)
    one = {"practice_items": 0, "attention_checks": 0}
    ready_study(engine, small_config("long", conditions=[{"key": "evidence", "assistance": "evidence"}], **one),
                _long_items())
    ready_study(engine, small_config("conf", conditions=[{"key": "none", "assistance": "none"}], require_confidence=True,
                                     **one))
    ready_study(engine, small_config("practice", conditions=[{"key": "none", "assistance": "none"}], practice_items=1,
                                     attention_checks=0))
    ready_study(engine, small_config("twonone", conditions=[{"key": "none", "assistance": "none"}],
                                     design={"two_stage": True}, items_per_rater=2, **one))
    ready_study(engine, small_config("check", conditions=[{"key": "none", "assistance": "none"}], comprehension=CHECK,
                                     **one))
    _consult_and_debate(engine, one)
    ready_study(engine, small_config("idle", conditions=[{"key": "none", "assistance": "none"}], time_limit_minutes=1,
                                     completion={"timed_out": "IDLE-LATE"}, **one))


def _consult_and_debate(engine: Any, one: dict[str, Any]) -> None:
    """A study with a consultancy and a debate condition, the debate with a two-round transcript."""
    from study import service
    from study.config import parse_config
    from study.testing import fixture_assistance_rows, fixture_items, small_config
    from tasks.assistance.pipeline import AssistanceRecord, content_hash

    cfg = parse_config(small_config("shapes", conditions=[{"key": "consultancy", "assistance": "consultancy"},
                                                         {"key": "debate", "assistance": "debate"}], **one))
    items = fixture_items(24, n_practice=0, n_attention=0)
    service.create_study(engine, cfg)
    service.import_items(engine, "shapes", items)
    rows = []
    for it in items:
        text = it.sources[0].text.split(".")[0] + "."
        q = {"text": text, "source_index": 0, "source_title": it.sources[0].title, "verified": True,
             "start": 0, "end": len(text)}
        turns = [{"side": s, "label": lab, "text": f"Turn {n} by {lab}.", "quotes": [q] if n == 1 else []}
                 for n, (s, lab) in enumerate([(0, "correct"), (1, "incorrect"), (0, "correct"), (1, "incorrect")])]
        contents = {
            "consultancy": {"label": "incorrect", "argument": "The passage contradicts it.", "quotes": [q],
                            "assigned_correct": it.gold_label == "incorrect"},
            "debate": {"sides": [{"label": "correct", "argument": turns[0]["text"], "quotes": []},
                                 {"label": "incorrect", "argument": turns[1]["text"], "quotes": [q]}],
                       "transcript": {"turns": turns}, "rounds": 2},
        }
        rows += [AssistanceRecord(item_id=it.item_id, kind=k, content=c, generator="fixture", model="fixture",
                                  model_version="", parameters={}, seed=0, package_versions={},
                                  content_hash=content_hash(c)) for k, c in contents.items()]
    service.add_assistance(engine, "shapes", rows)
    service.add_assistance(engine, "shapes", fixture_assistance_rows(items, cfg.labels))  # the verdicts
    service.set_status(engine, "shapes", "live")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Any]]:
    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    tmp = tmp_path_factory.mktemp("flows")
    db = tmp / "oversight.db"
    _studies(f"sqlite:///{db}")
    with streamlit_server(f"sqlite:///{db}", port=free_port(), log=tmp / "streamlit.log") as base, chromium() as browser:
        yield base, db, browser


def _bot(app: tuple[str, Path, Any], rater: str, study: str, height: int = 900) -> RaterBot:
    base, _db, browser = app
    page = browser.new_context(viewport={"width": 1000, "height": height}).new_page()
    bot = RaterBot(page, base)
    bot.open(rater, study=study)
    return bot


def _to_item(bot: RaterBot) -> dict[str, Any]:
    now = bot.probe()
    while now["screen"] in ("consent", "start"):
        now = bot.click(now["screen"])
    return now


def _sql(db: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as c:
        return c.execute(query, args).fetchall()


def _wait_for(bot: RaterBot, selector: str, timeout_ms: int = 20_000) -> Any:
    locator = bot.page.locator(selector)
    locator.first.wait_for(timeout=timeout_ms)
    return locator


def test_the_error_shows_next_to_submit_inside_the_viewport(app: tuple[str, Path, Any]) -> None:
    bot = _bot(app, "long-1", "long")
    _to_item(bot)
    page = bot.page
    below = page.locator(".st-key-submit").bounding_box()
    assert below is not None and below["y"] > 2 * 900  # a long item: Submit is far below the first screen
    # the AI's quote is marked where it stands in the source, on the page itself
    assert page.locator(".st-key-source_0 mark").count() >= 1 and page.locator(".st-key-source_0 p").count() >= 3
    if os.environ.get("OVERSIGHT_SCREENSHOTS") == "1":  # docs/rater-flow.md's picture of the item screen
        page.locator(".st-key-claim").scroll_into_view_if_needed()
        page.screenshot(path=str(Path(__file__).resolve().parents[2] / "docs" / "img" / "rater-item.png"))
    submit = page.locator(".st-key-submit button")
    submit.scroll_into_view_if_needed()
    submit.click()
    error = _wait_for(bot, ".st-key-answer_error")
    bot.wait_screen()
    box = error.first.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900, box
    assert "Please choose an answer first." in error.first.inner_text()
    if os.environ.get("OVERSIGHT_SCREENSHOTS") == "1":
        page.screenshot(path=str(Path(__file__).resolve().parents[2] / "docs" / "img" / "rater-error.png"))
    page.context.close()


def test_confidence_must_move_and_moving_is_recorded(app: tuple[str, Path, Any]) -> None:
    _base, db, _browser = app
    bot = _bot(app, "conf-1", "conf")
    _to_item(bot)
    assert "75%" in bot.page.locator(".st-key-confidence").inner_text()
    bot.page.locator(".st-key-label").get_by_text("correct", exact=True).click()
    bot.page.locator(".st-key-submit button").click()
    error = _wait_for(bot, ".st-key-answer_error")
    assert "move the confidence slider" in error.first.inner_text()
    assert _sql(db, "select count(*) from judgment") == [(0,)]
    bot.choose("", "correct", confidence_steps=2)
    assert "85%" in bot.page.locator(".st-key-confidence").inner_text()
    bot.click("submit")
    rows = _sql(db, "select j.confidence, j.confidence_moved from judgment j join rater r on r.id = j.rater_id"
                    " where r.external_id = 'conf-1'")
    assert [(pytest.approx(0.85), 1)] == rows
    bot.page.context.close()


def test_practice_feedback_survives_a_reload(app: tuple[str, Path, Any]) -> None:
    bot = _bot(app, "practice-1", "practice")
    now = _to_item(bot)
    assert now["progress"].startswith("Practice item 1")
    bot.choose("", "correct")
    assert bot.click("submit")["screen"] == "next"
    bot.page.reload()
    after = bot.wait_screen()
    body = bot.page.inner_text("body")
    assert after["screen"] == "next" and "Practice feedback" in body and "answer is" in body
    nxt = bot.click("next")
    assert nxt["screen"] == "submit" and nxt["progress"].startswith("Item 2")
    bot.page.context.close()


def test_two_stage_none_raters_answer_each_item_once(app: tuple[str, Path, Any]) -> None:
    _base, db, _browser = app
    bot = _bot(app, "twonone-1", "twonone")
    now = _to_item(bot)
    for _ in range(5):
        if now["screen"] == "completion_code":
            break
        assert now["screen"] != "reveal"
        now = bot.step()
    rows = _sql(db, "select j.initial_label, a.initial_at from judgment j join assignment a on a.id = j.assignment_id"
                    " join rater r on r.id = j.rater_id where r.external_id = 'twonone-1'")
    assert len(rows) >= 2 and all(r == (None, None) for r in rows)
    bot.page.context.close()


def test_comprehension_check_second_attempt_and_failure(app: tuple[str, Path, Any]) -> None:
    _base, db, _browser = app
    bot = _bot(app, "check-1", "check")
    bot.click("consent")

    def answer(first: str, then: str) -> dict[str, Any]:
        bot.page.locator(".st-key-comprehension_0").get_by_text(first, exact=True).click()
        bot.page.locator(".st-key-comprehension_1").get_by_text("yes", exact=True).click()
        bot.page.locator(".st-key-start button").click()
        # Wait for what this attempt brings: the first attempt's error stays on screen until
        # the page's run after the second click replaces it, so it cannot say "done".
        _wait_for(bot, then)
        return bot.wait_screen()

    answer("the weather", ".st-key-comprehension_error")
    assert "1 attempt left" in bot.page.inner_text("body")
    now = answer("the AI's answer", ".st-key-progress")
    assert now["screen"] == "submit"
    assert _sql(db, "select status, comprehension_failures from rater where external_id = 'check-1'") == [("active", 1)]
    bot.page.context.close()

    bot = _bot(app, "check-2", "check")
    bot.click("consent")
    bot.page.locator(".st-key-start button").click()
    _wait_for(bot, ".st-key-comprehension_error")
    bot.wait_screen()
    bot.page.locator(".st-key-start button").click()
    code = _wait_for(bot, ".st-key-completion_code")
    bot.page.wait_for_function("() => document.querySelector('.st-key-completion_code').innerText.trim().length > 0")
    assert code.first.inner_text().strip() == "NOT-UNDERSTOOD"
    bot.page.context.close()


def test_consultancy_and_debate_transcript(app: tuple[str, Path, Any]) -> None:
    _base, db, _browser = app
    seen = set()
    for n in range(2):  # balanced: one rater in each condition
        bot = _bot(app, f"shapes-{n}", "shapes")
        _to_item(bot)
        page = bot.page
        body = page.inner_text("body")
        (cond,) = _sql(db, "select c.key from rater r join condition c on c.id = r.condition_id"
                           " where r.external_id = ?", f"shapes-{n}")[0]
        seen.add(cond)
        assert "assigned" not in body.lower() and "AI verdict" not in body
        assert page.locator(".st-key-source_0 mark").count() == 1
        if cond == "consultancy":
            assert "The AI argues: incorrect" in page.locator(".st-key-consultant").inner_text()
            assert "The passage contradicts it." in body
        else:
            texts = [page.locator(f".st-key-turn_{t}").inner_text() for t in range(4)]
            assert [f"Turn {t} by" in x for t, x in enumerate(texts)] == [True] * 4
            assert "B1" in page.locator(".st-key-source_0").inner_text() or "A1" in page.locator(".st-key-source_0").inner_text()
        bot.page.context.close()
    assert seen == {"consultancy", "debate"}


def test_the_time_limit_ends_an_idle_page(app: tuple[str, Path, Any]) -> None:
    _base, db, _browser = app
    from study import rater as raters
    from study.db import get_engine

    engine = get_engine(f"sqlite:///{db}")
    raters.consent(engine, raters.enrol(engine, "idle", "idle-1").token)  # the time limit starts at consent
    with sqlite3.connect(db) as c:  # 45 s ago: 15 s of the one-minute limit are left
        c.execute("update rater set enrolled_at = datetime(enrolled_at, ?) where external_id = 'idle-1'",
                  (f"-{int(timedelta(seconds=45).total_seconds())} seconds",))
    bot = _bot(app, "idle-1", "idle")
    _to_item(bot)
    t0 = time.monotonic()
    _wait_for(bot, ".st-key-completion_code", timeout_ms=60_000)  # no click, no key press
    bot.page.wait_for_function("() => document.querySelector('.st-key-completion_code').innerText.includes('IDLE')")
    assert "IDLE-LATE" in bot.completion_code() and time.monotonic() - t0 < 45
    assert _sql(db, "select status from rater where external_id = 'idle-1'") == [("timed_out",)]
    assert _sql(db, "select count(*) from event e join rater r on r.id = e.rater_id"
                    " where r.external_id = 'idle-1' and e.kind = 'timed_out'") == [(1,)]
    bot.page.context.close()
