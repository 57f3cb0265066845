"""The rater page, driven headlessly with Streamlit's AppTest (no browser).

Each test builds a launched study on a temp SQLite file with fixture assistance
(``study.testing.ready_study``), opens ``app.py`` with rater query parameters, plays
the flow through the widget keys of docs/automation.md, and then checks the database.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from study import models as m
from study import rater as raters
from study import service
from study.config import ASSISTANCE_KINDS
from study.testing import fixture_items, ready_study, small_config

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
#: Keyed elements that identify a screen, checked in this order.
SCREENS = ("completion_code", "finish", "next", "reveal", "submit", "start", "consent")
KINDS = ("none", "evidence", "reasoning", "debate")


# --------------------------------------------------------------------------- helpers


def open_app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def keys(at: AppTest) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if getattr(node, "key", None):
            found.add(node.key)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    return found


def screen(at: AppTest) -> str | None:
    present = keys(at)
    return next((k for k in SCREENS if k in present), None)


def html_text(at: AppTest) -> str:
    return "\n".join(html.unescape(h.proto.body) for h in at.get("html"))


def widget(at: AppTest, kind: str, key: str) -> Any:
    """The widget of contract key ``key``: keyed ``key`` or, per item, ``key-<assignment id>``."""
    found = [w for w in at.get(kind) if w.key == key or (w.key or "").rsplit("-", 1)[0] == key]
    assert len(found) == 1, (kind, key, [w.key for w in at.get(kind)])
    return found[0]


def click(at: AppTest, key: str) -> AppTest:
    widget(at, "button", key).click().run()
    assert not at.exception, at.exception
    return at


def rater_row(engine: Engine, external_id: str) -> m.Rater:
    with Session(engine) as s:
        rater = s.scalars(select(m.Rater).where(m.Rater.external_id == external_id)).one()
        s.expunge(rater)
        return rater


def pending(engine: Engine, external_id: str) -> tuple[m.Assignment, str]:
    """The rater's current (first unjudged) assignment and its gold label."""
    with Session(engine) as s:
        rater = s.scalars(select(m.Rater).where(m.Rater.external_id == external_id)).one()
        judged = set(s.scalars(select(m.Judgment.assignment_id).where(m.Judgment.rater_id == rater.id)))
        a = next(a for a in rater.assignments if a.id not in judged)
        gold = a.item.gold_label
        s.expunge(a)
        return a, gold


Answer = Callable[[m.Assignment, str], str]


def right(_a: m.Assignment, gold: str) -> str:
    return gold


def answer_item(at: AppTest, engine: Engine, external_id: str, answer: Answer = right, confidence: int = 80) -> AppTest:
    """Answer the current item (both stages when two-stage); returns after Submit."""
    a, gold = pending(engine, external_id)
    label = answer(a, gold)
    if screen(at) == "reveal":
        widget(at, "radio", "initial_label").set_value(label)
        widget(at, "slider", "initial_confidence").set_value(confidence)
        click(at, "reveal")
    assert screen(at) == "submit", keys(at)
    widget(at, "radio", "label").set_value(label)
    widget(at, "slider", "confidence").set_value(confidence)
    return click(at, "submit")


def play(at: AppTest, engine: Engine, external_id: str, answer: Answer = right, *, stop: str = "completion_code",
         max_steps: int = 200) -> AppTest:
    """Play the flow until the screen ``stop`` is up."""
    for _ in range(max_steps):
        now = screen(at)
        if now == stop:
            return at
        if now in ("consent", "start", "next"):
            click(at, now)
        elif now in ("reveal", "submit"):
            answer_item(at, engine, external_id, answer)
        elif now == "finish":
            widget(at, "radio", "exit_trust").set_value(6)
            at.text_area(key="exit_comments").input("**not bold** <b>x</b>")
            click(at, "finish")
        else:
            raise AssertionError(f"stuck on {now!r}: {keys(at)}")
    raise AssertionError("flow did not end")


def judgments(engine: Engine, external_id: str) -> list[tuple[m.Judgment, m.Assignment, str]]:
    with Session(engine) as s:
        rater = s.scalars(select(m.Rater).where(m.Rater.external_id == external_id)).one()
        rows = s.execute(
            select(m.Judgment, m.Assignment, m.Condition.key)
            .join(m.Assignment, m.Assignment.id == m.Judgment.assignment_id)
            .join(m.Condition, m.Condition.id == m.Assignment.condition_id)
            .where(m.Judgment.rater_id == rater.id)
        ).all()
        return [(j, a, key) for j, a, key in rows]


def assert_one_judgment_per_assignment(engine: Engine, external_id: str, condition: str | None = None) -> None:
    rater = rater_row(engine, external_id)
    with Session(engine) as s:
        assigned = set(s.scalars(select(m.Assignment.id).where(m.Assignment.rater_id == rater.id)))
    rows = judgments(engine, external_id)
    assert sorted(a.id for _, a, _ in rows) == sorted(assigned)
    for j, _a, key in rows:
        assert condition is None or key == condition
        assert j.time_ms >= 0 and j.submitted_at is not None


def one_condition(kind: str, **overrides: Any) -> dict[str, Any]:
    return small_config("t", conditions=[{"key": kind, "assistance": kind}], **overrides)


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize("kind", KINDS)
def test_each_condition_shows_its_assistance_and_completes(app_engine: Engine, kind: str) -> None:
    ready_study(app_engine, one_condition(kind))
    at = open_app(study="t", rater="alice")
    at = play(at, app_engine, "alice", stop="submit")  # first practice item
    a, _ = pending(app_engine, "alice")
    with Session(app_engine) as s:
        content = {r.kind: r.content for r in s.scalars(select(m.Assistance).where(m.Assistance.item_pk == a.item_pk))}
    text, present = html_text(at), keys(at)
    assert ("assistance" in present) == (kind != "none")
    if kind == "evidence":
        assert content["evidence"]["quotes"][0]["text"] in text
        assert "AI verdict" not in text
        assert any("verified" in c.value for c in at.caption)
    if kind == "reasoning":
        r = content["reasoning"]
        assert f"AI verdict: {r['label']} · AI confidence: {round(r['confidence'] * 100)}%" in text
        assert r["reasoning"] in text and r["quotes"][0]["text"] in text
    if kind == "debate":
        assert {"debater_a", "debater_b"} <= present and "AI verdict" not in text
        assert "Debater A argues: correct" in text and "Debater B argues: incorrect" in text
    at = play(at, app_engine, "alice")
    assert at.code[0].value == "COMPLETE"
    assert rater_row(app_engine, "alice").status == "completed"
    assert_one_judgment_per_assignment(app_engine, "alice", condition=kind)


def test_within_subjects_items_show_their_own_condition(app_engine: Engine) -> None:
    ready_study(app_engine, small_config("t", design={"type": "within"}, items_per_rater=8, practice_items=0,
                                         attention_checks=0))
    at = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit")
    shown = []
    while screen(at) == "submit":
        a, _ = pending(app_engine, "alice")
        with Session(app_engine) as s:
            kind = s.get(m.Condition, a.condition_id).assistance
        assert any(f"AI assistance on this item: {ASSISTANCE_KINDS[kind]}" in c.value for c in at.caption)
        assert ("assistance" in keys(at)) == (kind != "none")
        shown.append(kind)
        answer_item(at, app_engine, "alice")
    assert set(shown) == set(KINDS)
    assert_one_judgment_per_assignment(app_engine, "alice")


def test_debate_sides_are_counterbalanced_across_raters(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("debate", practice_items=0, attention_checks=0))
    seen = []
    for rid in ("r1", "r2"):
        at = play(open_app(study="t", rater=rid), app_engine, rid, stop="submit")
        left = "correct" if "Debater A argues: correct" in html_text(at) else "incorrect"
        seen.append((rater_row(app_engine, rid).debate_flip, left))
    # fixture debates store the `correct` side first; a flipped rater sees it on the right
    assert sorted(seen) == [(False, "correct"), (True, "incorrect")]


def test_item_text_is_shown_literally(app_engine: Engine) -> None:
    items = fixture_items(24, n_practice=0, n_attention=1)
    nasty = "**not bold** <img src=x onerror=alert(1)> [link](http://x) # heading"
    items = [it.model_copy(update={"claim": nasty, "context": "<b>ctx</b>"}) if it.role == "main" else it for it in items]
    ready_study(app_engine, one_condition("none", practice_items=0, attention_checks=0), items)
    at = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit")
    bodies = [h.proto.body for h in at.get("html")]
    assert any("**not bold** &lt;img src=x onerror=alert(1)&gt; [link](http://x) # heading" in b for b in bodies)
    assert any("&lt;b&gt;ctx&lt;/b&gt;" in b for b in bodies)
    assert not any("<img" in b or "<b>" in b for b in bodies)


# --------------------------------------------------------------------------- two-stage


def test_two_stage_stores_initial_and_final_answers(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("reasoning", practice_items=0, attention_checks=0,
                                          design={"type": "between", "two_stage": True}))
    at = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="reveal")
    assert "assistance" not in keys(at) and "AI verdict" not in html_text(at)
    click(at, "reveal")  # no answer chosen yet
    assert screen(at) == "reveal" and "Please choose an answer first." in [e.value for e in at.error]
    widget(at, "radio", "initial_label").set_value("incorrect")
    widget(at, "slider", "initial_confidence").set_value(60)
    click(at, "reveal")
    assert screen(at) == "submit" and "assistance" in keys(at) and "AI verdict" in html_text(at)
    assert widget(at, "radio", "label").value == "incorrect" and widget(at, "slider", "confidence").value == 60  # keep = default
    widget(at, "radio", "label").set_value("correct")
    widget(at, "slider", "confidence").set_value(90)
    click(at, "submit")
    ((j, a, _),) = judgments(app_engine, "alice")
    assert (j.initial_label, j.initial_confidence, j.label, j.confidence) == ("incorrect", 0.6, "correct", 0.9)
    assert a.initial_at is not None and a.initial_at <= j.submitted_at
    with Session(app_engine) as s:
        kinds = [e.kind for e in s.scalars(select(m.Event).where(m.Event.assignment_id == a.id))]
    assert {"item_shown", "initial", "reveal", "judgment"} <= set(kinds)
    play(at, app_engine, "alice")
    assert_one_judgment_per_assignment(app_engine, "alice")
    assert all(j.initial_label is not None for j, _, _ in judgments(app_engine, "alice"))


def test_two_stage_without_assistance_still_asks_twice(app_engine: Engine) -> None:
    # condition `none` gives the baseline rate of revising an answer with no AI help
    ready_study(app_engine, one_condition("none", practice_items=0, design={"type": "between", "two_stage": True}))
    at = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="reveal")
    assert widget(at, "button", "reveal").label == "Submit first answer"
    play(at, app_engine, "alice")
    assert_one_judgment_per_assignment(app_engine, "alice")
    assert all((j.initial_label is None) == a.is_attention_check for j, a, _ in judgments(app_engine, "alice"))


# --------------------------------------------------------------------------- practice, attention, time


def test_practice_feedback_and_time_on_item(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("evidence", practice_items=1))
    at = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit")
    a, gold = pending(app_engine, "alice")
    assert a.stage == "practice" and a.shown_at is not None
    wrong = next(x for x in ("correct", "incorrect") if x != gold)
    answer_item(at, app_engine, "alice", lambda _a, _g: wrong)
    assert screen(at) == "next" and gold in at.warning[0].value
    nxt, _ = pending(app_engine, "alice")
    assert nxt.shown_at is None  # the next item's clock starts when it is on screen, not during feedback
    click(at, "next")
    assert screen(at) == "submit" and pending(app_engine, "alice")[0].shown_at is not None


def test_failed_attention_check_ends_with_its_code(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("none", practice_items=0, attention_checks=1,
                                          completion={"failed_attention": "ATT-CODE"}))

    def wrong_on_attention(a: m.Assignment, gold: str) -> str:
        return next(x for x in ("correct", "incorrect") if x != gold) if a.is_attention_check else gold

    at = play(open_app(study="t", rater="alice"), app_engine, "alice", wrong_on_attention)
    assert at.code[0].value == "ATT-CODE" and "attention" in at.subheader[0].value
    rater = rater_row(app_engine, "alice")
    assert rater.status == "failed_attention" and rater.attention_failures == 1
    rows = judgments(app_engine, "alice")
    assert rows[-1][1].is_attention_check and len(rows) <= 6 + 1
    # a fresh visit lands on the same screen
    assert open_app(study="t", rater="alice").code[0].value == "ATT-CODE"


def _move_enrolment_back(engine: Engine, external_id: str, minutes: int) -> None:
    with Session(engine) as s, s.begin():
        rater = s.scalars(select(m.Rater).where(m.Rater.external_id == external_id)).one()
        s.execute(update(m.Rater).where(m.Rater.id == rater.id).values(enrolled_at=rater.enrolled_at - timedelta(minutes=minutes)))


def test_time_limit_refuses_late_answers_and_shows_its_code(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("none", practice_items=0, time_limit_minutes=1,
                                          completion={"timed_out": "LATE"}))
    at = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit")
    answer_item(at, app_engine, "alice")
    _move_enrolment_back(app_engine, "alice", 2)
    widget(at, "radio", "label").set_value("correct")
    click(at, "submit")  # on screen before the deadline, submitted after it
    assert at.code[0].value == "LATE" and "time limit" in at.subheader[0].value
    assert rater_row(app_engine, "alice").status == "timed_out"
    assert len(judgments(app_engine, "alice")) == 1
    assert open_app(study="t", rater="alice").code[0].value == "LATE"


def test_time_out_before_any_answer(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("none", time_limit_minutes=1))
    click(open_app(study="t", rater="bob"), "consent")  # the time limit runs from consent
    _move_enrolment_back(app_engine, "bob", 5)
    at = open_app(study="t", rater="bob")
    assert at.code[0].value == "TIMEOUT" and judgments(app_engine, "bob") == []


# --------------------------------------------------------------------------- completion, redirect


def test_completion_stores_questionnaire_and_redirects(app_engine: Engine) -> None:
    url = "https://app.prolific.com/submissions/complete?cc={code}"
    ready_study(app_engine, one_condition("reasoning", completion={"completed": "C0DE", "redirect_url": url}))
    at = play(open_app(study="t", PROLIFIC_PID="5f0c" * 6, STUDY_ID="s1", SESSION_ID="x9"), app_engine, "5f0c" * 6,
              stop="finish")
    assert "completion_code" not in keys(at)  # the code comes after the questionnaire is saved
    at = play(at, app_engine, "5f0c" * 6)
    assert at.code[0].value == "C0DE"
    link = at.get("link_button")[0]
    assert link.proto.url == "https://app.prolific.com/submissions/complete?cc=C0DE"
    assert "redirect" in keys(at)
    rater = rater_row(app_engine, "5f0c" * 6)
    assert (rater.prolific_pid, rater.prolific_study_id, rater.prolific_session_id) == ("5f0c" * 6, "s1", "x9")
    assert rater.exit_answers == {"trust_in_ai": 6, "comments": "**not bold** <b>x</b>"}
    assert_one_judgment_per_assignment(app_engine, "5f0c" * 6, condition="reasoning")


def test_decline_consent_withdraws_without_code(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("none"))
    at = click(open_app(study="t", rater="carol"), "decline")
    assert "completion_code" not in keys(at) and "chose not to take part" in at.subheader[0].value
    assert rater_row(app_engine, "carol").status == "withdrawn"


# --------------------------------------------------------------------------- robustness


def test_resume_from_a_fresh_session_at_the_same_item(app_engine: Engine) -> None:
    ready_study(app_engine, small_config("t"))
    at = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit")
    for _ in range(3):
        if screen(at) == "next":
            click(at, "next")
        answer_item(at, app_engine, "alice")
    if screen(at) == "next":
        click(at, "next")
    before = at.get("progress")[0].proto.text
    a_before, _ = pending(app_engine, "alice")
    at2 = open_app(study="t", rater="alice")  # reload / closed tab / lost connection: new session
    assert screen(at2) == "submit" and at2.get("progress")[0].proto.text == before
    assert pending(app_engine, "alice")[0].shown_at == a_before.shown_at  # the clock keeps running, not restarted
    at2 = play(at2, app_engine, "alice")
    assert at2.code[0].value == "COMPLETE"
    with Session(app_engine) as s:
        assert s.scalar(select(m.Rater.id).where(m.Rater.external_id == "alice")) is not None
        assert len(s.scalars(select(m.Rater)).all()) == 1
        assert "resume" in s.scalars(select(m.Event.kind)).all()
    assert_one_judgment_per_assignment(app_engine, "alice")


def test_two_tabs_share_one_rater_and_never_skip_or_duplicate(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("evidence", practice_items=0, attention_checks=0))
    tab1 = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit")
    tab2 = open_app(study="t", rater="alice")
    assert screen(tab2) == "submit"
    first = tab1.get("progress")[0].proto.text
    assert tab2.get("progress")[0].proto.text == first
    answer_item(tab1, app_engine, "alice", lambda _a, _g: "correct")
    answer_item(tab2, app_engine, "alice", lambda _a, _g: "incorrect")  # same item, answered in tab 2 too
    assert "already answered" in tab2.toast[0].value
    ((j, _, _),) = judgments(app_engine, "alice")
    assert j.label == "correct"  # the first answer wins; tab 2 moved on to the next item, none skipped
    assert tab2.get("progress")[0].proto.text == first.replace("Item 1", "Item 2")
    answer_item(tab2, app_engine, "alice")
    assert [a.position for _, a, _ in judgments(app_engine, "alice")] == [0, 1]
    with Session(app_engine) as s:
        assert len(s.scalars(select(m.Rater)).all()) == 1


def test_double_submit_records_one_judgment(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("none", practice_items=0, attention_checks=0))
    at = play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit")
    answer_item(at, app_engine, "alice")
    click(at, "submit")  # the second click of a double click lands on the next (blank) item
    assert not at.error and screen(at) == "submit"
    assert len(judgments(app_engine, "alice")) == 1
    # A resent submission for an answered item changes nothing.
    (j, a, _), = judgments(app_engine, "alice")
    again = raters.submit_judgment(app_engine, rater_row(app_engine, "alice").token, a.id, "incorrect", 0.5)
    assert not again.recorded and again.judgment_id == j.id
    assert [x.label for x, _, _ in judgments(app_engine, "alice")] == [j.label]


def test_submit_without_answer_asks_for_one(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("none", practice_items=0))
    at = click(play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit"), "submit")
    assert "Please choose an answer first." in [e.value for e in at.error] and judgments(app_engine, "alice") == []


def test_default_study_and_welcome_form(app_engine: Engine) -> None:
    ready_study(app_engine, small_config("demo"))
    at = open_app()
    assert "Welcome" in at.title[0].value
    at.text_input(key="rater_id_input").input("dave")
    click(at, "enter")
    assert at.query_params["rater"] == "dave" and screen(at) == "consent"
    assert rater_row(app_engine, "dave").study_id == service.get_study(app_engine, "demo").id


@pytest.mark.parametrize(("params", "message"), [
    ({"study": "nope", "rater": "x"}, "no such study"),
    ({"study": "nope"}, "no such study"),
    ({"study": "shut", "rater": "x"}, "not open"),
    ({"study": "draft", "rater": "x"}, "not open"),
])
def test_closed_or_unknown_study_says_so(app_engine: Engine, params: dict[str, str], message: str) -> None:
    ready_study(app_engine, small_config("shut"))
    service.set_status(app_engine, "shut", "closed")
    ready_study(app_engine, small_config("draft"), launch=False)
    at = open_app(**params)
    assert message in at.error[0].value
    with Session(app_engine) as s:
        assert s.scalars(select(m.Rater)).all() == []


def test_rater_of_a_paused_study_sees_it_is_paused(app_engine: Engine) -> None:
    ready_study(app_engine, small_config("t"))
    play(open_app(study="t", rater="alice"), app_engine, "alice", stop="submit")
    service.set_status(app_engine, "t", "paused")
    at = open_app(study="t", rater="alice")
    assert "not open at the moment" in at.warning[0].value and screen(at) is None


def test_widget_keys_of_the_automation_contract(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("evidence", design={"type": "between", "two_stage": True}))
    seen: set[str] = set()
    at = open_app(study="t", rater="alice")
    for _ in range(100):
        seen |= keys(at)
        if screen(at) == "completion_code":
            break
        now = screen(at)
        if now in ("reveal", "submit"):
            answer_item(at, app_engine, "alice")
        elif now == "finish":
            click(at, "finish")
        else:
            click(at, now)
    seen |= keys(at)
    contract = {"consent", "start", "label", "confidence", "initial_label", "initial_confidence", "reveal", "submit",
                "next", "finish", "completion_code", "progress", "claim"}
    assert contract <= seen
    doc = (ROOT / "docs" / "automation.md").read_text(encoding="utf-8")
    for key in sorted(contract | {"decline", "exit_trust", "exit_comments", "rater_id_input", "enter"}):
        assert f"`{key}`" in doc, f"docs/automation.md does not document key {key!r}"
