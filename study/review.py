"""The experimenter's review of raters: approve, reject, exclude, recorded as events.

A review is an event on the rater (``review_approve``, ``review_reject``,
``review_exclude``, ``review_include``) with ``{"reason": ..., "by": ...}`` as payload;
the latest event decides. Two separate questions:

* **payment** (Prolific): the latest of ``review_approve`` / ``review_reject``;
  :func:`approvals_frame` is the list to apply in Prolific, :func:`bonus_frame` the
  bulk-bonus list from the study's ``bonus`` rule (rejected raters get none);
* **analysis**: the latest of ``review_exclude`` / ``review_include``. Excluded raters
  carry ``excluded_by_experimenter = true`` in the export, and :func:`drop_excluded`
  (used by ``oversight analyze --study`` and the dashboard) leaves them out, saying
  how many in a note.

Reasons are required to reject or exclude (Prolific asks for one on rejection). Test
raters (``rater.is_test``) are never in the Prolific lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlalchemy import Engine, select

from study import models as m
from study.bonus import BonusRule, bonus_amount
from study.db import read_session, write_session
from study.experimenter_exclusions import EXCLUDED as EXCLUDED
from study.experimenter_exclusions import drop_excluded as drop_excluded
from study.service import ServiceError, _study

__all__ = [
    "APPROVAL_COLUMNS",
    "BONUS_COLUMNS",
    "DECISIONS",
    "REVIEW_COLUMNS",
    "Review",
    "approvals_frame",
    "bonus_amount",
    "bonus_frame",
    "drop_excluded",
    "excluded_raters",
    "review",
    "reviews",
]

Decision = Literal["approve", "reject", "exclude", "include"]
#: Review decisions and the event kind each is recorded as.
DECISIONS: dict[str, str] = {d: f"review_{d}" for d in ("approve", "reject", "exclude", "include")}
_NEEDS_REASON = ("reject", "exclude")
#: Columns of :func:`reviews`.
REVIEW_COLUMNS = ["rater_id", "payment", "payment_reason", "excluded", "exclusion_reason", "reviewed_at"]
#: Columns of the Prolific approvals list (``approvals.csv``).
APPROVAL_COLUMNS = ["participant_id", "decision", "reason"]
#: Columns of Prolific's bulk bonus list (``bonus.csv``).
BONUS_COLUMNS = ["participant_id", "amount"]
#: The tidy judgments column that marks an experimenter exclusion.


@dataclass(frozen=True)
class Review:
    """A rater's current review: payment decision and analysis exclusion (with reasons)."""

    payment: str  # "approve", "reject" or "" (not decided)
    payment_reason: str
    excluded: bool
    exclusion_reason: str


def review(engine: Engine, name: str, rater_ids: Sequence[str], decision: str, reason: str = "", *,
           by: str = "console") -> int:
    """Record ``decision`` for each rater (all or nothing); returns how many.

    ``decision``: approve, reject, exclude or include (undo an exclusion). Reject and
    exclude need a ``reason``. Unknown rater ids raise :class:`ServiceError`.
    """
    if decision not in DECISIONS:
        raise ServiceError(f"unknown review decision {decision!r}; use one of {', '.join(DECISIONS)}")
    reason = reason.strip()
    if decision in _NEEDS_REASON and not reason:
        raise ServiceError(f"give a reason to {decision} a rater")
    wanted = list(dict.fromkeys(rater_ids))
    with write_session(engine) as s:
        study = _study(s, name)
        ids = dict(s.execute(select(m.Rater.external_id, m.Rater.id).where(
            m.Rater.study_id == study.id, m.Rater.external_id.in_(wanted))).all())
        unknown = [r for r in wanted if r not in ids]
        if unknown:
            raise ServiceError(f"study {name!r} has no rater {unknown[0]!r}; nothing recorded")
        for rid in wanted:
            s.add(m.Event(study_id=study.id, rater_id=ids[rid], kind=DECISIONS[decision],
                          payload={"reason": reason[:2000], "by": by[:40]}))
    return len(wanted)


def _latest(engine: Engine, name: str) -> dict[str, dict[str, tuple[str, str, object]]]:
    """rater external id -> {"payment"|"analysis": (decision, reason, time)} from the newest events."""
    kinds = {v: k for k, v in DECISIONS.items()}
    with read_session(engine) as s:
        study = _study(s, name)
        rows = s.execute(
            select(m.Rater.external_id, m.Event.kind, m.Event.payload, m.Event.created_at)
            .join(m.Rater, m.Rater.id == m.Event.rater_id)
            .where(m.Event.study_id == study.id, m.Event.kind.in_(list(kinds)))
            .order_by(m.Event.id)
        ).all()
    out: dict[str, dict[str, tuple[str, str, object]]] = {}
    for rid, kind, payload, at in rows:
        decision = kinds[kind]
        part = "payment" if decision in ("approve", "reject") else "analysis"
        out.setdefault(rid, {})[part] = (decision, str((payload or {}).get("reason", "")), at)
    return out


def reviews(engine: Engine, name: str) -> pd.DataFrame:
    """One row per reviewed rater (:data:`REVIEW_COLUMNS`); ``reviewed_at`` = latest review (UTC)."""
    rows = []
    for rid, parts in _latest(engine, name).items():
        pay = parts.get("payment", ("", "", None))
        ana = parts.get("analysis", ("include", "", None))
        times = [t for t in (pay[2], ana[2]) if t is not None]
        rows.append((rid, pay[0], pay[1], ana[0] == "exclude", ana[1] if ana[0] == "exclude" else "", max(times)))  # type: ignore[type-var]
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)


def excluded_raters(engine: Engine, name: str) -> set[str]:
    """External ids of the raters the experimenter excluded from analysis."""
    return {rid for rid, parts in _latest(engine, name).items() if parts.get("analysis", ("",))[0] == "exclude"}


def _participant(pid: str | None, external_id: str) -> str:
    return pid or external_id


def approvals_frame(engine: Engine, name: str) -> pd.DataFrame:
    """Prolific approvals: one row per rater with a payment decision (:data:`APPROVAL_COLUMNS`).

    ``participant_id`` is the Prolific PID (the rater id when none was given);
    ``decision`` is ``APPROVE`` or ``REJECT``, ``reason`` the review's reason.
    """
    latest = _latest(engine, name)
    with read_session(engine) as s:
        study = _study(s, name)
        raters = s.execute(select(m.Rater.external_id, m.Rater.prolific_pid)
                           .where(m.Rater.study_id == study.id, m.Rater.is_test.is_(False)).order_by(m.Rater.id)).all()
    rows = [(_participant(pid, rid), latest[rid]["payment"][0].upper(), latest[rid]["payment"][1])
            for rid, pid in raters if "payment" in latest.get(rid, {})]
    return pd.DataFrame(rows, columns=APPROVAL_COLUMNS)


def bonus_frame(engine: Engine, name: str, judgments: pd.DataFrame, rule: BonusRule) -> pd.DataFrame:
    """Prolific bulk bonus (:data:`BONUS_COLUMNS`): one row per rater earning more than 0.

    Correct answers are counted on main items (no practice, no attention checks) of
    ``judgments`` (the tidy export table); raters rejected in the review get nothing.
    """
    latest = _latest(engine, name)
    main = judgments[~judgments["is_practice"].astype(bool) & ~judgments["is_attention_check"].astype(bool)]
    correct = main.groupby("rater_id")["correct"].sum().to_dict() if len(main) else {}
    with read_session(engine) as s:
        study = _study(s, name)
        raters = s.execute(select(m.Rater.external_id, m.Rater.prolific_pid, m.Rater.status)
                           .where(m.Rater.study_id == study.id, m.Rater.is_test.is_(False)).order_by(m.Rater.id)).all()
    rows = []
    for rid, pid, status in raters:
        if status not in rule.statuses or latest.get(rid, {}).get("payment", ("",))[0] == "reject":
            continue
        amount = bonus_amount(rule, int(correct.get(rid, 0)))
        if amount > 0:
            rows.append((_participant(pid, rid), f"{amount:.2f}"))
    return pd.DataFrame(rows, columns=BONUS_COLUMNS)
