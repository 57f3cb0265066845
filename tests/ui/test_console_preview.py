"""Previewing an item as a rater in each condition sees it (nothing recorded)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from study import models as m
from study.db import read_session
from study.testing import ready_study, small_config


def _html(at) -> str:  # noqa: ANN001
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def _answer_radio(at):  # noqa: ANN001, ANN202 - the rater page's label radio (its key is the rater page's business)
    return next(r for r in at.radio if r.key != "console_section")


def _events(engine: Engine) -> int:
    with read_session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(m.Event)) or 0)


def test_preview_shows_each_condition_like_the_rater_page(app_engine: Engine, ui, console) -> None:
    ready_study(app_engine, small_config("pv", conditions=[
        {"key": "none", "assistance": "none"},
        {"key": "reasoning", "assistance": "reasoning", "warning": "The AI can be wrong."},
        {"key": "debate", "assistance": "debate"},
    ]))
    at = console()
    at.radio(key="console_section").set_value("Preview")
    at = ui.ok(at.run())
    at.selectbox(key="preview_item").set_value("item-001")
    at.selectbox(key="preview_condition").set_value("none")
    at = ui.ok(at.run())
    html = _html(at)
    assert "Claim number 1 states that quantity 1 equals 4." in html and "Reference 1" in html
    assert "AI verdict" not in html and "Debater" not in html
    assert _answer_radio(at).options == ["correct", "incorrect"]

    at.selectbox(key="preview_condition").set_value("reasoning")
    at = ui.ok(at.run())
    html = _html(at)
    assert "The source suggests the claim is" in html
    assert any("The AI can be wrong" in w.value for w in at.warning)

    at.selectbox(key="preview_condition").set_value("debate")
    at = ui.ok(at.run())
    before = _html(at)
    at.toggle(key="preview_flip").set_value(True)
    at = ui.ok(at.run())
    after = _html(at)
    assert before.index("The claim is correct.") < before.index("The claim is incorrect.")
    assert after.index("The claim is incorrect.") < after.index("The claim is correct.")

    events = _events(app_engine)
    _answer_radio(at).set_value("correct")
    at = ui.ok(next(b for b in at.button if b.label == "Submit").click().run())
    with read_session(app_engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Judgment)) == 0
    assert _events(app_engine) == events


def test_preview_of_attention_check_has_no_assistance(app_engine: Engine, ui, console) -> None:
    ready_study(app_engine, small_config("pv"))
    at = console()
    at.radio(key="console_section").set_value("Preview")
    at = ui.ok(at.run())
    at.selectbox(key="preview_item").set_value("attention-0")
    at.selectbox(key="preview_condition").set_value("reasoning")
    at = ui.ok(at.run())
    html = _html(at)
    assert "Attention check: please answer" in html and "The source suggests" not in html


def test_full_flow_preview_walks_every_screen_and_shows_the_truth(app_engine: Engine, ui, console) -> None:
    from study import preview

    ready_study(app_engine, small_config("flow", consent_text="Consent text of this study."))
    steps = preview.flow_steps(app_engine, "flow")
    at = console()
    at.radio(key="console_section").set_value("Preview")
    at = ui.ok(at.run())
    at.selectbox(key="preview_condition").set_value("reasoning")
    at = ui.ok(at.run())
    events = _events(app_engine)
    seen = []
    for i, step in enumerate(steps):
        assert at.selectbox(key="preview_index").value == i
        html, texts = _html(at), ui.texts(at)
        seen.append(step.screen)
        if step.screen == "consent":
            assert "Consent text of this study." in html + texts  # markdown since consent_file support
        elif step.screen == "item":
            truth = preview.item_truth(app_engine, "flow", step.item_id)
            box = ui.block(at, "preview_truth")
            assert box is not None and f"gold label **{truth.gold_label}**" in ui.texts(at)
            if truth.ai_label is not None:
                assert ("the AI is **right**" if truth.ai_correct else "the AI is **wrong**") in texts
        elif step.screen == "done":
            assert "COMPLETE" in [c.value for c in at.code]
        if i < len(steps) - 1:
            at = ui.ok(at.button(key="preview_next").click().run())
    assert seen == [s.screen for s in steps] and seen[:2] == ["consent", "instructions"] and seen[-1] == "done"
    assert at.button(key="preview_next").disabled
    assert _events(app_engine) == events  # nothing recorded
