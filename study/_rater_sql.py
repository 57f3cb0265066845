"""Prebuilt SQLAlchemy Core statements and the per-process item cache of the rater hot path.

Private to :mod:`study.raters`, which is the public surface.
"""

from __future__ import annotations

import typing
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)

from study import models as m
from study.service import ServiceError

# # ``rater_view`` and ``submit_judgment`` run once per judgment, so they use SQLAlchemy
# Core statements built once here (compiled once per dialect, then served from the
# statement cache) and plain rows instead of ORM objects: one query for the rater and
# study, one for the rater's assignments (progress and current item together), and in
# ``submit_judgment`` four statements inside the write transaction. Item text, sources
# and frozen assistance come from a per-process cache (immutable once launched).

_R, _S, _A, _J, _C, _I, _SRC, _AS, _E = (
    typing.cast(Table, model.__table__)
    for model in (m.Rater, m.Study, m.Assignment, m.Judgment, m.Condition, m.Item, m.Source, m.Assistance, m.Event)
)

_Q_VIEW_RATER = (
    select(_R.c.id, _R.c.study_id, _R.c.status, _R.c.condition_order, _R.c.debate_flip, _R.c.enrolled_at,
           _R.c.consented_at.is_not(None), _R.c.started_at.is_not(None), _R.c.exit_answers,
           _S.c.name, _S.c.title, _S.c.status, _S.c.launched_at, cast(_S.c.config, Text))
    .join_from(_R, _S, _S.c.id == _R.c.study_id)
    .where(_R.c.token == bindparam("token", type_=String))
)
#: Every assignment of the rater in order, with whether it is judged: progress and
#: the current (first unjudged) item in one query.
_Q_VIEW_ASSIGNMENTS = (
    select(_A.c.id, _A.c.item_pk, _A.c.position, _A.c.stage, _A.c.is_attention_check, _A.c.shown_at.is_(None),
           _A.c.initial_label, _A.c.initial_confidence, _C.c.key, _C.c.assistance, _J.c.id.is_not(None))
    .select_from(_A.join(_C, _C.c.id == _A.c.condition_id).outerjoin(_J, _J.c.assignment_id == _A.c.id))
    .where(_A.c.rater_id == bindparam("rater_id", type_=Integer))
    .order_by(_A.c.position)
)
_Q_ITEM = select(_I.c.item_id, _I.c.claim, _I.c.context, _I.c.gold_label).where(_I.c.id == bindparam("pk", type_=Integer))
_Q_SOURCES = (select(_SRC.c.title, _SRC.c.text, _SRC.c.url)
              .where(_SRC.c.item_pk == bindparam("pk", type_=Integer)).order_by(_SRC.c.position))
_Q_ASSISTANCE = select(cast(_AS.c.content, Text)).where(
    _AS.c.item_pk == bindparam("pk", type_=Integer), _AS.c.kind == bindparam("kind", type_=String))
_U_SHOWN = (update(_A).where(_A.c.id == bindparam("aid", type_=Integer), _A.c.shown_at.is_(None))
            .values(shown_at=bindparam("now", type_=DateTime)))
_U_TIME_OUT = (update(_R)
               .where(_R.c.id == bindparam("rid", type_=Integer), _R.c.status.in_(("enrolled", "active")))
               .values(status="timed_out", finished_at=bindparam("now", type_=DateTime)))
_Q_PRIOR = select(_J.c.id, _J.c.label).where(_J.c.assignment_id == bindparam("aid", type_=Integer))
_INS_EVENT = insert(_E)
_shown = (update(_A).where(_A.c.id == bindparam("aid", type_=Integer), _A.c.shown_at.is_(None))
          .values(shown_at=bindparam("now", type_=DateTime)).returning(_A.c.id).cte("shown"))
#: PostgreSQL: set the first-shown time and log ``item_shown`` in one statement (the
#: event only if this request was the first to show it).
_SHOWN_WITH_EVENT = insert(_E).from_select(
    ["study_id", "rater_id", "assignment_id", "kind", "payload", "created_at"],
    select(bindparam("sid", type_=Integer), bindparam("rid", type_=Integer), _shown.c.id,
           literal("item_shown", String), bindparam("payload", type_=m.Event.__table__.c.payload.type),
           bindparam("now", type_=DateTime)).select_from(_shown),
)
_Q_RATER_IDS = select(_R.c.id, _R.c.study_id).where(_R.c.token == bindparam("token", type_=String))
_Q_EXISTING = (
    select(_R.c.token, _R.c.id, _R.c.condition_order)
    .select_from(_S.outerjoin(_R, and_(_R.c.study_id == _S.c.id, _R.c.external_id == bindparam("ext", type_=String))))
    .where(_S.c.name == bindparam("name", type_=String))
)
_U_CONSENT = (update(_R).where(_R.c.id == bindparam("rid", type_=Integer), _R.c.consented_at.is_(None),
                               _R.c.status == "enrolled")
              .values(consented_at=bindparam("now", type_=DateTime), status="active"))
_U_REFUSE = (update(_R).where(_R.c.id == bindparam("rid", type_=Integer), _R.c.consented_at.is_(None),
                              _R.c.status == "enrolled")
             .values(status="withdrawn", finished_at=bindparam("now", type_=DateTime)))
_U_START = (update(_R).where(_R.c.id == bindparam("rid", type_=Integer), _R.c.started_at.is_(None),
                             _R.c.status == "active")
            .values(started_at=bindparam("now", type_=DateTime)))
_INS_JUDGMENT = insert(_J).returning(_J.c.id)


def _q_open() -> Any:
    """Rater + study + the named assignment (if it is the rater's) + any prior judgment."""
    return (
        select(_R.c.id, _R.c.study_id, _R.c.status, _R.c.enrolled_at, _R.c.started_at.is_not(None),
               _R.c.attention_failures, _R.c.finished_at,
               _S.c.name, _S.c.title, _S.c.status, _S.c.launched_at, cast(_S.c.config, Text),
               _A.c.id, _A.c.item_pk, _A.c.stage, _A.c.is_attention_check, _A.c.shown_at,
               _A.c.initial_label, _A.c.initial_confidence, _J.c.id, _J.c.label)
        .select_from(
            _R.join(_S, _S.c.id == _R.c.study_id)
            .outerjoin(_A, and_(_A.c.id == bindparam("aid", type_=Integer), _A.c.rater_id == _R.c.id))
            .outerjoin(_J, _J.c.assignment_id == _A.c.id)
        )
        .where(_R.c.token == bindparam("token", type_=String))
    )


_Q_OPEN = _q_open()
#: PostgreSQL: lock the rater's row, so two tabs of one rater submit one after the
#: other (attention-failure count, completion); SQLite's write lock already does.
_Q_OPEN_LOCKED = _q_open().with_for_update(of=_R)

_a2, _j2 = _A.alias("a2"), _J.alias("j2")
#: True when the rater has no unjudged assignment left (sees this transaction's insert).
_ALL_JUDGED = ~exists().where(_a2.c.rater_id == _R.c.id, ~exists().where(_j2.c.assignment_id == _a2.c.id))
_U_AFTER_ACTIVE = (
    update(_R).where(_R.c.id == bindparam("rid", type_=Integer))
    .values(attention_failures=bindparam("failures", type_=Integer),
            last_seen_at=bindparam("now", type_=DateTime),
            status=case((_ALL_JUDGED, "completed"), else_=_R.c.status),
            finished_at=case((_ALL_JUDGED, bindparam("now", type_=DateTime)), else_=_R.c.finished_at))
    .returning(_R.c.status)
)
_U_AFTER_FINAL = (
    update(_R).where(_R.c.id == bindparam("rid", type_=Integer))
    .values(attention_failures=bindparam("failures", type_=Integer), last_seen_at=bindparam("now", type_=DateTime),
            status=bindparam("new_status", type_=String), finished_at=bindparam("now", type_=DateTime))
    .returning(_R.c.status)
)

_after = _U_AFTER_ACTIVE.cte("rater_after")
_EVENT_COLS = ["study_id", "rater_id", "assignment_id", "kind", "payload", "created_at"]
_PAYLOAD_T = _E.c.payload.type
#: PostgreSQL: the rater update (completion when nothing is left unjudged) and its
#: events in one statement; returns the kinds of the events written.
_AFTER_WITH_EVENTS = insert(_E).from_select(_EVENT_COLS, union_all(
    select(bindparam("sid", type_=Integer), bindparam("rid", type_=Integer), bindparam("aid", type_=Integer),
           bindparam("kind", type_=String), bindparam("payload", type_=_PAYLOAD_T), bindparam("now", type_=DateTime))
    .select_from(_after),
    select(bindparam("sid", type_=Integer), bindparam("rid", type_=Integer), null(),
           literal("completed", String), bindparam("payload", type_=_PAYLOAD_T), bindparam("now", type_=DateTime))
    .select_from(_after).where(_after.c.status == "completed"),
)).returning(_E.c.kind)

_URL_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _url_key(engine: Engine) -> str:
    key = _URL_KEYS.get(engine)
    if key is None:
        key = _URL_KEYS[engine] = str(engine.url)
    return key


#: Item text/sources and assistance JSON of launched studies, per process. Items can
#: only be imported into draft studies and assistance is frozen at launch, so an entry
#: never goes stale; the key includes the database URL, study id and launch time
#: (a re-created database with reused ids has another launch time).
_CONTENT_CACHE: dict[tuple[Any, ...], Any] = {}
_CONTENT_CACHE_SIZE = 8192


def _cache_put(key: tuple[Any, ...], value: Any) -> None:
    if len(_CONTENT_CACHE) >= _CONTENT_CACHE_SIZE:
        _CONTENT_CACHE.clear()
    _CONTENT_CACHE[key] = value


def _item_content(conn: Connection, stamp: tuple[Any, ...] | None, item_pk: int) -> tuple[str, str, str | None, str, tuple[tuple[str, str, str | None], ...]]:
    """(item_id, claim, context, gold_label, sources) of an item."""
    key = (*stamp, "item", item_pk) if stamp else None
    hit = _CONTENT_CACHE.get(key) if key else None
    if hit is None:
        row = conn.execute(_Q_ITEM, {"pk": item_pk}).one()
        sources = tuple(tuple(r) for r in conn.execute(_Q_SOURCES, {"pk": item_pk}))
        hit = (row[0], row[1], row[2], row[3], sources)
        if key:
            _cache_put(key, hit)
    return hit


def _gold_label(conn: Connection, stamp: tuple[Any, ...] | None, item_pk: int) -> str:
    key = (*stamp, "item", item_pk) if stamp else None
    hit = _CONTENT_CACHE.get(key) if key else None
    if hit is not None:
        return hit[3]
    return str(conn.execute(select(_I.c.gold_label).where(_I.c.id == item_pk)).scalar_one())


def _assistance_json(conn: Connection, stamp: tuple[Any, ...] | None, item_pk: int, kind: str) -> str | None:
    key = (*stamp, "assist", item_pk, kind) if stamp else None
    if key and key in _CONTENT_CACHE:
        return _CONTENT_CACHE[key]
    text_ = conn.execute(_Q_ASSISTANCE, {"pk": item_pk, "kind": kind}).scalar_one_or_none()
    if key:
        _cache_put(key, text_)
    return text_


def _stamp(engine: Engine, study_id: int, launched_at: datetime | None) -> tuple[Any, ...] | None:
    """Cache key prefix for a launched study's immutable content (None: do not cache)."""
    return (_url_key(engine), study_id, launched_at) if launched_at is not None else None


def _check_token(token: str) -> None:
    if not token or not isinstance(token, str) or len(token) > 64 or not token.isprintable():
        raise ServiceError("unknown rater")  # PostgreSQL refuses NUL outright


