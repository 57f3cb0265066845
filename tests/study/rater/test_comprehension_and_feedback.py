"""The comprehension check and the practice feedback through the rater API (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from study import models as m
from study import rater as raters
from study.driver import Answer, RaterDriver
from study.service import ServiceError
from study.simulate import simulate_study
from study.testing import ready_study, small_config

CHECK = {"questions": [{"question": "Q1?", "options": ["a", "b"], "answer": "b"},
                       {"question": "Q2?", "options": ["x", "y", "z"], "answer": "x"}],
         "attempts": 2, "fail_code": "FAILED-Q"}


def test_comprehension_pass_fail_and_codes(engine: Engine) -> None:
    ready_study(engine, small_config(comprehension=CHECK))
    tok = raters.enrol(engine, "t", "a").token
    raters.consent(engine, tok)
    view = raters.rater_view(engine, tok)
    assert view.screen == "instructions" and [q.options for q in view.comprehension] == [("a", "b"), ("x", "y", "z")]
    assert view.comprehension_attempts_left == 2 and "answer" not in repr(view.comprehension)
    with pytest.raises(ServiceError, match="comprehension"):
        raters.start(engine, tok)
    first = raters.check_comprehension(engine, tok, ["a", "x"])
    assert (first.passed, first.attempts_left, first.wrong, first.status) == (False, 1, (0,), "active")
    assert raters.rater_view(engine, tok).comprehension_attempts_left == 1
    second = raters.check_comprehension(engine, tok, ["b", "x"])
    assert second.passed and raters.rater_view(engine, tok).screen in ("item", "feedback")
    assert raters.check_comprehension(engine, tok, []).passed  # already passed: nothing changes

    tok2 = raters.enrol(engine, "t", "b").token
    raters.consent(engine, tok2)
    for _ in range(2):
        result = raters.check_comprehension(engine, tok2, [None])
    assert (result.passed, result.status, result.wrong) == (False, "failed_comprehension", (0, 1))
    view = raters.rater_view(engine, tok2)
    assert (view.screen, view.status, view.completion_code) == ("done", "failed_comprehension", "FAILED-Q")
    with Session(engine) as s:
        rater = s.scalars(select(m.Rater).where(m.Rater.external_id == "b")).one()
        assert rater.comprehension_failures == 2 and rater.started_at is None and rater.finished_at is not None


def test_driver_and_simulator_pass_the_check(engine: Engine) -> None:
    ready_study(engine, small_config(comprehension=CHECK, target_ratings_per_item=20))
    with pytest.raises(ServiceError, match="comprehension"):
        RaterDriver(engine, "t", "no-answers").begin()
    run = RaterDriver(engine, "t", "d", comprehension=["b", "x"]).run(lambda v: Answer(v.labels[0], 0.8))
    assert run.view.status == "completed" and run.judgments > 0
    report = simulate_study(engine, "t", 3, seed=1)
    assert dict(report.by_status) == {"completed": 3}


def test_practice_feedback_is_a_screen_until_seen(engine: Engine) -> None:
    ready_study(engine, small_config(practice_items=2, conditions=[{"key": "none", "assistance": "none"}]))
    tok = raters.enrol(engine, "t", "a").token
    raters.consent(engine, tok)
    raters.start(engine, tok)
    view = raters.rater_view(engine, tok)
    assert view.item is not None and view.item.stage == "practice"
    raters.submit_judgment(engine, tok, view.item.assignment_id, "incorrect", 0.7, confidence_moved=False)
    for _ in range(2):  # a reload reads the same feedback, and does not start the next item's clock
        fb = raters.rater_view(engine, tok)
        assert fb.screen == "feedback" and fb.item is None and fb.feedback is not None
        assert (fb.feedback.claim, fb.feedback.answer) == (view.item.claim, "incorrect")
    with Session(engine) as s:
        assert s.scalars(select(m.Assignment.shown_at).where(m.Assignment.position == 1)).one() is None
        assert s.scalars(select(m.Judgment.confidence_moved)).one() is False
    assert raters.feedback_seen(engine, tok) and not raters.feedback_seen(engine, tok)
    assert raters.rater_view(engine, tok).screen == "item"
