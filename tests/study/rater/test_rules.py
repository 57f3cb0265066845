"""study.rater.rules: deadline, refusal, slots and the rater's condition."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from study import models as m
from study import rater
from study.config import parse_config
from study.db import read_session, write_session
from study.rater.rules import (
    AnswerState,
    alive_clause,
    answer_problem,
    deadline,
    effective_status,
    is_due,
    past_deadline,
    rater_condition,
    refusal,
)
from study.testing import ready_study, small_config

T0 = datetime(2026, 1, 1, 12, 0, 0)
CFG = parse_config(small_config(time_limit_minutes=30))
TWO = parse_config(small_config(time_limit_minutes=30, design={"type": "between", "two_stage": True}))
OK = AnswerState(status="active", enrolled_at=T0, started=True, study_status="live", is_check=False,
                 initial_label="correct")


def test_deadline_is_enrolment_plus_limit() -> None:
    assert deadline(T0, CFG) == T0 + timedelta(minutes=30)
    assert not is_due("active", T0, CFG, T0 + timedelta(minutes=30))
    assert is_due("active", T0, CFG, T0 + timedelta(minutes=30, seconds=1))
    assert not is_due("enrolled", T0, CFG, T0 + timedelta(hours=1))  # not consented: swept, never timed out
    assert not is_due("completed", T0, CFG, T0 + timedelta(hours=1))


def test_answer_problem_names_the_bad_field() -> None:
    assert answer_problem(CFG, "correct", 0.7) is None
    assert "label 'maybe'" in (answer_problem(CFG, "maybe", 0.7) or "")
    assert "confidence 1.7 is outside" in (answer_problem(CFG, "correct", 1.7) or "")


@pytest.mark.parametrize(("state", "label", "minutes", "expected"), [
    (OK, "correct", 1, None),
    (OK, "maybe", 99, "label 'maybe'"),  # the answer is checked before the deadline
    (OK, "correct", 31, "time limit exceeded"),
    (AnswerState("enrolled", T0, False, "live", False, None), "correct", 1, "no more answers accepted (status enrolled)"),
    (AnswerState("active", T0, False, "live", False, None), "correct", 1, "no more answers accepted (status active)"),
    (AnswerState("completed", T0, True, "live", False, None), "correct", 99, "no more answers accepted (status completed)"),
    (AnswerState("active", T0, True, "paused", False, None), "correct", 1, "study is paused"),
])
def test_refusal_order(state: AnswerState, label: str, minutes: int, expected: str | None) -> None:
    why = refusal(CFG, state, label, 0.8, T0 + timedelta(minutes=minutes))
    assert why == expected if expected is None else (why or "").startswith(expected)


def test_refusal_two_stage() -> None:
    no_first = AnswerState("active", T0, True, "live", False, None)
    now = T0 + timedelta(minutes=1)
    assert refusal(TWO, no_first, "correct", 0.8, now) == "give your first answer before the final one"
    assert refusal(TWO, no_first, "correct", 0.8, now, initial=True) is None
    check = AnswerState("active", T0, True, "live", True, None)
    assert refusal(TWO, check, "correct", 0.8, now) is None  # attention checks have one answer
    assert refusal(CFG, no_first, "correct", 0.8, now, initial=True) == "this study has no initial answers"


def _statuses(engine: Engine, now: datetime) -> dict[str, tuple[bool, bool, str]]:
    with read_session(engine) as s:
        rows = s.execute(select(m.Rater.external_id, alive_clause(CFG, now), past_deadline(CFG, now),
                                effective_status(CFG, now))).all()
    return {ext: (bool(alive), bool(due), str(status)) for ext, alive, due, status in rows}


def test_sql_rules_agree_with_python_deadline(engine: Engine) -> None:
    ready_study(engine, small_config(time_limit_minutes=30))
    now = m.utcnow()
    cases = {  # external id -> (status, minutes since enrolment)
        "fresh": ("active", 5), "late": ("active", 45), "late-enrolled": ("enrolled", 31),
        "done": ("completed", 500), "gone": ("withdrawn", 1), "failed": ("failed_attention", 1),
    }
    for ext, (status, minutes) in cases.items():
        rid = rater.enrol(engine, "t", ext).rater_id
        with write_session(engine) as s:
            s.execute(update(m.Rater).where(m.Rater.id == rid).values(
                status=status, enrolled_at=now - timedelta(minutes=minutes)))
    got = _statuses(engine, now)
    for ext, (status, minutes) in cases.items():
        due = is_due(status, now - timedelta(minutes=minutes), CFG, now)
        alive = status == "completed" or (status in ("enrolled", "active") and minutes <= 30)
        assert got[ext] == (alive, due, "timed_out" if due else status), ext


def test_rater_condition_is_the_stored_condition_id(engine: Engine) -> None:
    ready_study(engine, small_config(design={"type": "within"}, items_per_rater=8))
    for i in range(4):
        e = rater.enrol(engine, "t", f"w{i}")
        e = rater.Enrolment(e.token, e.rater_id, rater.consent(engine, e.token) or "", e.created)
        with read_session(engine) as s:
            r = s.get(m.Rater, e.rater_id)
            assert r is not None and r.condition is not None
            assert rater_condition(s, e.rater_id) == r.condition.key == r.condition_order[0] == e.condition
            blocks = [a.condition.key for a in r.assignments if a.stage == "main" and not a.is_attention_check]
            # within-subjects: the items follow the Latin-square blocks; the rater's condition is the first
            assert blocks[0] == e.condition
            assert list(dict.fromkeys(blocks)) == r.condition_order
        assert rater.enrol(engine, "t", f"w{i}").condition == e.condition
    with read_session(engine) as s:
        assert rater_condition(s, 10_000) == ""
        assert s.scalar(select(func.count()).select_from(m.Rater)) == 4
