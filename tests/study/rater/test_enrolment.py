"""study.rater.enrolment: enrol once, hold a slot only from consent, balance, sweep, throttle."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from study import models as m
from study import rater, service
from study.assignment import StudyFull
from study.db import read_session, write_connection, write_session
from study.rater import throttle
from study.rater.enrolment import MAX_EXTERNAL_ID, MAX_PROLIFIC_ID, condition_counts, item_loads, sweep_unconsented
from study.testing import ready_study, small_config


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    throttle.reset()


def _joined(engine: Engine, external_id: str) -> rater.Enrolment:
    e = rater.enrol(engine, "t", external_id)
    key = rater.consent(engine, e.token)
    assert key
    return rater.Enrolment(e.token, e.rater_id, key, e.created)


def _count(engine: Engine, model: type[m.Base]) -> int:
    with read_session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_enrol_is_idempotent_and_validates_ids(engine: Engine) -> None:
    ready_study(engine, small_config())
    first = rater.enrol(engine, "t", "  alice ")
    again = rater.enrol(engine, "t", "alice")
    assert first.created and not again.created
    assert (again.token, again.rater_id, again.condition) == (first.token, first.rater_id, "")
    for bad in ("", "x" * (MAX_EXTERNAL_ID + 1), "tab\there", "a\x00b"):
        with pytest.raises(service.ServiceError, match="rater id must be"):
            rater.enrol(engine, "t", bad)
    with pytest.raises(service.ServiceError, match="no study named"):
        rater.enrol(engine, "nope", "bob")


@pytest.mark.parametrize("field", ["prolific_pid", "prolific_study_id", "prolific_session_id"])
@pytest.mark.parametrize("value", ["p" * (MAX_PROLIFIC_ID + 1), "a\x00b", "a\nb"])
def test_prolific_parameters_are_refused_before_the_database(engine: Engine, field: str, value: str) -> None:
    """Over-long or NUL Prolific ids: one clear refusal, identical on SQLite and PostgreSQL, nothing stored."""
    ready_study(engine, small_config())
    with pytest.raises(service.ServiceError, match=r"must be 1-100 printable characters") as err:
        rater.enrol(engine, "t", "pid1", **{field: value})
    assert "INSERT" not in str(err.value) and "\x00" not in str(err.value)
    assert _count(engine, m.Rater) == 0
    ok = rater.enrol(engine, "t", "pid1", **{field: "p" * MAX_PROLIFIC_ID})  # exactly at the limit
    assert ok.created


def test_a_visit_holds_nothing_until_consent(engine: Engine) -> None:
    cfg = ready_study(engine, small_config())
    e = rater.enrol(engine, "t", "alice", prolific_pid="p1", prolific_study_id="s1", prolific_session_id="x1")
    with read_session(engine) as s:
        r = s.get(m.Rater, e.rater_id)
        assert r is not None and r.condition_id is None and r.condition_order == [] and not r.assignments
        assert (r.prolific_pid, r.prolific_study_id, r.prolific_session_id, r.status) == ("p1", "s1", "x1", "enrolled")
    view = rater.rater_view(engine, e.token)
    assert view.screen == "consent" and view.condition == "" and view.assistance_kind == ""
    key = rater.consent(engine, e.token)
    assert rater.consent(engine, e.token) == key  # a second tab's consent changes nothing
    with read_session(engine) as s:
        r = s.get(m.Rater, e.rater_id)
        assert r is not None and r.condition is not None and r.condition.key == key and r.condition_order == [key]
        assert r.status == "active" and r.consented_at == r.enrolled_at  # the time limit runs from consent
        stages = Counter(a.stage for a in r.assignments)
        assert stages == {"practice": cfg.practice_items, "main": cfg.items_per_rater + cfg.attention_checks}
        assert {a.condition.key for a in r.assignments} == {key}
        events = list(s.scalars(select(m.Event.kind).where(m.Event.rater_id == r.id).order_by(m.Event.id)))
        assert events == ["enrol", "consent"]
    assert rater.rater_view(engine, e.token).condition == key


def test_forty_drive_by_visits_do_not_fill_the_study(engine: Engine) -> None:
    """A study with one place per condition: 40 visits that never consent, then a genuine rater gets an item."""
    ready_study(engine, small_config(items_per_rater=24, target_ratings_per_item=1))
    for i in range(40):
        rater.enrol(engine, "t", f"drive-by-{i}", client="198.51.100.7" if i < 20 else None)
    genuine = _joined(engine, "genuine")
    rater.start(engine, genuine.token)
    view = rater.rater_view(engine, genuine.token)
    assert view.screen == "item" and view.item is not None and view.condition == genuine.condition
    with read_session(engine) as s:
        assert int(s.scalar(select(func.count()).select_from(m.Assignment)) or 0) == 24 + 1 + 1


def test_full_study_refuses_at_consent_and_the_rater_holds_nothing(engine: Engine) -> None:
    ready_study(engine, small_config(conditions=[{"key": "none", "assistance": "none"}], items_per_rater=24,
                                     target_ratings_per_item=1))
    _joined(engine, "first")
    late = rater.enrol(engine, "t", "late")
    with pytest.raises(StudyFull):
        rater.consent(engine, late.token)
    with read_session(engine) as s:
        r = s.get(m.Rater, late.rater_id)
        assert r is not None and r.status == "enrolled" and r.condition_id is None and not r.assignments
        assert s.scalar(select(m.Study.enrol_counter)) == 1  # the refused attempt changed nothing


def test_balance_counts_only_raters_holding_a_slot(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(time_limit_minutes=30, target_ratings_per_item=50))
    keys = [c.key for c in cfg.conditions]
    for i in range(5):  # visitors who never consent count for nothing
        rater.enrol(engine, "t", f"visitor{i}")
    enrolled = [_joined(engine, f"r{i}") for i in range(8)]
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
    nxt = [_joined(engine, f"n{i}").condition for i in range(2)]
    assert nxt == [keys[1], keys[1]]  # the freed condition is filled first


def test_test_raters_are_kept_out_of_balancing(engine: Engine) -> None:
    cfg = ready_study(engine, small_config(conditions=[{"key": "none", "assistance": "none"}], items_per_rater=24,
                                           target_ratings_per_item=1))
    tester = rater.enrol(engine, "t", "tester", is_test=True)
    assert rater.consent(engine, tester.token) == "none"
    with read_session(engine) as s:
        study = s.scalars(select(m.Study)).one()
        assert condition_counts(s, study.id, cfg, m.utcnow()) == {}
        assert item_loads(s, study.id, cfg, m.utcnow()) == {}
    real = _joined(engine, "real")  # the one place is still free
    assert real.condition == "none"
    second_tester = rater.enrol(engine, "t", "tester2", is_test=True)
    assert rater.consent(engine, second_tester.token) == "none"  # a full study still shows test raters items


def test_enrol_refuses_closed_studies(engine: Engine) -> None:
    ready_study(engine, small_config(), launch=False)
    with pytest.raises(service.ServiceError, match="is draft, not open"):
        rater.enrol(engine, "t", "alice")


def test_debate_sides_alternate_within_condition(engine: Engine) -> None:
    ready_study(engine, small_config(conditions=[{"key": "debate", "assistance": "debate"}], items_per_rater=4,
                                     target_ratings_per_item=10))
    ids = [_joined(engine, f"r{i}").rater_id for i in range(4)]
    with read_session(engine) as s:
        flips = [s.get(m.Rater, i).debate_flip for i in ids]  # type: ignore[union-attr]
    assert flips == [False, True, False, True]


def test_unconsented_visits_are_swept_after_the_idle_time(engine: Engine) -> None:
    cfg = service.get_config(engine, ready_study(engine, small_config(unconsented_expiry_minutes=15)).name)
    stale = [rater.enrol(engine, "t", f"stale{i}") for i in range(3)]
    fresh = rater.enrol(engine, "t", "fresh")
    joined = _joined(engine, "joined")
    declined = rater.enrol(engine, "t", "declined")
    rater.consent(engine, declined.token, False)
    with write_session(engine) as s:
        s.execute(update(m.Rater).values(last_seen_at=m.utcnow() - timedelta(minutes=16))
                  .where(m.Rater.id != fresh.rater_id))
        study_id = s.scalars(select(m.Study.id)).one()
    with write_connection(engine) as conn:
        assert sweep_unconsented(conn, study_id, cfg, m.utcnow()) == 3
    with read_session(engine) as s:
        left = set(s.scalars(select(m.Rater.external_id)))
        assert left == {"fresh", "joined", "declined"}
        assert not s.scalars(select(m.Event).where(m.Event.rater_id.in_([e.rater_id for e in stale]))).all()
    assert rater.rater_view(engine, joined.token).screen == "instructions"
    again = rater.enrol(engine, "t", "stale0")  # a swept visitor simply starts afresh
    assert again.created and again.token != stale[0].token


def test_new_enrolments_are_limited_per_client(engine: Engine) -> None:
    ready_study(engine, small_config(enrol_limit={"per_client": 3, "minutes": 10}))
    for i in range(3):
        rater.enrol(engine, "t", f"a{i}", client="203.0.113.1")
    with pytest.raises(rater.EnrolmentThrottled, match="try again in") as err:
        rater.enrol(engine, "t", "a3", client="203.0.113.1")
    assert 0 < err.value.retry_after <= 600
    assert not rater.enrol(engine, "t", "a0", client="203.0.113.1").created  # resuming is never limited
    assert rater.enrol(engine, "t", "b0", client="203.0.113.2").created  # another client is not affected
    assert rater.enrol(engine, "t", "t0", client="203.0.113.1", is_test=True).created  # test raters are not counted
    with read_session(engine) as s:
        assert "a3" not in set(s.scalars(select(m.Rater.external_id)))


def test_throttle_window_slides() -> None:
    throttle.admit((1, "c"), 2, 1, now=0.0)
    throttle.admit((1, "c"), 2, 1, now=30.0)
    with pytest.raises(throttle.EnrolmentThrottled) as err:
        throttle.admit((1, "c"), 2, 1, now=59.0)
    assert err.value.retry_after == 1
    throttle.admit((1, "c"), 2, 1, now=60.5)  # the first one left the window
    throttle.admit((2, "c"), 2, 1, now=60.5)  # another study counts apart
    throttle.admit((1, "c"), 0, 1, now=60.6)  # 0: no limit


def test_client_address_from_a_trusted_proxy_header(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {"X-Forwarded-For": "10.0.0.1, 203.0.113.9"}
    assert throttle.client_of("127.0.0.1", headers) == "127.0.0.1"  # the header is not trusted by default
    monkeypatch.setenv(throttle.CLIENT_HEADER_ENV, "x-forwarded-for")
    assert throttle.client_of("127.0.0.1", headers) == "203.0.113.9"
    assert throttle.client_of(None, {}) == "unknown"
