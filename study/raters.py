"""The rater side of the service layer: enrol, view, answer, finish.

A rater is identified by a secret token (kept in the browser session) after
enrolment by external id (``?rater=ID`` or Prolific's ``PROLIFIC_PID``). Every call
checks that the assignment belongs to the token's rater, so no input from one rater
can read or write another rater's data.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Engine,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from study import models as m
from study._rater_sql import (
    _A,
    _AFTER_WITH_EVENTS,
    _E,
    _INS_EVENT,
    _INS_JUDGMENT,
    _Q_EXISTING,
    _Q_OPEN,
    _Q_OPEN_LOCKED,
    _Q_PRIOR,
    _Q_RATER_IDS,
    _Q_VIEW_ASSIGNMENTS,
    _Q_VIEW_RATER,
    _R,
    _SHOWN_WITH_EVENT,
    _U_AFTER_ACTIVE,
    _U_AFTER_FINAL,
    _U_CONSENT,
    _U_REFUSE,
    _U_SHOWN,
    _U_START,
    _U_TIME_OUT,
    _assistance_json,
    _check_token,
    _gold_label,
    _item_content,
    _stamp,
    _url_key,
)
from study.assignment import PlannedItem
from study.config import StudyConfig
from study.db import is_sqlite, read_connection, write_connection, write_session, write_transaction
from study.service import ServiceError, StudySnapshot, _study, cached_config, plan_for_new_rater, study_snapshot

#: Characters allowed in an external rater id (Prolific ids are 24 hex chars).
MAX_EXTERNAL_ID = 120


@dataclass(frozen=True)
class Enrolment:
    """Who the rater is: keep ``token`` in the session to act as this rater."""

    token: str
    rater_id: int
    condition: str
    created: bool


@dataclass(frozen=True)
class ItemView:
    """Everything the rater page shows for one assignment (plain data)."""

    assignment_id: int
    item_id: str
    position: int
    stage: str
    is_attention_check: bool
    claim: str
    context: str | None
    sources: list[dict[str, Any]]
    condition: str
    assistance_kind: str
    assistance: dict[str, Any] | None
    initial_label: str | None
    initial_confidence: float | None
    #: The item's condition's ``instructions`` and ``warning`` from the study config.
    instructions: str = ""
    warning: str = ""


@dataclass(frozen=True)
class RaterView:
    """The rater's whole state: which screen, which item, progress, codes."""

    study_name: str
    study_title: str
    screen: str  # consent | instructions | item | exit | done | closed
    status: str
    condition: str
    assistance_kind: str
    condition_instructions: str
    two_stage: bool
    labels: list[str]
    confidence_min: float
    confidence_max: float
    confidence_step: float
    show_sources: bool
    position: int
    total: int
    n_practice: int
    item: ItemView | None = None
    completion_code: str | None = None
    redirect_url: str | None = None
    consent_text: str = ""
    seconds_left: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmitResult:
    """Outcome of a submission: ``recorded`` False means it was a duplicate."""

    recorded: bool
    judgment_id: int
    correct: bool | None
    gold_label: str | None
    feedback: bool
    status: str


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
                return Enrolment(again.token, again.id, _condition_key(again), created=False)
            config = cached_config(_url_key(engine), study.id, study.name, json.dumps(study.config, sort_keys=True))
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

    Core inserts (one multi-row INSERT for the assignments): the study's lock is held
    for the whole enrolment transaction, so it should be short. Debate sides alternate
    within the rater's condition (left/right counterbalanced).
    """
    conditions = {c.key: c for c in study.conditions}
    in_condition = s.scalar(
        select(func.count()).where(m.Rater.study_id == study.id, m.Rater.condition_id == conditions[order[0]].id)
    ) or 0
    now = m.utcnow()
    token = secrets.token_urlsafe(24)
    rater_id = s.execute(insert(_R).returning(_R.c.id), {
        "study_id": study.id,
        "external_id": external_id,
        "prolific_pid": prolific[0],
        "prolific_study_id": prolific[1],
        "prolific_session_id": prolific[2],
        "token": token,
        "condition_id": conditions[order[0]].id,
        "condition_order": order,
        "debate_flip": bool(in_condition % 2),
        "status": "enrolled",
        "attention_failures": 0,
        "enrolled_at": now,
        "last_seen_at": now,
        "exit_answers": {},
    }).scalar_one()
    s.execute(insert(_A), [{
        "rater_id": rater_id,
        "item_pk": p.item_pk,
        "condition_id": conditions[p.condition_key].id,
        "position": p.position,
        "stage": p.stage,
        "is_attention_check": p.is_attention_check,
    } for p in plan])
    s.execute(insert(_E), {"study_id": study.id, "rater_id": rater_id, "kind": "enrol",
                           "payload": {"conditions": order}, "created_at": now})
    return token, rater_id


def _find_rater(s: Session, study_id: int, external_id: str) -> m.Rater | None:
    return s.scalars(select(m.Rater).where(m.Rater.study_id == study_id, m.Rater.external_id == external_id)).one_or_none()


def _condition_key(rater: m.Rater) -> str:
    return rater.condition_order[0] if rater.condition_order else ""


def _existing(engine: Engine, study_name: str, external_id: str) -> Enrolment | None:
    if "\x00" in study_name:  # PostgreSQL refuses NUL in text; no study has one in its name
        raise ServiceError(f"no study named {study_name!r}")
    with read_connection(engine) as conn:
        row = conn.execute(_Q_EXISTING, {"name": study_name, "ext": external_id}).one_or_none()
    if row is None:
        raise ServiceError(f"no study named {study_name!r}")
    token, rater_id, order = row
    if rater_id is None:
        return None
    return Enrolment(token, rater_id, order[0] if order else "", created=False)


def _rater(s: Session, token: str) -> m.Rater:
    if not token or len(token) > 64 or not token.isprintable():  # PostgreSQL refuses NUL outright
        raise ServiceError("unknown rater")
    rater = s.scalars(select(m.Rater).where(m.Rater.token == token)).one_or_none()
    if rater is None:
        raise ServiceError("unknown rater")
    return rater


def _deadline(rater: m.Rater, config: StudyConfig) -> datetime:
    return rater.enrolled_at + timedelta(minutes=config.time_limit_minutes)


def _time_out_if_due(rater: m.Rater, config: StudyConfig, now: datetime) -> bool:
    if rater.status in ("enrolled", "active") and now > _deadline(rater, config):
        rater.status = "timed_out"
        rater.finished_at = now
        return True
    return False


# Hot path statements and cache: see study/_rater_sql.py.


def rater_view(engine: Engine, token: str, *, mark_shown: bool = True) -> RaterView:
    """The rater's current screen; records when the current item was first shown.

    SQLite: the view is read in a read transaction; the only writes (the first-shown
    time, a time-out) are short transactions of their own, so showing an item holds
    the single write lock for two statements rather than the whole page.
    PostgreSQL (no single writer lock): one transaction, and the first-shown time and
    its event are one statement. Either way, one pooled connection.
    """
    _check_token(token)
    now = m.utcnow()
    with engine.connect() as conn:
        if is_sqlite(engine):
            with conn.begin():
                view, current, rater_id, study_id = _read_view(conn, token, now)
            if view is None:  # past the time limit while enrolled/active: record the time-out
                with write_transaction(conn):
                    _time_out(conn, rater_id, study_id, now)
                with conn.begin():
                    view, current, _, _ = _read_view(conn, token, now, allow_due=True)
            if mark_shown and current is not None:
                with write_transaction(conn):
                    if conn.execute(_U_SHOWN, {"aid": current, "now": now}).rowcount:  # another tab may have shown it
                        conn.execute(_INS_EVENT, {"study_id": study_id, "rater_id": rater_id, "assignment_id": current,
                                                  "kind": "item_shown", "payload": {}, "created_at": now})
        else:
            with conn.begin():
                view, current, rater_id, study_id = _read_view(conn, token, now)
                if view is None:
                    _time_out(conn, rater_id, study_id, now)
                    view, current, _, _ = _read_view(conn, token, now, allow_due=True)
                if mark_shown and current is not None:
                    conn.execute(_SHOWN_WITH_EVENT, {"aid": current, "now": now, "sid": study_id, "rid": rater_id,
                                                     "payload": {}})
    assert view is not None
    return view


def _time_out(conn: Connection, rater_id: int, study_id: int, now: datetime) -> None:
    if conn.execute(_U_TIME_OUT, {"rid": rater_id, "now": now}).rowcount:
        conn.execute(_INS_EVENT, {"study_id": study_id, "rater_id": rater_id, "kind": "timed_out",
                                  "payload": {}, "created_at": now})


def _read_view(
    conn: Connection, token: str, now: datetime, *, allow_due: bool = False
) -> tuple[RaterView | None, int | None, int, int]:
    """(view, id of the shown item if not yet marked shown, rater id, study id).

    ``view`` is None when the rater is past the time limit but not yet timed out.
    Runs in the caller's transaction on ``conn``.
    """
    engine = conn.engine
    row = conn.execute(_Q_VIEW_RATER, {"token": token}).one_or_none()
    if row is None:
        raise ServiceError("unknown rater")
    (rater_id, study_id, status, condition_order, debate_flip, enrolled_at, consented, started, exit_answers,
     name, title, study_status, launched_at, config_text) = row
    config = cached_config(_url_key(engine), study_id, name, config_text)
    deadline = enrolled_at + timedelta(minutes=config.time_limit_minutes)
    in_progress = status in ("enrolled", "active")
    if in_progress and now > deadline and not allow_due:
        return None, None, rater_id, study_id
    rows = conn.execute(_Q_VIEW_ASSIGNMENTS, {"rater_id": rater_id}).all()
    total, judged, n_practice, current = len(rows), 0, 0, None
    for a in rows:
        if a[10]:
            judged += 1
        elif current is None:
            current = a
        if a[3] == "practice":
            n_practice += 1
    if status in m.FINAL_RATER_STATUSES:
        screen = "exit" if status == "completed" and not exit_answers else "done"
    elif study_status != "live":
        screen = "closed"
    elif not consented:
        screen = "consent"
    elif not started:
        screen = "instructions"
    else:
        screen = "item" if current is not None else "exit"
    item_view = None
    if screen == "item" and current is not None:
        item_view = _item_view_row(conn, _stamp(engine, study_id, launched_at), config, bool(debate_flip), current)
    cond = config.condition(condition_order[0]) if condition_order else config.conditions[0]
    code = _code(config, status)
    left = max(0, int((deadline - now).total_seconds()))
    view = RaterView(
        study_name=name,
        study_title=title,
        screen=screen,
        status=status,
        condition=cond.key,
        assistance_kind=cond.assistance,
        condition_instructions=cond.instructions,
        two_stage=config.design.two_stage,
        labels=list(config.labels),
        confidence_min=config.confidence.min,
        confidence_max=config.confidence.max,
        confidence_step=config.confidence.step,
        show_sources=config.show_sources,
        position=judged,
        total=total,
        n_practice=n_practice,
        item=item_view,
        completion_code=code,
        redirect_url=(config.completion.redirect_url.replace("{code}", code) if code and config.completion.redirect_url else None),
        consent_text=config.consent_text,
        seconds_left=left if status in ("enrolled", "active") else None,
        extra={"design": config.design.type},
    )
    unshown = current[0] if item_view is not None and current is not None and current[5] else None
    return view, unshown, rater_id, study_id


def _code(config: StudyConfig, status: str) -> str | None:
    return {
        "completed": config.completion.completed,
        "failed_attention": config.completion.failed_attention,
        "timed_out": config.completion.timed_out,
    }.get(status)


def _item_view_row(conn: Connection, stamp: tuple[Any, ...] | None, config: StudyConfig, debate_flip: bool, a: Any) -> ItemView:
    (aid, item_pk, position, stage, is_check, _unshown, initial_label, initial_confidence, cond_key, kind, _judged) = a
    item_id, claim, context, _gold, sources = _item_content(conn, stamp, item_pk)
    try:
        cond_config = config.condition(cond_key)
    except KeyError:  # a condition row the config no longer names
        cond_config = None
    assistance = None
    if kind != "none" and not is_check:
        text_ = _assistance_json(conn, stamp, item_pk, kind)
        assistance = json.loads(text_) if text_ is not None else None  # a fresh copy every time
        if isinstance(assistance, dict) and kind == "debate" and debate_flip:
            assistance["sides"] = list(reversed(assistance.get("sides", [])))
    return ItemView(
        assignment_id=aid,
        item_id=item_id,
        position=position,
        stage=stage,
        is_attention_check=bool(is_check),
        claim=claim,
        context=context,
        sources=[{"title": t, "text": x, "url": u} for t, x, u in sources],
        condition=cond_key,
        assistance_kind=kind,
        assistance=assistance,
        initial_label=initial_label,
        initial_confidence=initial_confidence,
        instructions=cond_config.instructions if cond_config else "",
        warning=cond_config.warning if cond_config else "",
    )


def preview_item(conn: Connection, config: StudyConfig, item_pk: int, role: str, condition: str, kind: str, *,
                 debate_flip: bool = False, initial: tuple[str, float] | None = None) -> ItemView:
    """The :class:`ItemView` a rater in ``condition`` gets for this item (nothing is recorded).

    Built by the same code as the rater's own view; ``assignment_id`` is 0 and
    ``initial`` = (label, confidence) shows a two-stage trial after the reveal.
    """
    stage = "practice" if role == "practice" else "main"
    label, conf = initial if initial is not None else (None, None)
    row = (0, item_pk, 0, stage, role == "attention_check", None, label, conf, condition, kind, None)
    return _item_view_row(conn, None, config, debate_flip, row)


def consent(engine: Engine, token: str, agreed: bool = True) -> None:
    """Record consent (or its refusal, which withdraws the rater)."""
    _check_token(token)
    now = m.utcnow()
    with write_connection(engine) as conn:
        rater_id, study_id = _rater_ids(conn, token)
        stmt = _U_CONSENT if agreed else _U_REFUSE
        if conn.execute(stmt, {"rid": rater_id, "now": now}).rowcount:
            conn.execute(_INS_EVENT, {"study_id": study_id, "rater_id": rater_id, "kind": "consent",
                                      "payload": {"agreed": bool(agreed)}, "created_at": now})


def start(engine: Engine, token: str) -> None:
    """The rater has read the instructions."""
    _check_token(token)
    now = m.utcnow()
    with write_connection(engine) as conn:
        rater_id, study_id = _rater_ids(conn, token)
        if conn.execute(_U_START, {"rid": rater_id, "now": now}).rowcount:
            conn.execute(_INS_EVENT, {"study_id": study_id, "rater_id": rater_id, "kind": "start",
                                      "payload": {}, "created_at": now})


def _rater_ids(conn: Connection, token: str) -> tuple[int, int]:
    row = conn.execute(_Q_RATER_IDS, {"token": token}).one_or_none()
    if row is None:
        raise ServiceError("unknown rater")
    return row[0], row[1]


def _answer_checks(config: StudyConfig, label: str, confidence: float) -> None:
    if label not in config.labels:
        raise ServiceError(f"label {label!r} is not one of {config.labels}")
    if not (config.confidence.min - 1e-9 <= float(confidence) <= config.confidence.max + 1e-9):
        raise ServiceError(f"confidence {confidence} is outside [{config.confidence.min}, {config.confidence.max}]")


def _open_assignment(
    s: Session, token: str, assignment_id: int
) -> tuple[m.Rater, m.Assignment, StudyConfig, StudySnapshot]:
    rater = _rater(s, token)
    assignment = s.scalars(
        select(m.Assignment)
        .where(m.Assignment.id == assignment_id, m.Assignment.rater_id == rater.id)
        .options(joinedload(m.Assignment.item), joinedload(m.Assignment.condition))
    ).one_or_none()
    if assignment is None:
        raise ServiceError("that item is not assigned to you")
    study = study_snapshot(s, rater.study_id)
    return rater, assignment, study.config, study


def submit_initial(engine: Engine, token: str, assignment_id: int, label: str, confidence: float) -> None:
    """Two-stage trials: the unassisted first answer (kept once; a resubmit is ignored)."""
    with write_session(engine) as s:
        rater, a, config, study = _open_assignment(s, token, assignment_id)
        _answer_checks(config, label, confidence)
        if not config.design.two_stage:
            raise ServiceError("this study has no initial answers")
        _ensure_open(s, rater, config, study)
        if a.initial_label is None:
            a.initial_label, a.initial_confidence, a.initial_at = label, float(confidence), m.utcnow()
            s.add(m.Event(study_id=study.id, rater_id=rater.id, assignment_id=a.id, kind="initial", payload={"label": label}))
            s.add(m.Event(study_id=study.id, rater_id=rater.id, assignment_id=a.id, kind="reveal"))


def _ensure_open(s: Session, rater: m.Rater, config: StudyConfig, study: StudySnapshot) -> None:
    if _time_out_if_due(rater, config, m.utcnow()):
        s.commit()  # the time-out itself is a fact worth keeping
        raise ServiceError("time limit exceeded")
    if rater.status != "active" or rater.started_at is None:
        raise ServiceError(f"no more answers accepted (status {rater.status})")
    if study.status != "live":
        raise ServiceError(f"study is {study.status}")


class _Opened(NamedTuple):
    """The joined ownership/state row of ``_Q_OPEN`` (column order of that query)."""

    rater_id: int
    study_id: int
    status: str
    enrolled_at: datetime
    started: Any
    failures: int
    finished: Any
    name: str
    title: str
    study_status: str
    launched_at: datetime | None
    config_text: str
    aid: int
    item_pk: int
    stage: str
    is_check: bool
    shown_at: datetime | None
    initial_label: str | None
    initial_confidence: float | None
    prior_id: int | None
    prior_label: str | None


@dataclass(frozen=True)
class _Answer:
    label: str
    confidence: float
    active_ms: int | None
    client_submitted_at: datetime | None
    submission_key: str | None


def submit_judgment(
    engine: Engine,
    token: str,
    assignment_id: int,
    label: str,
    confidence: float,
    *,
    active_ms: int | None = None,
    client_submitted_at: datetime | None = None,
    submission_key: str | None = None,
) -> SubmitResult:
    """Record the final answer for one assignment, exactly once.

    A second submission for the same assignment (double click, resent form, second
    tab) returns the first judgment with ``recorded=False`` and changes nothing.

    One write transaction of four statements: the joined ownership/state read (which
    locks the rater's row on PostgreSQL), ``INSERT ... RETURNING`` of the judgment,
    one ``UPDATE`` of the rater (attention failures, completion when nothing is left
    unjudged, last seen), and the events in one insert (on PostgreSQL the last two are
    one statement).
    """
    _check_token(token)
    try:
        assignment_id = int(assignment_id)
    except (TypeError, ValueError):
        raise ServiceError("that item is not assigned to you") from None
    answer = _Answer(label, confidence, active_ms, client_submitted_at, submission_key)
    try:
        with write_connection(engine) as conn:
            sqlite = is_sqlite(engine)
            o = _Opened(*_open_row(conn, _Q_OPEN if sqlite else _Q_OPEN_LOCKED, token, assignment_id))
            stamp = _stamp(engine, o.study_id, o.launched_at)
            if o.prior_id is not None:
                return _result_of(o.prior_id, o.prior_label or "", o.stage, _gold_label(conn, stamp, o.item_pk),
                                  o.status, recorded=False)
            config = cached_config(_url_key(engine), o.study_id, o.name, o.config_text)
            now = m.utcnow()
            refusal = _refusal(config, label, confidence, now, o.status, o.enrolled_at, o.started, o.study_status,
                               o.is_check, o.initial_label)
            if refusal is None:
                return _record(conn, sqlite, config, _gold_label(conn, stamp, o.item_pk), now, o, answer)
            # On PostgreSQL the row lock may have waited for another tab of this rater,
            # whose judgment the joined read (an older snapshot) did not see: a
            # duplicate gets the first judgment back, as without the race.
            prior = conn.execute(_Q_PRIOR, {"aid": o.aid}).one_or_none()
            if prior is not None:
                return _result_of(prior[0], prior[1], o.stage, _gold_label(conn, stamp, o.item_pk), o.status,
                                  recorded=False)
            if refusal != "time limit exceeded":
                raise ServiceError(refusal)
            conn.execute(_U_TIME_OUT, {"rid": o.rater_id, "now": now})  # a fact worth keeping: committed
        raise ServiceError("time limit exceeded")
    except IntegrityError:
        # A concurrent duplicate (another tab) won the unique constraint.
        with read_connection(engine) as conn:
            o = _Opened(*_open_row(conn, _Q_OPEN, token, assignment_id))
            if o.prior_id is None:
                raise
            stamp = _stamp(engine, o.study_id, o.launched_at)
            return _result_of(o.prior_id, o.prior_label or "", o.stage, _gold_label(conn, stamp, o.item_pk),
                              o.status, recorded=False)


def _record(conn: Connection, sqlite: bool, config: StudyConfig, gold: str, now: datetime, o: _Opened,
            answer: _Answer) -> SubmitResult:
    """Insert the judgment, update the rater (attention failures, completion) and log events."""
    judgment_id = conn.execute(_INS_JUDGMENT, {
        "assignment_id": o.aid,
        "rater_id": o.rater_id,
        "item_pk": o.item_pk,
        "label": answer.label,
        "confidence": float(answer.confidence),
        "initial_label": o.initial_label,
        "initial_confidence": o.initial_confidence,
        "time_ms": int(((now - (o.shown_at or now)).total_seconds()) * 1000),
        "active_ms": answer.active_ms,
        "client_submitted_at": answer.client_submitted_at,
        "submitted_at": now,
        "submission_key": answer.submission_key,
    }).scalar_one()
    kind, failures, new_status = "judgment", o.failures, o.status
    if o.is_check and answer.label != gold:
        failures += 1
        kind = "attention_failed"
        if failures > config.max_attention_failures:
            new_status = "failed_attention"
    params = {"rid": o.rater_id, "failures": failures, "now": now}
    if new_status == "active" and not sqlite:
        kinds = conn.execute(_AFTER_WITH_EVENTS, {**params, "sid": o.study_id, "aid": o.aid, "kind": kind,
                                                  "payload": {}}).scalars().all()
        final = "completed" if "completed" in kinds else "active"
    else:
        if new_status == "active":
            final = conn.execute(_U_AFTER_ACTIVE, params).scalar_one()
        else:
            final = conn.execute(_U_AFTER_FINAL, {**params, "new_status": new_status}).scalar_one()
        events = [{"study_id": o.study_id, "rater_id": o.rater_id, "assignment_id": o.aid, "kind": kind,
                   "payload": {}, "created_at": now}]
        if final == "completed":
            events.append({"study_id": o.study_id, "rater_id": o.rater_id, "assignment_id": None,
                           "kind": "completed", "payload": {}, "created_at": now})
        conn.execute(_INS_EVENT, events)
    return _result_of(judgment_id, answer.label, o.stage, gold, final, recorded=True)


def _refusal(config: StudyConfig, label: str, confidence: float, now: datetime, status: str, enrolled_at: datetime,
             started: bool, study_status: str, is_check: bool, initial_label: str | None) -> str | None:
    """Why this answer cannot be recorded (None: it can), checked in the original order."""
    try:
        _answer_checks(config, label, confidence)
    except ServiceError as err:
        return str(err)
    if status in ("enrolled", "active") and now > enrolled_at + timedelta(minutes=config.time_limit_minutes):
        return "time limit exceeded"
    if status != "active" or not started:
        return f"no more answers accepted (status {status})"
    if study_status != "live":
        return f"study is {study_status}"
    if config.design.two_stage and not is_check and initial_label is None:
        return "give your first answer before the final one"
    return None


def _open_row(conn: Connection, query: Any, token: str, assignment_id: int) -> Any:
    row = conn.execute(query, {"token": token, "aid": assignment_id}).one_or_none()
    if row is None:
        raise ServiceError("unknown rater")
    if row[12] is None:
        raise ServiceError("that item is not assigned to you")
    return row


def _result_of(judgment_id: int, label: str, stage: str, gold: str, status: str, *, recorded: bool) -> SubmitResult:
    practice = stage == "practice"
    return SubmitResult(
        recorded=recorded,
        judgment_id=judgment_id,
        correct=(label == gold) if practice else None,
        gold_label=gold if practice else None,
        feedback=practice,
        status=status,
    )


def log_event(
    engine: Engine, token: str, kind: str, payload: dict[str, Any] | None = None, assignment_id: int | None = None
) -> None:
    """Log a client event (reveal, quote expand, reload, page view ...) for this rater."""
    kind = kind[:40]
    with write_session(engine) as s:
        rater = _rater(s, token)
        if assignment_id is not None and s.scalar(
            select(m.Assignment.id).where(m.Assignment.id == assignment_id, m.Assignment.rater_id == rater.id)
        ) is None:
            raise ServiceError("that item is not assigned to you")
        s.add(m.Event(study_id=rater.study_id, rater_id=rater.id, assignment_id=assignment_id, kind=kind, payload=payload or {}))
        rater.last_seen_at = m.utcnow()


def finish(engine: Engine, token: str, answers: dict[str, Any]) -> None:
    """Store the exit questionnaire (once) after the last item."""
    with write_session(engine) as s:
        rater = _rater(s, token)
        if rater.status != "completed":
            raise ServiceError(f"the questionnaire comes after the last item (status {rater.status})")
        if not rater.exit_answers:
            rater.exit_answers = {str(k)[:40]: (str(v)[:2000] if isinstance(v, str) else v) for k, v in answers.items()} or {"submitted": True}
            s.add(m.Event(study_id=rater.study_id, rater_id=rater.id, kind="exit_questionnaire"))
