"""The rater side of the service layer: enrol, view, answer, finish.

A rater is identified by a secret token (kept in the browser session) after
enrolment by external id (``?rater=ID`` or Prolific's ``PROLIFIC_PID``). Every call
checks that the assignment belongs to the token's rater, so no input from one rater
can read or write another rater's data.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from study import models as m
from study.config import StudyConfig, parse_config
from study.db import read_session, write_session
from study.service import ServiceError, StudySnapshot, _study, plan_for_new_rater, study_snapshot

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
            config = parse_config(study.config)
            index = study.enrol_counter
            study.enrol_counter = index + 1
            order, plan, _ = plan_for_new_rater(s, study, config, index)
            conditions = {c.key: c for c in study.conditions}
            in_condition = s.scalar(
                select(func.count()).where(m.Rater.study_id == study.id, m.Rater.condition_id == conditions[order[0]].id)
            ) or 0
            rater = m.Rater(
                study_id=study.id,
                external_id=external_id,
                prolific_pid=prolific_pid,
                prolific_study_id=prolific_study_id,
                prolific_session_id=prolific_session_id,
                token=secrets.token_urlsafe(24),
                condition_id=conditions[order[0]].id,
                condition_order=order,
                debate_flip=bool(in_condition % 2),
                status="enrolled",
            )
            s.add(rater)
            s.flush()
            for p in plan:
                s.add(
                    m.Assignment(
                        rater_id=rater.id,
                        item_pk=p.item_pk,
                        condition_id=conditions[p.condition_key].id,
                        position=p.position,
                        stage=p.stage,
                        is_attention_check=p.is_attention_check,
                    )
                )
            s.add(m.Event(study_id=study.id, rater_id=rater.id, kind="enrol", payload={"conditions": order}))
            return Enrolment(rater.token, rater.id, order[0], created=True)
    except IntegrityError:
        # Another process enrolled the same external id between our check and insert.
        again_ = _existing(engine, study_name, external_id)
        if again_ is None:
            raise
        return again_


def _find_rater(s: Session, study_id: int, external_id: str) -> m.Rater | None:
    return s.scalars(select(m.Rater).where(m.Rater.study_id == study_id, m.Rater.external_id == external_id)).one_or_none()


def _condition_key(rater: m.Rater) -> str:
    return rater.condition_order[0] if rater.condition_order else ""


def _existing(engine: Engine, study_name: str, external_id: str) -> Enrolment | None:
    with read_session(engine) as s:
        study = _study(s, study_name)
        rater = _find_rater(s, study.id, external_id)
        if rater is None:
            return None
        return Enrolment(rater.token, rater.id, _condition_key(rater), created=False)


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


def rater_view(engine: Engine, token: str, *, mark_shown: bool = True) -> RaterView:
    """The rater's current screen; records when the current item was first shown.

    The view is read in a read transaction; the only writes (the first-shown time,
    a time-out) are short transactions of their own, so showing an item holds
    SQLite's single write lock for two statements rather than the whole page.
    """
    with read_session(engine) as s:
        rater = _rater(s, token)
        study = study_snapshot(s, rater.study_id)
        now = m.utcnow()
        due = rater.status in ("enrolled", "active") and now > _deadline(rater, study.config)
        if not due:
            view, current = _build_view(s, study, study.config, rater, now)
    if due:
        with write_session(engine) as s:
            rater = _rater(s, token)
            study = study_snapshot(s, rater.study_id)
            if _time_out_if_due(rater, study.config, now):
                s.add(m.Event(study_id=study.id, rater_id=rater.id, kind="timed_out"))
            view, current = _build_view(s, study, study.config, rater, now)
    if mark_shown and view.screen == "item" and current is not None and current.shown_at is None:
        with write_session(engine) as s:
            first = s.execute(
                update(m.Assignment)
                .where(m.Assignment.id == current.id, m.Assignment.shown_at.is_(None))
                .values(shown_at=now)
            ).rowcount
            if first:  # another tab may have shown it a moment ago
                s.execute(insert(m.Event).values(study_id=study.id, rater_id=rater.id, assignment_id=current.id,
                                                 kind="item_shown", payload={}, created_at=now))
    return view


def _screen(rater: m.Rater, current: m.Assignment | None, study: StudySnapshot) -> str:
    if rater.status in ("completed", "failed_attention", "timed_out", "withdrawn"):
        return "exit" if rater.status == "completed" and not rater.exit_answers else "done"
    if study.status != "live":
        return "closed"
    if rater.consented_at is None:
        return "consent"
    if rater.started_at is None:
        return "instructions"
    return "item" if current is not None else "exit"


def _unjudged(rater_id: int) -> Any:
    """The rater's assignments that have no judgment yet."""
    return (
        select(m.Assignment)
        .outerjoin(m.Judgment, m.Judgment.assignment_id == m.Assignment.id)
        .where(m.Assignment.rater_id == rater_id, m.Judgment.id.is_(None))
    )


def _progress(s: Session, rater_id: int) -> tuple[int, int, int]:
    """(assignments, judged, practice assignments) in one query."""
    total, judged, practice = s.execute(
        select(func.count(m.Assignment.id), func.count(m.Judgment.id),
               func.coalesce(func.sum(case((m.Assignment.stage == "practice", 1), else_=0)), 0))
        .select_from(m.Assignment)
        .outerjoin(m.Judgment, m.Judgment.assignment_id == m.Assignment.id)
        .where(m.Assignment.rater_id == rater_id)
    ).one()
    return int(total), int(judged), int(practice)


def _build_view(
    s: Session, study: StudySnapshot, config: StudyConfig, rater: m.Rater, now: datetime
) -> tuple[RaterView, m.Assignment | None]:
    """The view, and the current (first unjudged) assignment."""
    total, judged, n_practice = _progress(s, rater.id)
    current = s.scalars(
        _unjudged(rater.id).order_by(m.Assignment.position).limit(1)
        .options(joinedload(m.Assignment.item).selectinload(m.Item.sources), joinedload(m.Assignment.condition))
    ).first()
    screen = _screen(rater, current, study)
    cond = config.condition(_condition_key(rater)) if rater.condition_order else config.conditions[0]
    item_view = None
    if screen == "item" and current is not None:
        item_view = _item_view(s, config, rater, current)
    code = _code(config, rater.status)
    left = max(0, int((_deadline(rater, config) - now).total_seconds()))
    return RaterView(
        study_name=study.name,
        study_title=study.title,
        screen=screen,
        status=rater.status,
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
        seconds_left=left if rater.status in ("enrolled", "active") else None,
        extra={"design": config.design.type},
    ), current


def _code(config: StudyConfig, status: str) -> str | None:
    return {
        "completed": config.completion.completed,
        "failed_attention": config.completion.failed_attention,
        "timed_out": config.completion.timed_out,
    }.get(status)


def _item_view(s: Session, config: StudyConfig, rater: m.Rater, a: m.Assignment) -> ItemView:
    item = a.item
    cond = a.condition
    try:
        cond_config = config.condition(cond.key)
    except KeyError:  # a condition row the config no longer names
        cond_config = None
    assistance = None
    if cond.assistance != "none" and not a.is_attention_check:
        row = s.scalars(select(m.Assistance).where(m.Assistance.item_pk == item.id, m.Assistance.kind == cond.assistance)).one_or_none()
        assistance = dict(row.content) if row is not None else None
        if assistance is not None and cond.assistance == "debate" and rater.debate_flip:
            assistance = {**assistance, "sides": list(reversed(assistance.get("sides", [])))}
    return ItemView(
        assignment_id=a.id,
        item_id=item.item_id,
        position=a.position,
        stage=a.stage,
        is_attention_check=a.is_attention_check,
        claim=item.claim,
        context=item.context,
        sources=[{"title": src.title, "text": src.text, "url": src.url} for src in item.sources],
        condition=cond.key,
        assistance_kind=cond.assistance,
        assistance=assistance,
        initial_label=a.initial_label,
        initial_confidence=a.initial_confidence,
        instructions=cond_config.instructions if cond_config else "",
        warning=cond_config.warning if cond_config else "",
    )


def consent(engine: Engine, token: str, agreed: bool = True) -> None:
    """Record consent (or its refusal, which withdraws the rater)."""
    with write_session(engine) as s:
        rater = _rater(s, token)
        if rater.consented_at is None and rater.status == "enrolled":
            if agreed:
                rater.consented_at = m.utcnow()
                rater.status = "active"
            else:
                rater.status = "withdrawn"
                rater.finished_at = m.utcnow()
            s.add(m.Event(study_id=rater.study_id, rater_id=rater.id, kind="consent", payload={"agreed": agreed}))


def start(engine: Engine, token: str) -> None:
    """The rater has read the instructions."""
    with write_session(engine) as s:
        rater = _rater(s, token)
        if rater.started_at is None and rater.status == "active":
            rater.started_at = m.utcnow()
            s.add(m.Event(study_id=rater.study_id, rater_id=rater.id, kind="start"))


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
    """
    try:
        with write_session(engine) as s:
            rater, a, config, study = _open_assignment(s, token, assignment_id)
            prior = s.execute(
                select(m.Judgment.id, m.Judgment.label).where(m.Judgment.assignment_id == a.id)
            ).one_or_none()
            if prior is not None:
                return _result(prior.id, prior.label, a, rater, recorded=False)
            _answer_checks(config, label, confidence)
            _ensure_open(s, rater, config, study)
            if config.design.two_stage and not a.is_attention_check and a.initial_label is None:
                raise ServiceError("give your first answer before the final one")
            now = m.utcnow()
            judgment_id = s.execute(insert(m.Judgment).returning(m.Judgment.id).values(
                assignment_id=a.id,
                rater_id=rater.id,
                item_pk=a.item_pk,
                label=label,
                confidence=float(confidence),
                initial_label=a.initial_label,
                initial_confidence=a.initial_confidence,
                time_ms=int(((now - (a.shown_at or now)).total_seconds()) * 1000),
                active_ms=active_ms,
                client_submitted_at=client_submitted_at,
                submitted_at=now,
                submission_key=submission_key,
            )).scalar_one()
            _after_judgment(s, rater, a, config, label, now)
            return _result(judgment_id, label, a, rater, recorded=True)
    except IntegrityError:
        # A concurrent duplicate (another tab) won the unique constraint.
        with read_session(engine) as s:
            rater, a, _, _ = _open_assignment(s, token, assignment_id)
            prior = s.execute(select(m.Judgment.id, m.Judgment.label).where(m.Judgment.assignment_id == a.id)).one()
            return _result(prior.id, prior.label, a, rater, recorded=False)


def _after_judgment(s: Session, rater: m.Rater, a: m.Assignment, config: StudyConfig, label: str, now: datetime) -> None:
    kind = "judgment"
    if a.is_attention_check and label != a.item.gold_label:
        rater.attention_failures += 1
        kind = "attention_failed"
        if rater.attention_failures > config.max_attention_failures:
            rater.status, rater.finished_at = "failed_attention", now
    s.execute(insert(m.Event).values(study_id=rater.study_id, rater_id=rater.id, assignment_id=a.id, kind=kind,
                                     payload={}, created_at=now))
    left = s.scalar(select(func.count()).select_from(_unjudged(rater.id).subquery())) or 0
    if rater.status == "active" and left == 0:
        rater.status, rater.finished_at = "completed", now
        s.add(m.Event(study_id=rater.study_id, rater_id=rater.id, kind="completed"))
    rater.last_seen_at = now


def _result(judgment_id: int, label: str, a: m.Assignment, rater: m.Rater, *, recorded: bool) -> SubmitResult:
    practice = a.stage == "practice"
    gold = a.item.gold_label
    return SubmitResult(
        recorded=recorded,
        judgment_id=judgment_id,
        correct=(label == gold) if practice else None,
        gold_label=gold if practice else None,
        feedback=practice,
        status=rater.status,
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
