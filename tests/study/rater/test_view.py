"""study.rater.view: screens, first-shown time, time-out, item details, preview."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from study import models as m
from study import rater
from study.db import read_session, write_session
from study.testing import join, ready_study, small_config

CONDITIONS = [
    {"key": "plain", "assistance": "none", "instructions": "Judge alone."},
    {"key": "help", "assistance": "reasoning", "instructions": "Read the AI.", "warning": "The AI can be wrong."},
]


def test_screens_in_order(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(practice_items=0, attention_checks=0, items_per_rater=2))
    tok = rater.enrol(engine, "t", "a").token
    assert rater.rater_view(engine, tok).screen == "consent"
    rater.consent(engine, tok)
    assert rater.rater_view(engine, tok).screen == "instructions"
    rater.start(engine, tok)
    seen = []
    while (view := rater.rater_view(engine, tok)).screen == "item":
        assert view.item is not None and view.position == len(seen) and view.total == 2
        assert view.seconds_left is not None and 0 < view.seconds_left <= cfg.time_limit_minutes * 60
        seen.append(view.item.item_id)
        rater.submit_judgment(engine, tok, view.item.assignment_id, "correct", 0.8)
    assert view.screen == "exit" and view.completion_code == cfg.completion.completed and view.seconds_left is None
    assert len(set(seen)) == 2
    rater.finish(engine, tok, {"ok": 1})
    assert rater.rater_view(engine, tok).screen == "done"


def test_first_shown_time_is_recorded_once(engine: Engine) -> None:
    ready_study(engine, small_config())
    tok = join(engine, "t", "a").token
    rater.consent(engine, tok)
    rater.start(engine, tok)
    aid = rater.rater_view(engine, tok, mark_shown=False).item.assignment_id  # type: ignore[union-attr]
    with read_session(engine) as s:
        assert s.get(m.Assignment, aid).shown_at is None  # type: ignore[union-attr]
    rater.rater_view(engine, tok)
    rater.rater_view(engine, tok)
    with read_session(engine) as s:
        assert s.get(m.Assignment, aid).shown_at is not None  # type: ignore[union-attr]
        kinds = list(s.scalars(select(m.Event.kind).where(m.Event.assignment_id == aid)))
    assert kinds == ["item_shown"]


def test_view_times_out_a_rater_past_the_limit(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(time_limit_minutes=10))
    e = join(engine, "t", "a")
    rater.consent(engine, e.token)
    with write_session(engine) as s:
        s.execute(update(m.Rater).where(m.Rater.id == e.rater_id).values(enrolled_at=m.utcnow() - timedelta(minutes=11)))
    view = rater.rater_view(engine, e.token)
    assert (view.screen, view.status, view.completion_code) == ("done", "timed_out", cfg.completion.timed_out)
    with read_session(engine) as s:
        assert list(s.scalars(select(m.Event.kind).where(m.Event.kind == "timed_out"))) == ["timed_out"]


def test_item_details_come_from_the_config_condition(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(conditions=CONDITIONS, practice_items=0, attention_checks=0))
    by_cond = {}
    for i in range(2):
        e = join(engine, "t", f"r{i}")
        rater.consent(engine, e.token)
        rater.start(engine, e.token)
        by_cond[e.condition] = rater.rater_view(engine, e.token)
    for key, view in by_cond.items():
        cond = cfg.condition(key)
        assert (view.condition, view.assistance_kind, view.condition_instructions) == (
            key, cond.assistance, cond.instructions)
        item = view.item
        assert item is not None
        assert (item.condition, item.assistance_kind, item.instructions, item.warning) == (
            key, cond.assistance, cond.instructions, cond.warning)
        assert (item.assistance is None) == (cond.assistance == "none")


def test_within_subjects_item_condition_follows_its_block(engine: Engine) -> None:
    ready_study(engine, small_config(conditions=CONDITIONS, design={"type": "within"}, practice_items=0,
                                     attention_checks=0, items_per_rater=4))
    e = join(engine, "t", "w")
    rater.consent(engine, e.token)
    rater.start(engine, e.token)
    items = []
    while (view := rater.rater_view(engine, e.token)).screen == "item":
        assert view.condition == e.condition  # the rater's condition: the first block
        items.append(view.item.condition)  # type: ignore[union-attr]
        rater.submit_judgment(engine, e.token, view.item.assignment_id, "correct", 0.8)  # type: ignore[union-attr]
    assert items[:2] == [e.condition] * 2 and len(set(items[2:])) == 1 and items[2] != e.condition


def test_preview_matches_the_rater_item(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(conditions=CONDITIONS, practice_items=0, attention_checks=0))
    e = join(engine, "t", "a")
    rater.consent(engine, e.token)
    rater.start(engine, e.token)
    seen = rater.rater_view(engine, e.token).item
    assert seen is not None
    with read_session(engine) as s:
        pk = s.scalar(select(m.Item.id).where(m.Item.item_id == seen.item_id))
        assert pk is not None
        preview = rater.preview_item(s.connection(), cfg, pk, "main", e.condition)
    assert preview == type(seen)(**{**seen.__dict__, "assignment_id": 0, "position": 0})
