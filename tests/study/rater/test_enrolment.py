"""study.rater.enrolment: enrol once, balance over raters holding a slot, plan items."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from study import models as m
from study import rater, service
from study.db import read_session, write_session
from study.rater.enrolment import MAX_EXTERNAL_ID, condition_counts, item_loads
from study.testing import ready_study, small_config


def test_enrol_is_idempotent_and_validates_ids(engine: Engine) -> None:
    ready_study(engine, small_config())
    first = rater.enrol(engine, "t", "  alice ")
    again = rater.enrol(engine, "t", "alice")
    assert first.created and not again.created
    assert (again.token, again.rater_id, again.condition) == (first.token, first.rater_id, first.condition)
    for bad in ("", "x" * (MAX_EXTERNAL_ID + 1), "tab\there"):
        with pytest.raises(service.ServiceError, match="rater id must be"):
            rater.enrol(engine, "t", bad)
    with pytest.raises(service.ServiceError, match="no study named"):
        rater.enrol(engine, "nope", "bob")


def test_enrolment_writes_rater_assignments_and_event(engine: Engine) -> None:
    cfg = ready_study(engine, small_config())
    e = rater.enrol(engine, "t", "alice", prolific_pid="p1", prolific_study_id="s1", prolific_session_id="x1")
    with read_session(engine) as s:
        r = s.get(m.Rater, e.rater_id)
        assert r is not None and r.condition is not None
        assert (r.prolific_pid, r.prolific_study_id, r.prolific_session_id) == ("p1", "s1", "x1")
        assert r.status == "enrolled" and r.condition.key == e.condition and r.condition_order == [e.condition]
        stages = Counter(a.stage for a in r.assignments)
        assert stages == {"practice": cfg.practice_items, "main": cfg.items_per_rater + cfg.attention_checks}
        assert {a.condition.key for a in r.assignments} == {e.condition}
        events = list(s.scalars(select(m.Event.kind).where(m.Event.rater_id == r.id)))
        assert events == ["enrol"]


def test_balance_counts_only_raters_holding_a_slot(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(time_limit_minutes=30, target_ratings_per_item=50))
    keys = [c.key for c in cfg.conditions]
    enrolled = [rater.enrol(engine, "t", f"r{i}") for i in range(8)]
    assert Counter(e.condition for e in enrolled) == {k: 2 for k in keys}
    # both raters of one condition go past the time limit: it now has no slot held
    gone = [e for e in enrolled if e.condition == keys[1]]
    with write_session(engine) as s:
        s.execute(update(m.Rater).where(m.Rater.id.in_([e.rater_id for e in gone]))
                  .values(enrolled_at=m.utcnow() - timedelta(minutes=31)))
    with read_session(engine) as s:
        study = s.scalars(select(m.Study)).one()
        counts = condition_counts(s, study.id, cfg, m.utcnow())
        loads = item_loads(s, study.id, cfg, m.utcnow())
    assert counts == {k: 2 for k in keys if k != keys[1]}
    assert keys[1] not in loads
    assert all(sum(per_item.values()) == 2 * cfg.items_per_rater for per_item in loads.values())
    nxt = [rater.enrol(engine, "t", f"n{i}").condition for i in range(2)]
    assert nxt == [keys[1], keys[1]]  # the freed condition is filled first


def test_enrol_refuses_closed_studies(engine: Engine) -> None:
    ready_study(engine, small_config(), launch=False)
    with pytest.raises(service.ServiceError, match="is draft, not open"):
        rater.enrol(engine, "t", "alice")


def test_debate_sides_alternate_within_condition(engine: Engine) -> None:
    ready_study(engine, small_config(conditions=[{"key": "debate", "assistance": "debate"}], items_per_rater=4,
                                     target_ratings_per_item=10))
    ids = [rater.enrol(engine, "t", f"r{i}").rater_id for i in range(4)]
    with read_session(engine) as s:
        flips = [s.get(m.Rater, i).debate_flip for i in ids]  # type: ignore[union-attr]
    assert flips == [False, True, False, True]
