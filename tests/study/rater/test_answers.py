"""study.rater.answers: consent, start, initial and final answers, finish, events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from study import models as m
from study import rater, service
from study.db import read_session, write_session
from study.testing import ready_study, small_config


def _started(engine: Engine, ext: str = "a") -> tuple[str, int]:
    e = rater.enrol(engine, "t", ext)
    rater.consent(engine, e.token)
    rater.start(engine, e.token)
    return e.token, e.rater_id


def _status(engine: Engine, rater_id: int) -> str:
    with read_session(engine) as s:
        return str(s.scalar(select(m.Rater.status).where(m.Rater.id == rater_id)))


def test_consent_refusal_withdraws_and_events_once(engine: Engine) -> None:
    ready_study(engine, small_config())
    e = rater.enrol(engine, "t", "a")
    rater.consent(engine, e.token, False)
    rater.consent(engine, e.token, True)  # too late: already withdrawn, nothing changes
    assert _status(engine, e.rater_id) == "withdrawn"
    with read_session(engine) as s:
        assert list(s.scalars(select(m.Event.kind).where(m.Event.rater_id == e.rater_id))) == ["enrol", "consent"]
    with pytest.raises(service.ServiceError, match="unknown rater"):
        rater.consent(engine, "nope")


def test_submit_once_and_feedback_on_practice(engine: Engine) -> None:
    ready_study(engine, small_config(practice_items=1))
    tok, rid = _started(engine)
    item = rater.rater_view(engine, tok).item
    assert item is not None and item.stage == "practice"
    first = rater.submit_judgment(engine, tok, item.assignment_id, "correct", 0.7)
    again = rater.submit_judgment(engine, tok, item.assignment_id, "incorrect", 0.9)
    assert first.recorded and not again.recorded and again.judgment_id == first.judgment_id
    assert first.feedback and first.gold_label in ("correct", "incorrect")
    assert first.correct == (first.gold_label == "correct")
    with read_session(engine) as s:
        labels = list(s.scalars(select(m.Judgment.label).where(m.Judgment.rater_id == rid)))
    assert labels == ["correct"]


def test_attention_failures_end_the_session(engine: Engine) -> None:
    ready_study(engine, small_config(attention_checks=2, max_attention_failures=0, practice_items=0))
    tok, rid = _started(engine)
    while (view := rater.rater_view(engine, tok)).screen == "item":
        item = view.item
        assert item is not None
        wrong = "incorrect" if "'correct'" in item.claim else "correct"
        result = rater.submit_judgment(engine, tok, item.assignment_id, wrong if item.is_attention_check else "correct", 0.8)
        if item.is_attention_check:
            assert result.status == "failed_attention"
            break
    assert _status(engine, rid) == "failed_attention"
    with pytest.raises(service.ServiceError, match="no more answers accepted"):
        rater.submit_judgment(engine, tok, rater_first_unjudged(engine, rid), "correct", 0.8)


def rater_first_unjudged(engine: Engine, rater_id: int) -> int:
    with read_session(engine) as s:
        judged = set(s.scalars(select(m.Judgment.assignment_id)))
        return next(a for a in s.scalars(select(m.Assignment.id).where(m.Assignment.rater_id == rater_id)
                                         .order_by(m.Assignment.position)) if a not in judged)


def test_time_out_on_submit_is_kept(engine: Engine) -> None:
    ready_study(engine, small_config(time_limit_minutes=5))
    tok, rid = _started(engine)
    aid = rater.rater_view(engine, tok).item.assignment_id  # type: ignore[union-attr]
    with write_session(engine) as s:
        s.execute(update(m.Rater).where(m.Rater.id == rid).values(enrolled_at=m.utcnow() - timedelta(minutes=6)))
    with pytest.raises(service.ServiceError, match="time limit exceeded"):
        rater.submit_judgment(engine, tok, aid, "correct", 0.8)
    assert _status(engine, rid) == "timed_out"


def test_initial_answer_rules(engine: Engine) -> None:
    ready_study(engine, small_config(design={"type": "between", "two_stage": True}, practice_items=0,
                                     attention_checks=0, time_limit_minutes=5))
    tok, rid = _started(engine)
    aid = rater.rater_view(engine, tok).item.assignment_id  # type: ignore[union-attr]
    with pytest.raises(service.ServiceError, match="give your first answer"):
        rater.submit_judgment(engine, tok, aid, "correct", 0.8)
    with pytest.raises(service.ServiceError, match="label 'maybe'"):
        rater.submit_initial(engine, tok, aid, "maybe", 0.5)
    rater.submit_initial(engine, tok, aid, "incorrect", 0.6)
    rater.submit_initial(engine, tok, aid, "correct", 0.9)  # kept once
    with read_session(engine) as s:
        kinds = list(s.scalars(select(m.Event.kind).where(m.Event.assignment_id == aid)))
        a = s.get(m.Assignment, aid)
        assert a is not None and (a.initial_label, a.initial_confidence) == ("incorrect", 0.6)
    assert kinds.count("initial") == 1 and kinds.count("reveal") == 1
    with write_session(engine) as s:
        s.execute(update(m.Rater).where(m.Rater.id == rid).values(enrolled_at=m.utcnow() - timedelta(minutes=6)))
    with pytest.raises(service.ServiceError, match="time limit exceeded"):
        rater.submit_initial(engine, tok, aid, "correct", 0.5)
    assert _status(engine, rid) == "timed_out"


def test_no_initial_answers_without_two_stage(engine: Engine) -> None:
    ready_study(engine, small_config())
    tok, _ = _started(engine)
    aid = rater.rater_view(engine, tok).item.assignment_id  # type: ignore[union-attr]
    with pytest.raises(service.ServiceError, match="this study has no initial answers"):
        rater.submit_initial(engine, tok, aid, "correct", 0.5)


def test_events_and_finish_belong_to_the_rater(engine: Engine) -> None:
    ready_study(engine, small_config())
    tok_a, rid_a = _started(engine, "a")
    tok_b, _ = _started(engine, "b")
    aid = rater.rater_view(engine, tok_a).item.assignment_id  # type: ignore[union-attr]
    rater.log_event(engine, tok_a, "quote_expand" + "x" * 60, {"quote": 1}, aid)
    with pytest.raises(service.ServiceError, match="not assigned to you"):
        rater.log_event(engine, tok_b, "quote_expand", {}, aid)
    with pytest.raises(service.ServiceError, match="not assigned to you"):
        rater.submit_judgment(engine, tok_b, aid, "correct", 0.8)
    with pytest.raises(service.ServiceError, match="after the last item"):
        rater.finish(engine, tok_a, {"x": 1})
    with read_session(engine) as s:
        ev = s.scalars(select(m.Event).where(m.Event.rater_id == rid_a, m.Event.assignment_id == aid,
                                             m.Event.kind != "item_shown")).all()
    assert [(e.kind, e.payload) for e in ev] == [("quote_expand" + "x" * 28, {"quote": 1})]
