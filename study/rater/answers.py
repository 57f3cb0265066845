"""What the rater does: consent, start, answer (initial and final), finish, events.

Every call checks that the assignment belongs to the token's rater, so no input from
one rater can read or write another rater's data. Whether an answer is accepted is
decided by :func:`study.rater.rules.refusal` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from study import models as m
from study.config import StudyConfig
from study.db import is_sqlite, read_connection, write_connection, write_session
from study.rater import _sql as q
from study.rater.enrolment import assign
from study.rater.rules import AnswerState, refusal
from study.service import ServiceError, cached_config, study_config, study_snapshot

__all__ = ["SubmitResult", "consent", "finish", "log_event", "start", "submit_initial", "submit_judgment"]


@dataclass(frozen=True)
class SubmitResult:
    """Outcome of a submission: ``recorded`` False means it was a duplicate."""

    recorded: bool
    judgment_id: int
    correct: bool | None
    gold_label: str | None
    feedback: bool
    status: str


def _rater(s: Session, token: str) -> m.Rater:
    q.check_token(token)
    rater = s.scalars(select(m.Rater).where(m.Rater.token == token)).one_or_none()
    if rater is None:
        raise ServiceError("unknown rater")
    return rater


def _rater_ids(conn: Connection, token: str) -> q.RaterIds:
    row = q.one(conn, q.Q_RATER_IDS, q.RaterIds, {"token": token})
    if row is None:
        raise ServiceError("unknown rater")
    return row


def consent(engine: Engine, token: str, agreed: bool = True) -> str | None:
    """Record consent, and only now choose the rater's condition and items; returns the condition key.

    One write transaction holding the study's lock (SQLite: BEGIN IMMEDIATE;
    PostgreSQL: SELECT ... FOR UPDATE on the study row) does both, so balance and
    item loads count exactly the raters who consented. A repeated consent (second tab,
    double click) changes nothing and returns the same condition. Refusing withdraws
    the rater (None). Raises :class:`~study.assignment.StudyFull` when no item needs
    ratings any more (the rater stays unconsented and holds nothing).
    """
    q.check_token(token)
    now = m.utcnow()
    if not agreed:
        with write_connection(engine) as conn:
            ids = _rater_ids(conn, token)
            if conn.execute(q.U_REFUSE, {"rid": ids.rater_id, "now": now}).rowcount:
                conn.execute(q.INS_EVENT, {"study_id": ids.study_id, "rater_id": ids.rater_id, "kind": "consent",
                                           "payload": {"agreed": False}, "created_at": now})
        return None
    with write_session(engine) as s:
        study_id = s.scalar(select(m.Rater.study_id).where(m.Rater.token == token))
        if study_id is None:
            raise ServiceError("unknown rater")
        study = _locked_study(s, int(study_id))
        rater = s.scalars(select(m.Rater).where(m.Rater.token == token).execution_options(populate_existing=True)).one()
        if rater.consented_at is not None or rater.status != "enrolled":
            return rater.condition.key if rater.condition is not None else None
        if study.status != "live":
            raise ServiceError(f"study {study.name!r} is {study.status}, not open for raters")
        key = assign(s, study, study_config(s, study), rater) if rater.condition_id is None else rater.condition_order[0]
        rater.consented_at = rater.enrolled_at = rater.last_seen_at = now  # the time limit runs from consent
        rater.status = "active"
        s.add(m.Event(study_id=study.id, rater_id=rater.id, kind="consent", payload={"agreed": True,
                                                                                   "condition": key}, created_at=now))
        return str(key)


def _locked_study(s: Session, study_id: int) -> m.Study:
    stmt = select(m.Study).where(m.Study.id == study_id)
    if not is_sqlite(s.get_bind().engine):
        stmt = stmt.with_for_update()
    return s.scalars(stmt).one()


def start(engine: Engine, token: str) -> None:
    """The rater has read the instructions."""
    q.check_token(token)
    now = m.utcnow()
    with write_connection(engine) as conn:
        ids = _rater_ids(conn, token)
        if conn.execute(q.U_START, {"rid": ids.rater_id, "now": now}).rowcount:
            conn.execute(q.INS_EVENT, {"study_id": ids.study_id, "rater_id": ids.rater_id, "kind": "start",
                                       "payload": {}, "created_at": now})


def submit_initial(engine: Engine, token: str, assignment_id: int, label: str, confidence: float) -> None:
    """Two-stage trials: the unassisted first answer (kept once; a resubmit is ignored)."""
    with write_session(engine) as s:
        rater = _rater(s, token)
        a = s.scalars(select(m.Assignment).where(m.Assignment.id == assignment_id,
                                                 m.Assignment.rater_id == rater.id)).one_or_none()
        if a is None:
            raise ServiceError("that item is not assigned to you")
        study = study_snapshot(s, rater.study_id)
        now = m.utcnow()
        state = AnswerState(rater.status, rater.enrolled_at, rater.started_at is not None, study.status,
                            a.is_attention_check, a.initial_label)
        why = refusal(study.config, state, label, confidence, now, initial=True)
        if why == "time limit exceeded":
            rater.status, rater.finished_at = "timed_out", now
            s.commit()  # the time-out itself is a fact worth keeping
        if why is not None:
            raise ServiceError(why)
        if a.initial_label is None:
            a.initial_label, a.initial_confidence, a.initial_at = label, float(confidence), now
            s.add(m.Event(study_id=study.id, rater_id=rater.id, assignment_id=a.id, kind="initial", payload={"label": label}))
            s.add(m.Event(study_id=study.id, rater_id=rater.id, assignment_id=a.id, kind="reveal"))


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
    q.check_token(token)
    try:
        assignment_id = int(assignment_id)
    except (TypeError, ValueError):
        raise ServiceError("that item is not assigned to you") from None
    answer = _Answer(label, confidence, active_ms, client_submitted_at, submission_key)
    try:
        with write_connection(engine) as conn:
            result = _submit(conn, token, assignment_id, answer)
            if result is not None:
                return result
        raise ServiceError("time limit exceeded")  # the time-out is committed first
    except IntegrityError:
        # A concurrent duplicate (another tab) won the unique constraint.
        with read_connection(engine) as conn:
            o = _open_row(conn, False, token, assignment_id)
            if o.prior_id is None:
                raise
            return _result_of(o.prior_id, o.prior_label or "", o.stage, _gold(conn, o), o.status, recorded=False)


def _submit(conn: Connection, token: str, assignment_id: int, answer: _Answer) -> SubmitResult | None:
    """The write transaction of :func:`submit_judgment`; None: the rater was just timed out."""
    sqlite = is_sqlite(conn.engine)
    o = _open_row(conn, not sqlite, token, assignment_id)
    if o.prior_id is not None:
        return _result_of(o.prior_id, o.prior_label or "", o.stage, _gold(conn, o), o.status, recorded=False)
    config = cached_config(q.url_key(conn.engine), o.study_id, o.name, o.config_text)
    now = m.utcnow()
    state = AnswerState(o.status, o.enrolled_at, o.started, o.study_status, o.is_check, o.initial_label)
    why = refusal(config, state, answer.label, answer.confidence, now)
    if why is None:
        return _record(conn, sqlite, config, _gold(conn, o), now, o, answer)
    # On PostgreSQL the row lock may have waited for another tab of this rater,
    # whose judgment the joined read (an older snapshot) did not see: a
    # duplicate gets the first judgment back, as without the race.
    prior = q.one(conn, q.Q_PRIOR, q.Prior, {"aid": o.aid})
    if prior is not None:
        return _result_of(prior.judgment_id, prior.label, o.stage, _gold(conn, o), o.status, recorded=False)
    if why != "time limit exceeded":
        raise ServiceError(why)
    conn.execute(q.U_TIME_OUT, {"rid": o.rater_id, "now": now})  # a fact worth keeping: committed
    return None


def _gold(conn: Connection, o: q.Opened) -> str:
    return q.gold_label(conn, q.stamp(conn.engine, o.study_id, o.launched_at), o.item_pk)


def _record(conn: Connection, sqlite: bool, config: StudyConfig, gold: str, now: datetime, o: q.Opened,
            answer: _Answer) -> SubmitResult:
    """Insert the judgment, update the rater (attention failures, completion) and log events."""
    judgment_id = conn.execute(q.INS_JUDGMENT, {
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
    final = _update_rater(conn, sqlite, o, {"rid": o.rater_id, "failures": failures, "now": now}, kind, new_status)
    return _result_of(judgment_id, answer.label, o.stage, gold, final, recorded=True)


def _update_rater(conn: Connection, sqlite: bool, o: q.Opened, params: dict[str, Any], kind: str,
                  new_status: str) -> str:
    """Update the rater after a judgment and log its events; returns the rater's status."""
    if new_status == "active" and not sqlite:
        kinds = conn.execute(q.AFTER_WITH_EVENTS, {**params, "sid": o.study_id, "aid": o.aid, "kind": kind,
                                                   "payload": {}}).scalars().all()
        return "completed" if "completed" in kinds else "active"
    if new_status == "active":
        final = str(conn.execute(q.U_AFTER_ACTIVE, params).scalar_one())
    else:
        final = str(conn.execute(q.U_AFTER_FINAL, {**params, "new_status": new_status}).scalar_one())
    now = params["now"]
    events: list[dict[str, Any]] = [{"study_id": o.study_id, "rater_id": o.rater_id, "assignment_id": o.aid,
                                     "kind": kind, "payload": {}, "created_at": now}]
    if final == "completed":
        events.append({"study_id": o.study_id, "rater_id": o.rater_id, "assignment_id": None,
                       "kind": "completed", "payload": {}, "created_at": now})
    conn.execute(q.INS_EVENT, events)
    return final


def _open_row(conn: Connection, lock: bool, token: str, assignment_id: int) -> q.Opened:
    row = q.one(conn, q.Q_OPEN_LOCKED if lock else q.Q_OPEN, q.Opened, {"token": token, "aid": assignment_id})
    if row is None:
        raise ServiceError("unknown rater")
    if row.aid is None:
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
