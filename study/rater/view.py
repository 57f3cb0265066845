"""What the rater sees: the rater's screen, the item screen and the console's preview.

The screen is read in one or two short transactions; the only writes are the time
the current item was first shown (and its ``item_shown`` event) and, when due, the
time-out. The condition shown is the rater's stored condition; the item's is its
assignment's (they differ only in within-subjects designs, see
:mod:`study.rater.rules`); every detail of a condition comes from the typed config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine

from study import models as m
from study.config import StudyConfig
from study.db import is_sqlite, write_transaction
from study.rater import _sql as q
from study.rater.rules import OPEN_STATUSES, deadline, is_due
from study.service import ServiceError, cached_config

__all__ = ["ItemView", "RaterView", "preview_item", "rater_view"]


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
class _Read:
    """One read of the rater's screen: ``view`` None when a time-out is due first."""

    view: RaterView | None
    unshown: int | None  # the shown item's assignment id, if not yet marked shown
    rater_id: int
    study_id: int


def rater_view(engine: Engine, token: str, *, mark_shown: bool = True) -> RaterView:
    """The rater's current screen; records when the current item was first shown.

    SQLite: the view is read in a read transaction; the only writes (the first-shown
    time, a time-out) are short transactions of their own, so showing an item holds
    the single write lock for two statements rather than the whole page.
    PostgreSQL (no single writer lock): one transaction, and the first-shown time and
    its event are one statement. Either way, one pooled connection.
    """
    q.check_token(token)
    now = m.utcnow()
    with engine.connect() as conn:
        if is_sqlite(engine):
            with conn.begin():
                read = _read_view(conn, token, now)
            if read.view is None:  # past the time limit while enrolled/active: record the time-out
                with write_transaction(conn):
                    _time_out(conn, read.rater_id, read.study_id, now)
                with conn.begin():
                    read = _read_view(conn, token, now, allow_due=True)
            if mark_shown and read.unshown is not None:
                with write_transaction(conn):
                    if conn.execute(q.U_SHOWN, {"aid": read.unshown, "now": now}).rowcount:  # another tab may have shown it
                        conn.execute(q.INS_EVENT, {"study_id": read.study_id, "rater_id": read.rater_id,
                                                   "assignment_id": read.unshown, "kind": "item_shown",
                                                   "payload": {}, "created_at": now})
        else:
            with conn.begin():
                read = _read_view(conn, token, now)
                if read.view is None:
                    _time_out(conn, read.rater_id, read.study_id, now)
                    read = _read_view(conn, token, now, allow_due=True)
                if mark_shown and read.unshown is not None:
                    conn.execute(q.SHOWN_WITH_EVENT, {"aid": read.unshown, "now": now, "sid": read.study_id,
                                                      "rid": read.rater_id, "payload": {}})
    assert read.view is not None
    return read.view


def _time_out(conn: Connection, rater_id: int, study_id: int, now: datetime) -> None:
    if conn.execute(q.U_TIME_OUT, {"rid": rater_id, "now": now}).rowcount:
        conn.execute(q.INS_EVENT, {"study_id": study_id, "rater_id": rater_id, "kind": "timed_out",
                                   "payload": {}, "created_at": now})


def _read_view(conn: Connection, token: str, now: datetime, *, allow_due: bool = False) -> _Read:
    """Read the rater's screen in the caller's transaction on ``conn``."""
    r = q.one(conn, q.Q_VIEW_RATER, q.ViewRater, {"token": token})
    if r is None:
        raise ServiceError("unknown rater")
    config = cached_config(q.url_key(conn.engine), r.study_id, r.name, r.config_text)
    if is_due(r.status, r.enrolled_at, config, now) and not allow_due:
        return _Read(None, None, r.rater_id, r.study_id)
    rows = q.every(conn, q.Q_VIEW_ASSIGNMENTS, q.ViewAssignment, {"rater_id": r.rater_id})
    current = next((a for a in rows if not a.judged), None)
    screen = _screen(r, current is not None)
    item = None
    if screen == "item" and current is not None:
        item = _item_view(conn, q.stamp(conn.engine, r.study_id, r.launched_at), config, r.debate_flip, current)
    view = _rater_view(r, config, screen, item, now, progress=(
        sum(1 for a in rows if a.judged), len(rows), sum(1 for a in rows if a.stage == "practice")))
    unshown = current.aid if item is not None and current is not None and current.unshown else None
    return _Read(view, unshown, r.rater_id, r.study_id)


def _screen(r: q.ViewRater, has_item: bool) -> str:
    if r.status in m.FINAL_RATER_STATUSES:
        return "exit" if r.status == "completed" and not r.exit_answers else "done"
    if r.study_status != "live":
        return "closed"
    if not r.consented:
        return "consent"
    if not r.started:
        return "instructions"
    return "item" if has_item else "exit"


def _rater_view(r: q.ViewRater, config: StudyConfig, screen: str, item: ItemView | None, now: datetime, *,
                progress: tuple[int, int, int]) -> RaterView:
    """``progress`` = (judged, total, practice) assignments."""
    # Before consent no condition is chosen, and the screen shows none.
    cond = config.condition(r.condition) if r.condition else None
    code = _code(config, r.status)
    left = max(0, int((deadline(r.enrolled_at, config) - now).total_seconds()))
    judged, total, n_practice = progress
    return RaterView(
        study_name=r.name,
        study_title=r.title,
        screen=screen,
        status=r.status,
        condition=cond.key if cond else "",
        assistance_kind=cond.assistance if cond else "",
        condition_instructions=cond.instructions if cond else "",
        two_stage=config.design.two_stage,
        labels=list(config.labels),
        confidence_min=config.confidence.min,
        confidence_max=config.confidence.max,
        confidence_step=config.confidence.step,
        show_sources=config.show_sources,
        position=judged,
        total=total,
        n_practice=n_practice,
        item=item,
        completion_code=code,
        redirect_url=(config.completion.redirect_url.replace("{code}", quote(code, safe=""))
                      if code and config.completion.redirect_url else None),
        consent_text=config.consent_text,
        seconds_left=left if r.status in OPEN_STATUSES else None,
        extra={"design": config.design.type},
    )


def _code(config: StudyConfig, status: str) -> str | None:
    return {
        "completed": config.completion.completed,
        "failed_attention": config.completion.failed_attention,
        "timed_out": config.completion.timed_out,
    }.get(status)


def _item_view(conn: Connection, stamp: q.Stamp | None, config: StudyConfig, debate_flip: bool,
               a: q.ViewAssignment) -> ItemView:
    content = q.item_content(conn, stamp, a.item_pk)
    cond = config.condition(a.condition)
    kind = cond.assistance
    assistance = None
    if kind != "none" and not a.is_check:
        text_ = q.assistance_json(conn, stamp, a.item_pk, kind)
        assistance = json.loads(text_) if text_ is not None else None  # a fresh copy every time
        if isinstance(assistance, dict) and kind == "debate" and debate_flip:
            assistance["sides"] = list(reversed(assistance.get("sides", [])))
    return ItemView(
        assignment_id=a.aid,
        item_id=content.item_id,
        position=a.position,
        stage=a.stage,
        is_attention_check=bool(a.is_check),
        claim=content.claim,
        context=content.context,
        sources=[{"title": s.title, "text": s.text, "url": s.url} for s in content.sources],
        condition=cond.key,
        assistance_kind=kind,
        assistance=assistance,
        initial_label=a.initial_label,
        initial_confidence=a.initial_confidence,
        instructions=cond.instructions,
        warning=cond.warning,
    )


def preview_item(conn: Connection, config: StudyConfig, item_pk: int, role: str, condition: str, *,
                 debate_flip: bool = False, initial: tuple[str, float] | None = None) -> ItemView:
    """The :class:`ItemView` a rater in ``condition`` gets for this item (nothing is recorded).

    Built by the same code as the rater's own view; ``assignment_id`` is 0 and
    ``initial`` = (label, confidence) shows a two-stage trial after the reveal.
    """
    label, conf = initial if initial is not None else (None, None)
    row = q.ViewAssignment(aid=0, item_pk=item_pk, position=0, stage="practice" if role == "practice" else "main",
                           is_check=role == "attention_check", unshown=False, initial_label=label,
                           initial_confidence=conf, condition=condition, judged=False)
    return _item_view(conn, None, config, debate_flip, row)
