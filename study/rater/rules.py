"""The rules every rater reader and writer shares: deadline, refusal, slot, condition.

- **Deadline.** A rater may answer until ``enrolled_at + time_limit_minutes``
  (:func:`deadline`; consent sets ``enrolled_at``, so the limit runs from consent);
  in SQL the same instant is ``enrolled_at < now - time_limit`` (:func:`past_deadline`).
  A rater still ``active`` after it is treated as timed out everywhere (monitor,
  balancing, submissions). A visit that has not consented (``enrolled``) holds nothing
  and never times out: it is deleted after ``unconsented_expiry_minutes`` instead.
- **Refusal.** :func:`refusal` says why an answer cannot be recorded, in one order.
- **Slot.** A rater holds a slot (counts for balancing and item loads) when
  completed, or enrolled/active and not past the deadline (:func:`alive_clause`).
- **Condition.** The one stored fact saying which condition a rater is in is
  ``Rater.condition_id``; read it through :func:`rater_condition_key` (SQL) or
  :func:`rater_condition` (Python). For a within-subjects design this is the
  rater's *first* block, ``condition_order[0]``; each assignment's
  ``Assignment.condition_id`` (:func:`assignment_condition_key`) is the condition of
  that item's block, which is what the item screen shows. In a between-subjects
  design every assignment carries the rater's condition. The condition's details
  (assistance kind, label, instructions, warning) always come from the study's
  typed config: ``StudyConfig.condition(key)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, literal, or_, select
from sqlalchemy.orm import Session

from study import models as m
from study.config import StudyConfig

__all__ = [
    "OPEN_STATUSES",
    "AnswerState",
    "alive_clause",
    "answer_problem",
    "counted_judgment",
    "counted_rater",
    "assignment_condition_key",
    "assignment_condition_on",
    "deadline",
    "effective_status",
    "is_due",
    "past_deadline",
    "rater_condition",
    "rater_condition_key",
    "rater_condition_on",
    "refusal",
]

#: Statuses of a rater who may still answer (if inside the time limit).
OPEN_STATUSES = ("enrolled", "active")


def deadline(enrolled_at: datetime, config: StudyConfig) -> datetime:
    """The last instant a rater enrolled at ``enrolled_at`` may answer."""
    return enrolled_at + timedelta(minutes=config.time_limit_minutes)


def is_due(status: str, enrolled_at: datetime, config: StudyConfig, now: datetime) -> bool:
    """True when a consented rater still answering (active) is past the deadline at ``now``."""
    return status == "active" and now > deadline(enrolled_at, config)


def past_deadline(config: StudyConfig, now: datetime) -> Any:
    """SQL: the rater is answering (active) and past the deadline at ``now``."""
    cutoff = now - timedelta(minutes=config.time_limit_minutes)
    return and_(m.Rater.status == "active", m.Rater.enrolled_at < cutoff)


def alive_clause(config: StudyConfig, now: datetime) -> Any:
    """SQL: raters who hold a slot, i.e. completed, or open and inside the time limit."""
    cutoff = now - timedelta(minutes=config.time_limit_minutes)
    return or_(
        m.Rater.status == "completed",
        and_(m.Rater.status.in_(OPEN_STATUSES), m.Rater.enrolled_at >= cutoff),
    )


def counted_rater() -> Any:
    """SQL: the rater counts in the study's numbers (balancing, monitor): not a test rater."""
    return m.Rater.is_test.is_(False)


_TEST_RATER = m.Rater.__table__.alias("test_rater")


def counted_judgment() -> Any:
    """SQL (correlated to the enclosing query's judgment row): not a test rater's judgment."""
    return ~exists().where(_TEST_RATER.c.id == m.Judgment.rater_id, _TEST_RATER.c.is_test.is_(True))


def effective_status(config: StudyConfig, now: datetime) -> Any:
    """SQL: the rater's status, with open raters past the deadline counted as timed out."""
    return case((past_deadline(config, now), literal("timed_out")), else_=m.Rater.status)


_RATER_COND = m.Condition.__table__.alias("rater_condition")
_ASSIGNMENT_COND = m.Condition.__table__.alias("assignment_condition")
_RATER_T = m.Rater.__table__
_ASSIGNMENT_T = m.Assignment.__table__


def rater_condition_key() -> Any:
    """SQL (correlated to the enclosing query's rater row): the key of the rater's condition.

    The stored fact is ``Rater.condition_id`` (within-subjects: the first block).
    """
    return (select(_RATER_COND.c.key).where(_RATER_COND.c.id == _RATER_T.c.condition_id)
            .correlate(_RATER_T).scalar_subquery())


def assignment_condition_key() -> Any:
    """SQL (correlated to the enclosing query's assignment row): the item's condition key.

    Within-subjects: the condition of the item's block; between: the rater's condition.
    """
    return (select(_ASSIGNMENT_COND.c.key).where(_ASSIGNMENT_COND.c.id == _ASSIGNMENT_T.c.condition_id)
            .correlate(_ASSIGNMENT_T).scalar_subquery())


def rater_condition_on(rater: Any, condition: Any) -> Any:
    """Join condition: ``condition`` is the condition of ``rater`` (tables or aliases).

    The same stored fact as :func:`rater_condition_key`, as a join (the rater screen).
    """
    return condition.c.id == rater.c.condition_id


def assignment_condition_on(assignment: Any, condition: Any) -> Any:
    """Join condition: ``condition`` is the condition of ``assignment`` (tables or aliases).

    The same stored fact as :func:`assignment_condition_key`, for queries that read
    many assignments at once (the rater screen), where a join is cheaper than a
    correlated subquery per row.
    """
    return condition.c.id == assignment.c.condition_id


def rater_condition(session: Session, rater_id: int) -> str:
    """The key of the condition rater ``rater_id`` is in ("" if none is stored)."""
    key = session.scalar(select(rater_condition_key()).where(_RATER_T.c.id == rater_id))
    return str(key) if key is not None else ""


@dataclass(frozen=True)
class AnswerState:
    """What an answer is checked against: the rater, the study and the assignment."""

    status: str
    enrolled_at: datetime
    started: bool
    study_status: str
    is_check: bool
    initial_label: str | None


def answer_problem(config: StudyConfig, label: str, confidence: float) -> str | None:
    """Why ``label``/``confidence`` is not a valid answer in this study (None: it is)."""
    if label not in config.labels:
        return f"label {label!r} is not one of {config.labels}"
    if not (config.confidence.min - 1e-9 <= float(confidence) <= config.confidence.max + 1e-9):
        return f"confidence {confidence} is outside [{config.confidence.min}, {config.confidence.max}]"
    return None


def refusal(config: StudyConfig, state: AnswerState, label: str, confidence: float, now: datetime, *,
            initial: bool = False) -> str | None:
    """Why this answer cannot be recorded (None: it can), checked in this order:

    the answer itself; (initial answers) whether the study has them; the deadline;
    the rater's status (active and started); the study's status (live); (final
    answers in a two-stage study, not attention checks) whether the first answer was given.
    """
    problem = answer_problem(config, label, confidence)
    if problem is not None:
        return problem
    if initial and not config.design.two_stage:
        return "this study has no initial answers"
    if is_due(state.status, state.enrolled_at, config, now):
        return "time limit exceeded"
    if state.status != "active" or not state.started:
        return f"no more answers accepted (status {state.status})"
    if state.study_status != "live":
        return f"study is {state.study_status}"
    if not initial and config.design.two_stage and not state.is_check and state.initial_label is None:
        return "give your first answer before the final one"
    return None
