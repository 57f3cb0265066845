"""The full-flow preview: every screen in order, built read-only."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from study import models as m
from study import preview
from study.db import read_session
from study.testing import ready_study, small_config


def _rows(engine: Engine) -> tuple[int, int, int]:
    with read_session(engine) as s:
        return tuple(int(s.scalar(select(func.count()).select_from(t)) or 0)  # type: ignore[return-value]
                     for t in (m.Rater, m.Event, m.Judgment))


def test_flow_has_every_screen_in_order(engine: Engine) -> None:
    ready_study(engine, small_config("fl", practice_items=2, attention_checks=2, items_per_rater=6))
    steps = preview.flow_steps(engine, "fl")
    screens = [s.screen for s in steps]
    assert screens[:2] == ["consent", "instructions"] and screens[-2:] == ["exit", "done"]
    items = [s for s in steps if s.screen == "item"]
    assert [s.role for s in items[:2]] == ["practice", "practice"]
    assert sorted(s.role for s in items[2:]) == ["attention_check"] * 2 + ["main"] * 6
    assert items[2].role == "main" and items[-1].role == "main"  # checks are spread among the items
    assert [s.position for s in items] == list(range(10))


def test_two_stage_items_have_two_screens_and_views_write_nothing(engine: Engine) -> None:
    ready_study(engine, small_config("ts", design={"type": "between", "two_stage": True},
                                     completion={"redirect_url": "https://x.org/?cc={code}"}))
    before = _rows(engine)
    steps = preview.flow_steps(engine, "ts")
    pairs = [s for s in steps if s.screen == "item" and s.role != "attention_check"]
    assert [s.revealed for s in pairs] == [False, True] * (len(pairs) // 2)
    assert all(not s.revealed for s in steps if s.role == "attention_check")
    for step in steps:
        view = preview.step_view(engine, "ts", "reasoning", step)
        assert view.screen == step.screen
        if step.screen == "item":
            assert view.item is not None and view.item.item_id == step.item_id
            assert (view.item.initial_label is not None) == step.revealed
    done = preview.step_view(engine, "ts", "none", steps[-1])
    assert done.completion_code == "COMPLETE" and done.redirect_url == "https://x.org/?cc=COMPLETE"
    assert _rows(engine) == before


def test_item_truth_says_whether_the_ai_is_right(engine: Engine) -> None:
    ready_study(engine, small_config("tr"))
    with read_session(engine) as s:
        rows = s.execute(select(m.Item.item_id, m.Item.gold_label, m.Assistance.content)
                         .join(m.Assistance, m.Assistance.item_pk == m.Item.id)
                         .where(m.Assistance.kind == "verdict")).all()
    seen = set()
    for item_id, gold, content in rows:
        truth = preview.item_truth(engine, "tr", item_id)
        assert truth.gold_label == gold and truth.ai_label == content["label"]
        assert truth.ai_correct == (content["label"] == gold)
        seen.add(truth.ai_correct)
    assert seen == {True, False}
    assert preview.item_truth(engine, "tr", "attention-0").ai_label is None
