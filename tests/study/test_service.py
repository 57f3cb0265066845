"""The service layer on real databases (SQLite file, and PostgreSQL in CI)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import IntegrityError

from study import models as m
from study import rater as raters
from study import service
from study.assignment import StudyFull
from study.config import parse_config
from study.db import read_session, write_session
from study.testing import fixture_assistance_rows, fixture_items, join, ready_study, small_config
from tasks.importers import ItemBankError


def _answer(view: raters.RaterView, *, right: bool = True) -> str:
    item = view.item
    assert item is not None
    if item.is_attention_check:
        wanted = "correct" if "'correct'" in item.claim else "incorrect"
        return wanted if right else ("incorrect" if wanted == "correct" else "correct")
    return "correct"


def _complete(engine: Engine, token: str, **submit_kw: object) -> raters.RaterView:
    raters.consent(engine, token)
    raters.start(engine, token)
    for _ in range(1000):
        view = raters.rater_view(engine, token)
        if view.screen != "item":
            return view
        label = _answer(view)
        if view.two_stage and not view.item.is_attention_check:  # type: ignore[union-attr]
            raters.submit_initial(engine, token, view.item.assignment_id, "incorrect", 0.6)  # type: ignore[union-attr]
        raters.submit_judgment(engine, token, view.item.assignment_id, label, 0.8)  # type: ignore[union-attr]
    raise AssertionError("never finished")


def _count(engine: Engine, model: type) -> int:
    with read_session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_create_study_and_duplicate_name(engine: Engine) -> None:
    cfg = parse_config(small_config())
    service.create_study(engine, cfg)
    assert [c.key for c in service.get_study(engine, "t").conditions] == ["none", "evidence", "reasoning", "debate"]
    with pytest.raises(service.ServiceError, match="already exists"):
        service.create_study(engine, cfg)


def test_import_is_all_or_nothing(engine: Engine) -> None:
    cfg = parse_config(small_config())
    service.create_study(engine, cfg)
    items = fixture_items(10)
    assert service.import_items(engine, "t", items) == len(items)
    before = _count(engine, m.Item), _count(engine, m.Source)
    mixed = fixture_items(12)  # first 10 clash, 2 new
    with pytest.raises(ItemBankError, match="already in study"):
        service.import_items(engine, "t", mixed[:12])
    assert (_count(engine, m.Item), _count(engine, m.Source)) == before


def test_launch_needs_items_and_assistance(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(), launch=False)
    service.create_study(engine, parse_config(small_config(name="empty")))
    with pytest.raises(service.ServiceError, match="main items"):
        service.set_status(engine, "empty", "live")
    with read_session(engine) as s:
        n = s.scalar(select(func.count()).select_from(m.Assistance))
    assert n and n > 0
    with write_session(engine) as s:
        s.execute(text("DELETE FROM assistance WHERE kind = 'debate'"))
    with pytest.raises(service.ServiceError, match="lacks .* assistance"):
        service.set_status(engine, cfg.name, "live")


def test_enrol_is_idempotent_and_balanced(engine: Engine) -> None:
    ready_study(engine, small_config(target_ratings_per_item=50))
    first = join(engine, "t", "alice")
    again = join(engine, "t", "alice")
    assert first.created and not again.created and first.token == again.token
    for i in range(23):
        join(engine, "t", f"r{i}")
    counts = Counter(e.condition for e in (join(engine, "t", f"r{i}") for i in range(23)))
    counts[first.condition] += 1
    assert sum(counts.values()) == 24
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert _count(engine, m.Rater) == 24


def test_assignment_plan(engine: Engine) -> None:
    ready_study(engine, small_config())
    token = join(engine, "t", "bob").token
    with read_session(engine) as s:
        rater = s.scalars(select(m.Rater).where(m.Rater.token == token)).one()
        plan = [(a.position, a.stage, a.is_attention_check, a.item.role) for a in rater.assignments]
    assert plan[0][1] == "practice" and plan[0][3] == "practice"
    main = [p for p in plan if p[1] == "main"]
    assert len([p for p in main if not p[2]]) == 6
    checks = [i for i, p in enumerate(main) if p[2]]
    assert len(checks) == 1 and checks[0] not in (0,)
    assert [p[0] for p in plan] == list(range(len(plan)))


def test_exactly_once_and_isolation(engine: Engine) -> None:
    ready_study(engine, small_config())
    a, b = raters.enrol(engine, "t", "a").token, raters.enrol(engine, "t", "b").token
    for tok in (a, b):
        raters.consent(engine, tok)
        raters.start(engine, tok)
    view = raters.rater_view(engine, a)
    aid = view.item.assignment_id  # type: ignore[union-attr]
    first = raters.submit_judgment(engine, a, aid, "correct", 0.7)
    second = raters.submit_judgment(engine, a, aid, "incorrect", 0.9)
    assert first.recorded and not second.recorded and second.judgment_id == first.judgment_id
    with pytest.raises(service.ServiceError, match="not assigned to you"):
        raters.submit_judgment(engine, b, aid, "correct", 0.7)
    with pytest.raises(service.ServiceError, match="not assigned to you"):
        raters.log_event(engine, b, "quote_expand", {}, aid)
    with pytest.raises(service.ServiceError, match="unknown rater"):
        raters.submit_judgment(engine, "forged-token", aid, "correct", 0.7)
    with read_session(engine) as s:
        labels = s.scalars(select(m.Judgment.label)).all()
    assert labels == ["correct"]


def test_database_enforces_one_judgment_per_rater_item(engine: Engine) -> None:
    ready_study(engine, small_config())
    tok = raters.enrol(engine, "t", "a").token
    raters.consent(engine, tok)
    raters.start(engine, tok)
    view = raters.rater_view(engine, tok)
    raters.submit_judgment(engine, tok, view.item.assignment_id, "correct", 0.7)  # type: ignore[union-attr]
    with read_session(engine) as s:
        j = s.scalars(select(m.Judgment)).one()
        other = s.scalars(select(m.Assignment).where(m.Assignment.id != j.assignment_id)).first()
    with pytest.raises(IntegrityError), write_session(engine) as s:
        s.add(m.Judgment(assignment_id=other.id, rater_id=j.rater_id, item_pk=j.item_pk,  # type: ignore[union-attr]
                         label="x", confidence=0.5, time_ms=1))


def test_bad_answers_rejected(engine: Engine) -> None:
    ready_study(engine, small_config())
    tok = raters.enrol(engine, "t", "a").token
    view = raters.rater_view(engine, tok)
    assert view.screen == "consent"
    raters.consent(engine, tok)
    raters.start(engine, tok)
    aid = raters.rater_view(engine, tok).item.assignment_id  # type: ignore[union-attr]
    with pytest.raises(service.ServiceError, match="not one of"):
        raters.submit_judgment(engine, tok, aid, "maybe", 0.7)
    with pytest.raises(service.ServiceError, match="outside"):
        raters.submit_judgment(engine, tok, aid, "correct", 1.7)
    assert _count(engine, m.Judgment) == 0


def test_completion_and_questionnaire(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(completion={"completed": "DONE-1"}))
    tok = raters.enrol(engine, "t", "a").token
    view = _complete(engine, tok)
    assert view.screen == "exit" and view.status == "completed" and view.completion_code == "DONE-1"
    raters.finish(engine, tok, {"trust_in_ai": 5, "comments": "ok"})
    view = raters.rater_view(engine, tok)
    assert view.screen == "done" and view.completion_code == "DONE-1"
    assert _count(engine, m.Judgment) == view.total == cfg.items_per_rater + 2
    with read_session(engine) as s:
        first = s.scalars(select(m.Assignment.id).order_by(m.Assignment.id)).first()
    assert not raters.submit_judgment(engine, tok, first, "incorrect", 0.7).recorded  # type: ignore[arg-type]
    with pytest.raises(service.ServiceError, match="after the last item"):
        raters.finish(engine, raters.enrol(engine, "t", "b").token, {})


def test_attention_failure_ends_session(engine: Engine) -> None:
    ready_study(engine, small_config(completion={"failed_attention": "ATTN-9"}))
    tok = raters.enrol(engine, "t", "a").token
    raters.consent(engine, tok)
    raters.start(engine, tok)
    while True:
        view = raters.rater_view(engine, tok)
        assert view.screen == "item"
        raters.submit_judgment(engine, tok, view.item.assignment_id, _answer(view, right=False), 0.9)  # type: ignore[union-attr]
        if view.item.is_attention_check:  # type: ignore[union-attr]
            break
    view = raters.rater_view(engine, tok)
    assert view.status == "failed_attention" and view.screen == "done" and view.completion_code == "ATTN-9"


def test_time_out(engine: Engine) -> None:
    ready_study(engine, small_config(time_limit_minutes=5, completion={"timed_out": "LATE"}))
    tok = raters.enrol(engine, "t", "a").token
    raters.consent(engine, tok)
    raters.start(engine, tok)
    aid = raters.rater_view(engine, tok).item.assignment_id  # type: ignore[union-attr]
    with write_session(engine) as s:
        s.execute(update(m.Rater).values(enrolled_at=m.utcnow() - timedelta(minutes=6)))
    with pytest.raises(service.ServiceError, match="time limit"):
        raters.submit_judgment(engine, tok, aid, "correct", 0.7)
    view = raters.rater_view(engine, tok)
    assert view.status == "timed_out" and view.completion_code == "LATE"
    assert _count(engine, m.Judgment) == 0


def test_two_stage(engine: Engine) -> None:
    ready_study(engine, small_config(design={"two_stage": True}, attention_checks=0))
    tok = raters.enrol(engine, "t", "a").token
    raters.consent(engine, tok)
    raters.start(engine, tok)
    aid = raters.rater_view(engine, tok).item.assignment_id  # type: ignore[union-attr]
    with pytest.raises(service.ServiceError, match="first answer"):
        raters.submit_judgment(engine, tok, aid, "correct", 0.7)
    raters.submit_initial(engine, tok, aid, "incorrect", 0.6)
    raters.submit_initial(engine, tok, aid, "correct", 0.9)  # resubmit ignored
    assert raters.rater_view(engine, tok).item.initial_label == "incorrect"  # type: ignore[union-attr]
    raters.submit_judgment(engine, tok, aid, "correct", 0.8)
    with read_session(engine) as s:
        j = s.scalars(select(m.Judgment)).one()
    assert (j.initial_label, j.initial_confidence, j.label) == ("incorrect", 0.6, "correct")


def test_within_subjects_latin_square(engine: Engine) -> None:
    ready_study(engine, small_config(design={"type": "within"}, items_per_rater=8, target_ratings_per_item=20,
                                     conditions=[{"key": k, "assistance": k} for k in ("none", "evidence")]))
    orders = []
    for i in range(4):
        tok = join(engine, "t", f"r{i}").token
        with read_session(engine) as s:
            rater = s.scalars(select(m.Rater).where(m.Rater.token == tok)).one()
            main = [a.condition.key for a in rater.assignments if a.stage == "main" and not a.is_attention_check]
            orders.append(rater.condition_order)
        assert Counter(main) == {"none": 4, "evidence": 4}
        assert main[:4] == [rater.condition_order[0]] * 4
    assert orders == [["none", "evidence"], ["evidence", "none"]] * 2


def test_targets_never_exceeded(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(conditions=[{"key": "none", "assistance": "none"}],
                                           items_per_rater=6, target_ratings_per_item=2, attention_checks=0),
                      items=fixture_items(12, n_attention=0))
    for i in range(4):  # 4 raters x 6 items = 12 items x 2 ratings
        join(engine, "t", f"r{i}")
    with pytest.raises(StudyFull):
        join(engine, "t", "late")
    with read_session(engine) as s:
        loads = s.execute(select(m.Assignment.item_pk, func.count()).where(m.Assignment.stage == "main")
                          .group_by(m.Assignment.item_pk)).all()
    assert sorted(n for _, n in loads) == [cfg.target_ratings_per_item] * 12


def test_expired_raters_free_their_slots(engine: Engine) -> None:
    ready_study(engine, small_config(conditions=[{"key": "none", "assistance": "none"}], items_per_rater=6,
                                     target_ratings_per_item=1, attention_checks=0, time_limit_minutes=10),
                items=fixture_items(6, n_attention=0))
    join(engine, "t", "dropout")
    with pytest.raises(StudyFull):
        join(engine, "t", "second")
    with write_session(engine) as s:
        s.execute(update(m.Rater).values(enrolled_at=m.utcnow() - timedelta(minutes=11)))
    assert service.expire_raters(engine, "t") == 1
    assert join(engine, "t", "second").condition == "none"  # the refused visitor now gets the freed place


def test_closed_study_refuses_raters(engine: Engine) -> None:
    ready_study(engine, small_config())
    tok = raters.enrol(engine, "t", "a").token
    service.set_status(engine, "t", "closed")
    with pytest.raises(service.ServiceError, match="not open"):
        raters.enrol(engine, "t", "b")
    assert raters.rater_view(engine, tok).screen == "closed"
    with pytest.raises(service.ServiceError, match="no study"):
        raters.enrol(engine, "nope", "b")
    with pytest.raises(service.ServiceError, match="cannot set it live"):
        service.set_status(engine, "t", "live")


def test_assistance_frozen_after_launch(engine: Engine) -> None:
    ready_study(engine, small_config())
    with pytest.raises(service.ServiceError, match="frozen"):
        rows = fixture_assistance_rows(fixture_items(1), ["correct", "incorrect"])
        service.add_assistance(engine, "t", rows[:1])
    with pytest.raises(service.ServiceError, match="draft"):
        service.import_items(engine, "t", fixture_items(30)[24:25])


def test_debate_sides_counterbalanced(engine: Engine) -> None:
    ready_study(engine, small_config(conditions=[{"key": "debate", "assistance": "debate"}], target_ratings_per_item=20))
    firsts = []
    for i in range(4):
        tok = raters.enrol(engine, "t", f"r{i}").token
        raters.consent(engine, tok)
        raters.start(engine, tok)
        item = raters.rater_view(engine, tok).item
        firsts.append(item.assistance["sides"][0]["label"])  # type: ignore[index,union-attr]
    assert Counter(firsts) == {"correct": 2, "incorrect": 2}
