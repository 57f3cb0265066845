"""Enrolment: admit a rater, choose the condition and plan the items.

A rater is identified by a secret token (kept in the browser session) after
enrolment by external id (``?rater=ID`` or Prolific's ``PROLIFIC_PID``). The
condition and items are chosen inside one transaction holding the study's lock, from
counts of the raters who hold a slot (:func:`study.rater.rules.alive_clause`), by
the pure functions of :mod:`study.assignment`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from study import models as m
from study.assignment import PlannedItem, choose_condition, latin_square_order, plan_items, rater_rng
from study.config import StudyConfig
from study.db import read_connection, write_session
from study.rater import _sql as q
from study.rater.rules import alive_clause, assignment_condition_key, rater_condition, rater_condition_key
from study.service import ServiceError, _study, study_config

__all__ = ["MAX_EXTERNAL_ID", "Enrolment", "enrol", "plan_for_new_rater"]

#: Characters allowed in an external rater id (Prolific ids are 24 hex chars).
MAX_EXTERNAL_ID = 120


@dataclass(frozen=True)
class Enrolment:
    """Who the rater is: keep ``token`` in the session to act as this rater."""

    token: str
    rater_id: int
    condition: str
    created: bool


def _clean_id(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_EXTERNAL_ID or not value.isprintable():
        raise ServiceError(f"{what} must be 1-{MAX_EXTERNAL_ID} printable characters")
    return value


def enrol(
    engine: Engine,
    study_name: str,
    external_id: str,
    *,
    prolific_pid: str | None = None,
    prolific_study_id: str | None = None,
    prolific_session_id: str | None = None,
) -> Enrolment:
    """Enrol a rater, or return the existing enrolment for the same external id.

    The condition and items are chosen inside a transaction that holds the study's
    lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE on the study row),
    so simultaneous arrivals on any number of processes stay balanced.
    """
    external_id = _clean_id(external_id, "rater id")
    existing = _existing(engine, study_name, external_id)
    if existing is not None:
        return existing
    try:
        with write_session(engine) as s:
            study = _study(s, study_name, lock=True)
            if study.status != "live":
                raise ServiceError(f"study {study_name!r} is {study.status}, not open for raters")
            again = _find_rater(s, study.id, external_id)
            if again is not None:
                return Enrolment(again.token, again.id, rater_condition(s, again.id), created=False)
            config = study_config(s, study)
            index = study.enrol_counter
            study.enrol_counter = index + 1
            order, plan = plan_for_new_rater(s, study, config, index)
            token, rater_id = _insert_rater(s, study, external_id, order, plan, prolific=(
                prolific_pid, prolific_study_id, prolific_session_id))
            return Enrolment(token, rater_id, order[0], created=True)
    except IntegrityError:
        # Another process enrolled the same external id between our check and insert.
        again_ = _existing(engine, study_name, external_id)
        if again_ is None:
            raise
        return again_


def _insert_rater(s: Session, study: m.Study, external_id: str, order: list[str], plan: list[PlannedItem], *,
                  prolific: tuple[str | None, str | None, str | None]) -> tuple[str, int]:
    """Insert the rater, its assignments and the enrol event; returns (token, rater id).

    The rater's condition (``condition_id``) is the first of ``order``; each
    assignment stores its item's condition. Core inserts (one multi-row INSERT for
    the assignments): the study's lock is held for the whole enrolment transaction,
    so it should be short. Debate sides alternate within the rater's condition
    (left/right counterbalanced).
    """
    conditions = {c.key: c.id for c in study.conditions}
    in_condition = s.scalar(
        select(func.count()).where(m.Rater.study_id == study.id, rater_condition_key() == order[0])
    ) or 0
    now = m.utcnow()
    token = secrets.token_urlsafe(24)
    rater_id = s.execute(insert(q.R).returning(q.R.c.id), {
        "study_id": study.id,
        "external_id": external_id,
        "prolific_pid": prolific[0],
        "prolific_study_id": prolific[1],
        "prolific_session_id": prolific[2],
        "token": token,
        "condition_id": conditions[order[0]],
        "condition_order": order,
        "debate_flip": bool(in_condition % 2),
        "status": "enrolled",
        "attention_failures": 0,
        "enrolled_at": now,
        "last_seen_at": now,
        "exit_answers": {},
    }).scalar_one()
    s.execute(insert(q.A), [{
        "rater_id": rater_id,
        "item_pk": p.item_pk,
        "condition_id": conditions[p.condition_key],
        "position": p.position,
        "stage": p.stage,
        "is_attention_check": p.is_attention_check,
    } for p in plan])
    s.execute(insert(q.E), {"study_id": study.id, "rater_id": rater_id, "kind": "enrol",
                            "payload": {"conditions": order}, "created_at": now})
    return token, int(rater_id)


def _find_rater(s: Session, study_id: int, external_id: str) -> m.Rater | None:
    return s.scalars(select(m.Rater).where(m.Rater.study_id == study_id, m.Rater.external_id == external_id)).one_or_none()


def _existing(engine: Engine, study_name: str, external_id: str) -> Enrolment | None:
    if "\x00" in study_name:  # PostgreSQL refuses NUL in text; no study has one in its name
        raise ServiceError(f"no study named {study_name!r}")
    with read_connection(engine) as conn:
        row = q.one(conn, q.Q_EXISTING, q.Existing, {"name": study_name, "ext": external_id})
    if row is None:
        raise ServiceError(f"no study named {study_name!r}")
    if row.rater_id is None or row.token is None:
        return None
    return Enrolment(row.token, row.rater_id, row.condition or "", created=False)


def condition_counts(s: Session, study_id: int, config: StudyConfig, now: datetime) -> dict[str, int]:
    """Raters holding a slot per condition (the count the balancer equalises)."""
    key = rater_condition_key().label("condition")
    rows = s.execute(
        select(key, func.count(m.Rater.id))
        .where(m.Rater.study_id == study_id, alive_clause(config, now))
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
            alive_clause(config, now),
        )
        .group_by(key, m.Assignment.item_pk)
    )
    loads: dict[str, dict[int, int]] = {}
    for k, pk, n in rows:
        loads.setdefault(str(k), {})[int(pk)] = int(n)
    return loads


def plan_for_new_rater(s: Session, study: m.Study, config: StudyConfig, enrol_index: int) -> tuple[list[str], list[PlannedItem]]:
    """Condition order and item plan for the next rater.

    Between-subjects: the least-filled condition (:func:`condition_counts`);
    within-subjects: the Latin-square rotation for ``enrol_index``.
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
        target=config.target_ratings_per_item,
        practice_items=by_role["practice"][: config.practice_items],
        attention_items=attention,
        rng=rng,
    )
    return order, plan
