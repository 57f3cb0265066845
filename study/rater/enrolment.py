"""Enrolment: admit a visitor, and at consent choose the condition and plan the items.

A rater is identified by a secret token (kept in the browser session) after
enrolment by external id (``?rater=ID`` or Prolific's ``PROLIFIC_PID``). A visit
that has not consented holds **no** slot: :func:`enrol` only writes the rater's row
(no condition, no items), and the condition and items are chosen at consent
(:func:`assign`, called by :func:`study.rater.answers.consent`) inside one
transaction holding the study's lock, from counts of the raters who hold a slot
(:func:`study.rater.rules.alive_clause`), by the pure functions of
:mod:`study.assignment`. Visits that never consent are deleted after
``unconsented_expiry_minutes`` without activity (:func:`sweep_unconsented`), and a
client may enrol at most ``enrol_limit.per_client`` new raters per window
(:mod:`study.rater.throttle`). Test raters (``is_test``) are kept out of the counts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from study import models as m
from study.assignment import PlannedItem, choose_condition, latin_square_order, plan_items, rater_rng
from study.config import StudyConfig
from study.db import read_connection, write_connection
from study.rater import _sql as q
from study.rater import throttle
from study.rater.rules import alive_clause, assignment_condition_key, rater_condition_key
from study.service import ServiceError, cached_config
from tasks.limits import MAX_EXTERNAL_ID, MAX_PROLIFIC_ID

__all__ = ["MAX_EXTERNAL_ID", "MAX_PROLIFIC_ID", "Enrolment", "assign", "enrol", "plan_for_new_rater",
           "sweep_unconsented"]



@dataclass(frozen=True)
class Enrolment:
    """Who the rater is: keep ``token`` in the session to act as this rater.

    ``condition`` is empty until the rater has consented (no condition is chosen before).
    """

    token: str
    rater_id: int
    condition: str
    created: bool


def _clean_id(value: str, what: str, limit: int = MAX_EXTERNAL_ID) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit or not value.isprintable():
        raise ServiceError(f"{what} must be 1-{limit} printable characters")
    return value


def _clean_optional(value: str | None, what: str) -> str | None:
    return None if value is None or not value.strip() else _clean_id(value, what, MAX_PROLIFIC_ID)


def enrol(
    engine: Engine,
    study_name: str,
    external_id: str,
    *,
    prolific_pid: str | None = None,
    prolific_study_id: str | None = None,
    prolific_session_id: str | None = None,
    client: str | None = None,
    is_test: bool = False,
) -> Enrolment:
    """Enrol a visitor (no condition, no items yet), or return the existing enrolment.

    Every value is checked before the database (the same limits on SQLite and
    PostgreSQL): ids must be printable (no NUL) and at most :data:`MAX_EXTERNAL_ID`
    (Prolific's three: :data:`MAX_PROLIFIC_ID`) characters, else :class:`ServiceError`.
    A new enrolment by ``client`` counts against the study's ``enrol_limit``
    (:class:`~study.rater.throttle.EnrolmentThrottled`). The transaction is short and
    takes no study lock; it also deletes the study's stale unconsented visits.
    """
    prolific = (_clean_optional(prolific_pid, "PROLIFIC_PID"), _clean_optional(prolific_study_id, "STUDY_ID"),
                _clean_optional(prolific_session_id, "SESSION_ID"))
    external_id = (_clean_id(external_id, "rater id") if prolific[0] is None
                   else _clean_id(external_id, "PROLIFIC_PID", MAX_PROLIFIC_ID))
    found = _lookup(engine, study_name, external_id)
    if found.token is not None and found.rater_id is not None:
        return Enrolment(found.token, found.rater_id, found.condition or "", created=False)
    if found.study_status != "live":
        raise ServiceError(f"study {study_name!r} is {found.study_status}, not open for raters")
    config = cached_config(q.url_key(engine), found.study_id, study_name, found.config_text)
    if client is not None and not is_test:
        throttle.admit((q.url_key(engine), found.study_id, client), config.enrol_limit.per_client,
                       config.enrol_limit.minutes)
    try:
        with write_connection(engine) as conn:
            now = m.utcnow()
            sweep_unconsented(conn, found.study_id, config, now)
            token, rater_id = _insert_rater(conn, found.study_id, external_id, prolific, now, is_test)
        return Enrolment(token, rater_id, "", created=True)
    except IntegrityError:
        # Another process enrolled the same external id between our check and insert.
        again = _lookup(engine, study_name, external_id)
        if again.token is None or again.rater_id is None:
            raise
        return Enrolment(again.token, again.rater_id, again.condition or "", created=False)


def _insert_rater(conn: Connection, study_id: int, external_id: str, prolific: tuple[str | None, ...],
                  now: datetime, is_test: bool) -> tuple[str, int]:
    """Insert the visitor's row and its ``enrol`` event; returns (token, rater id)."""
    token = secrets.token_urlsafe(24)
    rater_id = conn.execute(insert(q.R).returning(q.R.c.id), {
        "study_id": study_id, "external_id": external_id, "prolific_pid": prolific[0],
        "prolific_study_id": prolific[1], "prolific_session_id": prolific[2], "token": token,
        "condition_id": None, "condition_order": [], "debate_flip": False, "status": "enrolled",
        "attention_failures": 0, "enrolled_at": now, "last_seen_at": now, "exit_answers": {}, "is_test": is_test,
    }).scalar_one()
    conn.execute(q.INS_EVENT, {"study_id": study_id, "rater_id": rater_id, "kind": "enrol",
                               "payload": {"test": True} if is_test else {}, "created_at": now})
    return token, int(rater_id)


def sweep_unconsented(conn: Connection, study_id: int, config: StudyConfig, now: datetime) -> int:
    """Delete the study's visits that never consented and were idle ``unconsented_expiry_minutes``.

    They hold no condition, item or judgment; their events go with them. Returns how many.
    """
    cutoff = now - timedelta(minutes=config.unconsented_expiry_minutes)
    return int(conn.execute(delete(q.R).where(
        q.R.c.study_id == study_id, q.R.c.status == "enrolled", q.R.c.consented_at.is_(None),
        q.R.c.condition_id.is_(None), q.R.c.last_seen_at < cutoff)).rowcount or 0)


def assign(s: Session, study: m.Study, config: StudyConfig, rater: m.Rater) -> str:
    """Choose the consenting rater's condition and plan its items; returns the condition key.

    Call with the study's lock held (the consent transaction). The rater's condition
    (``condition_id``) is the first of its order; each assignment stores its item's
    condition. Debate sides alternate within the condition (left/right counterbalanced).
    Test raters are planned like the others but never counted, and are never refused
    for a full study. Raises :class:`~study.assignment.StudyFull` when no item needs ratings.
    """
    index = study.enrol_counter
    study.enrol_counter = index + 1
    order, plan = plan_for_new_rater(s, study, config, index, is_test=rater.is_test)
    conditions = {c.key: c.id for c in study.conditions}
    in_condition = s.scalar(select(func.count()).where(
        m.Rater.study_id == study.id, m.Rater.is_test.is_(False), rater_condition_key() == order[0])) or 0
    rater.condition_id = conditions[order[0]]
    rater.condition_order = order
    rater.debate_flip = bool(in_condition % 2)
    s.execute(insert(q.A), [{
        "rater_id": rater.id, "item_pk": p.item_pk, "condition_id": conditions[p.condition_key],
        "position": p.position, "stage": p.stage, "is_attention_check": p.is_attention_check,
    } for p in plan])
    return order[0]


def _lookup(engine: Engine, study_name: str, external_id: str) -> q.Existing:
    if "\x00" in study_name:  # PostgreSQL refuses NUL in text; no study has one in its name
        raise ServiceError(f"no study named {study_name!r}")
    with read_connection(engine) as conn:
        row = q.one(conn, q.Q_EXISTING, q.Existing, {"name": study_name, "ext": external_id})
    if row is None:
        raise ServiceError(f"no study named {study_name!r}")
    return row


def condition_counts(s: Session, study_id: int, config: StudyConfig, now: datetime) -> dict[str, int]:
    """Raters holding a slot per condition (the count the balancer equalises)."""
    key = rater_condition_key().label("condition")
    rows = s.execute(
        select(key, func.count(m.Rater.id))
        .where(m.Rater.study_id == study_id, m.Rater.is_test.is_(False), m.Rater.condition_id.is_not(None),
               alive_clause(config, now))
        .group_by(key)
    )
    return {str(k): int(n) for k, n in rows}


def item_loads(s: Session, study_id: int, config: StudyConfig, now: datetime) -> dict[str, dict[int, int]]:
    """Main-item assignments of raters holding a slot, per item's condition and item."""
    key = assignment_condition_key().label("condition")
    rows = s.execute(
        select(key, m.Assignment.item_pk, func.count())
        .join(m.Rater, m.Rater.id == m.Assignment.rater_id)
        .where(
            m.Rater.study_id == study_id,
            m.Assignment.stage == "main",
            m.Assignment.is_attention_check.is_(False),
            m.Rater.is_test.is_(False),
            alive_clause(config, now),
        )
        .group_by(key, m.Assignment.item_pk)
    )
    loads: dict[str, dict[int, int]] = {}
    for k, pk, n in rows:
        loads.setdefault(str(k), {})[int(pk)] = int(n)
    return loads


def plan_for_new_rater(s: Session, study: m.Study, config: StudyConfig, enrol_index: int, *,
                       is_test: bool = False) -> tuple[list[str], list[PlannedItem]]:
    """Condition order and item plan for the next rater.

    Between-subjects: the least-filled condition (:func:`condition_counts`);
    within-subjects: the Latin-square rotation for ``enrol_index``. A test rater
    (``is_test``) is planned with no ratings target, so a full study still shows it items.
    """
    now = m.utcnow()
    rng = rater_rng(study.seed, enrol_index)
    keys = [c.key for c in config.conditions]
    if config.design.type == "within":
        order = latin_square_order(keys, enrol_index)
    else:
        order = [choose_condition(condition_counts(s, study.id, config, now), keys, rng)]
    by_role: dict[str, list[int]] = {"main": [], "practice": [], "attention_check": []}
    for pk, role in s.execute(select(m.Item.id, m.Item.role).where(m.Item.study_id == study.id).order_by(m.Item.id)):
        by_role[role].append(pk)
    attention = rng.sample(by_role["attention_check"], min(config.attention_checks, len(by_role["attention_check"])))
    plan = plan_items(
        condition_order=order,
        main_items=by_role["main"],
        load_by_condition=item_loads(s, study.id, config, now),
        items_per_rater=config.items_per_rater,
        target=10**9 if is_test else config.target_ratings_per_item,
        practice_items=by_role["practice"][: config.practice_items],
        attention_items=attention,
        rng=rng,
    )
    return order, plan
