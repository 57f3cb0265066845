"""The comprehension check: questions about the instructions, before the first item.

A study with ``comprehension`` in its config starts by passing the check instead of
pressing Start: every question answered right starts the rater (``started_at``, event
``start``). A failed attempt counts in ``rater.comprehension_failures``; when the
failures reach ``comprehension.attempts`` (at most two, as Prolific allows) the session
ends with status ``failed_comprehension`` and the check's own ``fail_code``. Every
attempt is an event ``comprehension`` with the answers given and which were wrong.
The right answers never leave the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from study import models as m
from study.db import write_session
from study.rater.answers import _rater
from study.rater.rules import is_due
from study.service import ServiceError, study_snapshot

__all__ = ["ComprehensionResult", "check_comprehension"]


@dataclass(frozen=True)
class ComprehensionResult:
    """One attempt's outcome: ``wrong`` holds the 0-based indices of wrong answers."""

    passed: bool
    attempts_left: int
    status: str
    wrong: tuple[int, ...] = ()


def check_comprehension(engine: Engine, token: str, answers: Sequence[str | None]) -> ComprehensionResult:
    """Grade one attempt (answers in question order; None = not answered).

    Passing starts the rater; the last failed attempt ends the session. A rater who
    already passed gets ``passed=True`` again and nothing changes.
    """
    now = m.utcnow()
    with write_session(engine) as s:
        rater = _rater(s, token)
        study = study_snapshot(s, rater.study_id)
        check = study.config.comprehension
        if check is None:
            raise ServiceError("this study has no comprehension check")
        if rater.started_at is not None:
            return ComprehensionResult(True, 0, rater.status)
        if is_due(rater.status, rater.enrolled_at, study.config, now):
            rater.status, rater.finished_at = "timed_out", now
            return ComprehensionResult(False, 0, rater.status)
        if rater.status != "active" or study.status != "live":
            raise ServiceError(f"no more answers accepted (status {rater.status}, study {study.status})")
        given = [*answers, *([None] * len(check.questions))][: len(check.questions)]
        wrong = tuple(i for i, (q, a) in enumerate(zip(check.questions, given, strict=True)) if a != q.answer)
        attempt = rater.comprehension_failures + 1
        s.add(m.Event(study_id=study.id, rater_id=rater.id, kind="comprehension", created_at=now,
                      payload={"attempt": attempt, "answers": [str(a)[:500] if a is not None else None for a in given],
                               "wrong": list(wrong), "passed": not wrong}))
        rater.last_seen_at = now
        if not wrong:
            rater.started_at = now
            s.add(m.Event(study_id=study.id, rater_id=rater.id, kind="start", created_at=now))
            return ComprehensionResult(True, check.attempts - attempt + 1, rater.status)
        rater.comprehension_failures = attempt
        if attempt >= check.attempts:
            rater.status, rater.finished_at = "failed_comprehension", now
            s.add(m.Event(study_id=study.id, rater_id=rater.id, kind="failed_comprehension", created_at=now))
        return ComprehensionResult(False, max(0, check.attempts - attempt), rater.status, wrong)
