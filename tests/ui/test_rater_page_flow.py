"""The rater page's newer flows, driven with AppTest (no browser); the database is checked after.

Errors next to Submit, whether the confidence slider was moved (and ``require_confidence``),
practice feedback that survives a reload, the study's own instructions and consent, the
comprehension check, marked source paragraphs and the condition's display toggles.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from support.ui_tools import UiTools

from study import models as m
from study import rater as raters
from study import service
from study.testing import fixture_items, ready_study, small_config

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SCREENS = ("completion_code", "finish", "next", "reveal", "submit", "start", "consent")
CHECK = {"questions": [
    {"question": "What do you judge?", "options": ["the AI's answer", "the weather"], "answer": "the AI's answer"},
    {"question": "Can the AI be wrong?", "options": ["yes", "no"], "answer": "yes"},
], "attempts": 2, "fail_code": "NOT-UNDERSTOOD"}


def open_app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    return UiTools.ok(at.run())


def keys(at: AppTest) -> set[str]:
    found: set[str] = set()
    todo: list[Any] = [at.main]
    while todo:
        node = todo.pop()
        if getattr(node, "key", None):
            found.add(node.key)
        todo.extend(getattr(node, "children", {}).values())
    return found


def screen(at: AppTest) -> str | None:
    present = keys(at)
    return next((k for k in SCREENS if k in present), None)


def widget(at: AppTest, kind: str, key: str) -> Any:
    found = [w for w in at.get(kind) if w.key == key or (w.key or "").rsplit("-", 1)[0] == key]
    assert len(found) == 1, (kind, key, [w.key for w in at.get(kind)])
    return found[0]


def click(at: AppTest, key: str) -> AppTest:
    widget(at, "button", key).click()
    return UiTools.ok(at.run())


def page_html(at: AppTest) -> str:
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def to_first_item(at: AppTest) -> AppTest:
    while screen(at) in ("consent", "start"):
        at = click(at, screen(at) or "")
    return at


def rows(engine: Engine, model: Any, **where: Any) -> list[Any]:
    with Session(engine) as s:
        return list(s.scalars(select(model).filter_by(**where)).all())


def one_condition(kind: str, **overrides: Any) -> dict[str, Any]:
    return small_config("t", conditions=[{"key": kind, "assistance": kind}], **overrides)


def test_submit_without_an_answer_shows_the_error_next_to_submit(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("evidence", practice_items=0))
    at = click(to_first_item(open_app(study="t", rater="alice")), "submit")
    box = UiTools.block(at, "answer_error")
    assert box is not None and "Please choose an answer first." in str(box.error[0].value)
    # it is inside the answer form, not at the top of the page
    top = [e for e in at.main.children.values() if getattr(e, "type", "") == "alert"]
    assert not top and rows(app_engine, m.Judgment) == []


@pytest.mark.parametrize("require", [False, True])
def test_confidence_moved_is_recorded_and_can_be_required(app_engine: Engine, require: bool) -> None:
    ready_study(app_engine, one_condition("none", practice_items=0, attention_checks=0, require_confidence=require))
    at = to_first_item(open_app(study="t", rater="alice"))
    slider = widget(at, "slider", "confidence")
    assert slider.proto.format == "%d%%" and slider.value == 75
    widget(at, "radio", "label").set_value("correct")
    at = click(at, "submit")  # slider untouched
    if require:
        assert rows(app_engine, m.Judgment) == []
        assert "move the confidence slider" in str(UiTools.block(at, "answer_error").error[0].value)  # type: ignore[union-attr]
        widget(at, "radio", "label").set_value("correct")
        at = click(at, "submit")
        assert rows(app_engine, m.Judgment) == []  # still untouched: still refused
    widget(at, "radio", "label").set_value("incorrect")
    widget(at, "slider", "confidence").set_value(90)
    click(at, "submit")
    judged = sorted(rows(app_engine, m.Judgment), key=lambda j: j.id)
    expected = [(True, 0.9, "incorrect")] if require else [(False, 0.75, "correct"), (True, 0.9, "incorrect")]
    assert [(j.confidence_moved, j.confidence, j.label) for j in judged] == expected


def test_two_stage_final_answer_keeps_a_moved_first_confidence(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("reasoning", practice_items=0, attention_checks=0, require_confidence=True,
                                          design={"type": "between", "two_stage": True}))
    at = to_first_item(open_app(study="t", rater="alice"))
    widget(at, "radio", "initial_label").set_value("correct")
    widget(at, "slider", "initial_confidence").set_value(60)
    at = click(at, "reveal")
    at = click(at, "submit")  # keeping the first answer as it is: the rater chose that confidence
    (j,) = rows(app_engine, m.Judgment)
    assert (j.label, j.confidence, j.confidence_moved, j.initial_confidence) == ("correct", 0.6, True, 0.6)


def test_practice_feedback_survives_a_reload(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("evidence", practice_items=1))
    at = to_first_item(open_app(study="t", rater="alice"))
    (first,) = [a for a in rows(app_engine, m.Assignment) if a.position == 0]
    gold = rows(app_engine, m.Item, id=first.item_pk)[0].gold_label
    wrong = next(x for x in ("correct", "incorrect") if x != gold)
    widget(at, "radio", "label").set_value(wrong)
    at = click(at, "submit")
    assert screen(at) == "next"
    again = open_app(study="t", rater="alice")  # a reload: a new browser session
    assert screen(again) == "next" and gold in again.warning[0].value and wrong in again.warning[0].value
    second = [a for a in rows(app_engine, m.Assignment) if a.position == 1][0]
    assert second.shown_at is None  # its clock has not started during the feedback
    again = click(again, "next")
    assert screen(again) == "submit" and "Item 2 of" in again.get("progress")[0].proto.text
    assert [e.kind for e in rows(app_engine, m.Event) if e.kind == "feedback_seen"] == ["feedback_seen"]
    assert rows(app_engine, m.Assignment, id=second.id)[0].shown_at is not None
    assert screen(open_app(study="t", rater="alice")) == "submit"  # seen once, not shown again


def test_next_after_practice_feedback_takes_one_run(app_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ready_study(app_engine, one_condition("none", practice_items=1))
    at = to_first_item(open_app(study="t", rater="bob"))
    widget(at, "radio", "label").set_value("correct")
    at = click(at, "submit")
    assert screen(at) == "next"
    runs: list[str] = []
    real = raters.rater_view

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append("run")  # the page reads the rater's view once per script run
        return real(*args, **kwargs)

    monkeypatch.setattr(raters, "rater_view", counted)
    at = click(at, "next")
    assert screen(at) == "submit" and "Item 2 of" in at.get("progress")[0].proto.text
    assert runs == ["run"], "Next took more than one script run"
    assert [e.kind for e in rows(app_engine, m.Event) if e.kind == "feedback_seen"] == ["feedback_seen"]


def test_instructions_state_items_time_and_consent_from_a_file(app_engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "consent.md").write_text("# Our consent\n\nYou may stop **at any time**. <b>x</b>\n", encoding="utf-8")
    (tmp_path / "study.yaml").write_text(
        "name: t\nconsent_file: consent.md\nminutes_per_item: 1.5\nitems_per_rater: 6\npractice_items: 2\n"
        "attention_checks: 1\nconditions:\n  - {key: none, assistance: none}\n", encoding="utf-8")
    from study.config import load_config

    cfg = load_config(tmp_path / "study.yaml")
    assert cfg.consent_file is None and cfg.consent_text.startswith("# Our consent")
    ready_study(app_engine, cfg)
    assert service.get_config(app_engine, "t").consent_text == cfg.consent_text  # the database holds the text
    at = open_app(study="t", rater="alice")
    texts = UiTools.texts(at)
    assert "# Our consent" in texts and "<b>x</b>" in texts  # markdown; its HTML is not interpreted
    at = click(at, "consent")
    length = " ".join(str(e.value) for e in UiTools.block(at, "study_length").markdown)  # type: ignore[union-attr]
    assert "**9 items**" in length and "the first 2 of them for practice" in length and "**14 minutes**" in length


def test_comprehension_check_allows_a_second_attempt(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("none", comprehension=CHECK))
    at = click(open_app(study="t", rater="alice"), "consent")
    assert [r.key for r in at.radio] == ["comprehension_0", "comprehension_1"]
    assert "the AI's answer" not in page_html(at)  # options are shown, the right one is not marked
    with pytest.raises(service.ServiceError, match="comprehension"):
        raters.start(app_engine, rows(app_engine, m.Rater)[0].token)
    at.radio(key="comprehension_0").set_value("the weather")
    at.radio(key="comprehension_1").set_value("yes")
    at = click(at, "start")
    assert "1 answer is not right" in str(UiTools.block(at, "comprehension_error").error[0].value)  # type: ignore[union-attr]
    assert "1 attempt left" in UiTools.texts(at) and screen(at) == "start"
    at.radio(key="comprehension_0").set_value("the AI's answer")
    at.radio(key="comprehension_1").set_value("yes")
    at = click(at, "start")
    assert screen(at) in ("submit", "next") or "progress" in keys(at)
    rater = rows(app_engine, m.Rater)[0]
    assert rater.started_at is not None and rater.comprehension_failures == 1 and rater.status == "active"
    events = [e.payload for e in rows(app_engine, m.Event, kind="comprehension")]
    assert [(e["attempt"], e["wrong"], e["passed"]) for e in events] == [(1, [0], False), (2, [], True)]


def test_failing_the_comprehension_check_twice_ends_with_its_code(app_engine: Engine) -> None:
    ready_study(app_engine, one_condition("none", comprehension=CHECK))
    at = click(open_app(study="t", rater="bob"), "consent")
    for _ in range(2):
        at = click(at, "start")  # nothing answered: both wrong
    assert at.code[0].value == "NOT-UNDERSTOOD" and "instructions" in at.subheader[0].value
    rater = rows(app_engine, m.Rater)[0]
    assert (rater.status, rater.comprehension_failures, rater.started_at) == ("failed_comprehension", 2, None)
    assert rows(app_engine, m.Judgment) == []
    assert open_app(study="t", rater="bob").code[0].value == "NOT-UNDERSTOOD"  # a reload shows it again


def test_long_sources_are_paragraphs_with_the_quotes_marked_in_place(app_engine: Engine) -> None:
    long_text = ("First paragraph <script>x</script> about the claim. " * 3 + "\n\n"
                 + "Second paragraph sentence. " * 40).strip()
    items = [it.model_copy(update={"sources": [it.sources[0].model_copy(update={"text": long_text})]})
             for it in fixture_items(24, n_practice=0, n_attention=0)]
    ready_study(app_engine, one_condition("evidence", practice_items=0, attention_checks=0), items)
    at = to_first_item(open_app(study="t", rater="alice"))
    block = UiTools.block(at, "source_0")
    assert block is not None
    source = "".join(str(h.proto.body) for h in block.children.values() if getattr(h, "type", "") == "html")
    assert source.count("<p ") >= 3  # the blank line, and the long second paragraph split at sentence ends
    assert "&lt;script&gt;" in source and "<script>" not in source
    (quote,) = next(r.content for r in rows(app_engine, m.Assistance, kind="evidence"))["quotes"][:1] or [None]
    assert quote is not None and f"{html.escape(quote['text'])}</mark><sup><b>1</b></sup>" in source


def test_display_toggles_hide_the_parts_a_condition_leaves_out(app_engine: Engine) -> None:
    cond = {"key": "reasoning_bare", "assistance": "reasoning", "show": {"label": False, "confidence": False,
                                                                         "quotes": False, "sources": False}}
    ready_study(app_engine, small_config("t", conditions=[cond], practice_items=0, attention_checks=0))
    at = to_first_item(open_app(study="t", rater="alice"))
    page = page_html(at)
    reasoning = next(r.content for r in rows(app_engine, m.Assistance, kind="reasoning"))
    assert html.escape(reasoning["reasoning"]) in page
    assert "AI verdict" not in page and "AI confidence" not in page and "<mark" not in page
    assert "source_0" not in keys(at) and not at.expander
