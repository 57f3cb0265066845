"""Prebuilt SQLAlchemy Core statements, their named row types and the item cache.

Private to :mod:`study.rater`. ``rater_view`` and ``submit_judgment`` run once per
judgment, so they use Core statements built once here (compiled once per dialect,
then served from the statement cache): one query for the rater and study, one for
the rater's assignments (progress and current item together), and in
``submit_judgment`` four statements inside the write transaction. Item text, sources
and frozen assistance come from a per-process cache (immutable once launched).

Every select names its columns (``_named``) and its rows are read by name into the
row class of the same field names (:func:`one` / :func:`every`); a test checks that
each query's labels and its row class agree.
"""

from __future__ import annotations

import typing
import weakref
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

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
from study.rater.rules import OPEN_STATUSES, assignment_condition_on, rater_condition_key, rater_condition_on
from study.service import ServiceError

R, S, A, J, C, IT, SRC, AS, E = (
    typing.cast(Table, model.__table__)
    for model in (m.Rater, m.Study, m.Assignment, m.Judgment, m.Condition, m.Item, m.Source, m.Assistance, m.Event)
)
T = TypeVar("T", bound=tuple[Any, ...])


def _named(columns: Mapping[str, Any]) -> list[Any]:
    return [col.label(name) for name, col in columns.items()]


def _checked(result: Any, row_type: type[Any]) -> None:
    names = tuple(result.keys())
    if names != row_type._fields:
        raise TypeError(f"{row_type.__name__} has fields {row_type._fields}, the query returns {names}")


def one(conn: Connection, stmt: Any, row_type: type[T], params: Mapping[str, Any]) -> T | None:
    """The single row of ``stmt`` as a ``row_type`` (None: no row).

    ``row_type`` is a NamedTuple whose field names must equal the query's column
    labels, in order (checked on every call, so a row can never be read into the
    wrong fields); rows are then made without a per-row dict.
    """
    result = conn.execute(stmt, params)
    _checked(result, row_type)
    row = result.one_or_none()
    return None if row is None else tuple.__new__(row_type, row)


def every(conn: Connection, stmt: Any, row_type: type[T], params: Mapping[str, Any]) -> list[T]:
    """Every row of ``stmt`` as a ``row_type`` (field names checked as in :func:`one`)."""
    result = conn.execute(stmt, params)
    _checked(result, row_type)
    return [tuple.__new__(row_type, row) for row in result]


class ViewRater(NamedTuple):
    """The rater and study as the rater screen needs them."""

    rater_id: int
    study_id: int
    status: str
    condition: str | None
    debate_flip: bool
    enrolled_at: datetime
    consented: bool
    started: bool
    exit_answers: dict[str, Any] | None
    name: str
    title: str
    study_status: str
    launched_at: datetime | None
    config_text: str


_RC = C.alias("rater_condition")
VIEW_RATER_COLUMNS = {
    "rater_id": R.c.id, "study_id": R.c.study_id, "status": R.c.status, "condition": _RC.c.key,
    "debate_flip": R.c.debate_flip, "enrolled_at": R.c.enrolled_at, "consented": R.c.consented_at.is_not(None),
    "started": R.c.started_at.is_not(None), "exit_answers": R.c.exit_answers, "name": S.c.name,
    "title": S.c.title, "study_status": S.c.status, "launched_at": S.c.launched_at,
    "config_text": cast(S.c.config, Text),
}
Q_VIEW_RATER = (select(*_named(VIEW_RATER_COLUMNS))
                .select_from(R.join(S, S.c.id == R.c.study_id).outerjoin(_RC, rater_condition_on(R, _RC)))
                .where(R.c.token == bindparam("token", type_=String)))


class ViewAssignment(NamedTuple):
    """One assignment of the rater with whether it is judged (``condition``: the item's)."""

    aid: int
    item_pk: int
    position: int
    stage: str
    is_check: bool
    unshown: bool
    initial_label: str | None
    initial_confidence: float | None
    condition: str
    judged: bool


VIEW_ASSIGNMENT_COLUMNS = {
    "aid": A.c.id, "item_pk": A.c.item_pk, "position": A.c.position, "stage": A.c.stage,
    "is_check": A.c.is_attention_check, "unshown": A.c.shown_at.is_(None), "initial_label": A.c.initial_label,
    "initial_confidence": A.c.initial_confidence, "condition": C.c.key, "judged": J.c.id.is_not(None),
}
#: Every assignment of the rater in order, with whether it is judged: progress and
#: the current (first unjudged) item in one query. The item's condition is the
#: assignment's stored ``condition_id`` (see :mod:`study.rater.rules`).
Q_VIEW_ASSIGNMENTS = (
    select(*_named(VIEW_ASSIGNMENT_COLUMNS))
    .select_from(A.join(C, assignment_condition_on(A, C)).outerjoin(J, J.c.assignment_id == A.c.id))
    .where(A.c.rater_id == bindparam("rater_id", type_=Integer))
    .order_by(A.c.position)
)


class SourceRow(NamedTuple):
    title: str
    text: str
    url: str | None


class ItemContent(NamedTuple):
    """An item's immutable content (cached per launched study)."""

    item_id: str
    claim: str
    context: str | None
    gold_label: str
    sources: tuple[SourceRow, ...]


Q_ITEM = (select(IT.c.item_id.label("item_id"), IT.c.claim.label("claim"), IT.c.context.label("context"),
                 IT.c.gold_label.label("gold_label"))
          .where(IT.c.id == bindparam("pk", type_=Integer)))
Q_SOURCES = (select(SRC.c.title.label("title"), SRC.c.text.label("text"), SRC.c.url.label("url"))
             .where(SRC.c.item_pk == bindparam("pk", type_=Integer)).order_by(SRC.c.position))
Q_GOLD = select(IT.c.gold_label).where(IT.c.id == bindparam("pk", type_=Integer))
Q_ASSISTANCE = select(cast(AS.c.content, Text)).where(
    AS.c.item_pk == bindparam("pk", type_=Integer), AS.c.kind == bindparam("kind", type_=String))
U_SHOWN = (update(A).where(A.c.id == bindparam("aid", type_=Integer), A.c.shown_at.is_(None))
           .values(shown_at=bindparam("now", type_=DateTime)))
U_TIME_OUT = (update(R)
              .where(R.c.id == bindparam("rid", type_=Integer), R.c.status.in_(OPEN_STATUSES))
              .values(status="timed_out", finished_at=bindparam("now", type_=DateTime)))


class Prior(NamedTuple):
    """A judgment already recorded for an assignment."""

    judgment_id: int
    label: str


Q_PRIOR = select(J.c.id.label("judgment_id"), J.c.label.label("label")).where(
    J.c.assignment_id == bindparam("aid", type_=Integer))
INS_EVENT = insert(E)
_shown = (update(A).where(A.c.id == bindparam("aid", type_=Integer), A.c.shown_at.is_(None))
          .values(shown_at=bindparam("now", type_=DateTime)).returning(A.c.id).cte("shown"))
#: PostgreSQL: set the first-shown time and log ``item_shown`` in one statement (the
#: event only if this request was the first to show it).
SHOWN_WITH_EVENT = insert(E).from_select(
    ["study_id", "rater_id", "assignment_id", "kind", "payload", "created_at"],
    select(bindparam("sid", type_=Integer), bindparam("rid", type_=Integer), _shown.c.id,
           literal("item_shown", String), bindparam("payload", type_=E.c.payload.type),
           bindparam("now", type_=DateTime)).select_from(_shown),
)


class RaterIds(NamedTuple):
    rater_id: int
    study_id: int


Q_RATER_IDS = select(R.c.id.label("rater_id"), R.c.study_id.label("study_id")).where(
    R.c.token == bindparam("token", type_=String))


class Existing(NamedTuple):
    """A study by name, and the rater with an external id in it if any (else Nones)."""

    study_id: int
    study_status: str
    config_text: str
    token: str | None
    rater_id: int | None
    condition: str | None


Q_EXISTING = (
    select(S.c.id.label("study_id"), S.c.status.label("study_status"), cast(S.c.config, Text).label("config_text"),
           R.c.token.label("token"), R.c.id.label("rater_id"), rater_condition_key().label("condition"))
    .select_from(S.outerjoin(R, and_(R.c.study_id == S.c.id, R.c.external_id == bindparam("ext", type_=String))))
    .where(S.c.name == bindparam("name", type_=String))
)
U_CONSENT = (update(R).where(R.c.id == bindparam("rid", type_=Integer), R.c.consented_at.is_(None),
                             R.c.status == "enrolled")
             .values(consented_at=bindparam("now", type_=DateTime), status="active"))
U_REFUSE = (update(R).where(R.c.id == bindparam("rid", type_=Integer), R.c.consented_at.is_(None),
                            R.c.status == "enrolled")
            .values(status="withdrawn", finished_at=bindparam("now", type_=DateTime)))
U_START = (update(R).where(R.c.id == bindparam("rid", type_=Integer), R.c.started_at.is_(None),
                           R.c.status == "active")
           .values(started_at=bindparam("now", type_=DateTime)))
INS_JUDGMENT = insert(J).returning(J.c.id)


class Opened(NamedTuple):
    """The rater, study, named assignment (if it is the rater's) and any prior judgment."""

    rater_id: int
    study_id: int
    status: str
    enrolled_at: datetime
    started: bool
    failures: int
    name: str
    study_status: str
    launched_at: datetime | None
    config_text: str
    aid: int | None
    item_pk: int
    stage: str
    is_check: bool
    shown_at: datetime | None
    initial_label: str | None
    initial_confidence: float | None
    prior_id: int | None
    prior_label: str | None


OPEN_COLUMNS = {
    "rater_id": R.c.id, "study_id": R.c.study_id, "status": R.c.status, "enrolled_at": R.c.enrolled_at,
    "started": R.c.started_at.is_not(None), "failures": R.c.attention_failures, "name": S.c.name,
    "study_status": S.c.status, "launched_at": S.c.launched_at, "config_text": cast(S.c.config, Text),
    "aid": A.c.id, "item_pk": A.c.item_pk, "stage": A.c.stage, "is_check": A.c.is_attention_check,
    "shown_at": A.c.shown_at, "initial_label": A.c.initial_label, "initial_confidence": A.c.initial_confidence,
    "prior_id": J.c.id, "prior_label": J.c.label,
}


def _q_open() -> Any:
    return (
        select(*_named(OPEN_COLUMNS))
        .select_from(
            R.join(S, S.c.id == R.c.study_id)
            .outerjoin(A, and_(A.c.id == bindparam("aid", type_=Integer), A.c.rater_id == R.c.id))
            .outerjoin(J, J.c.assignment_id == A.c.id)
        )
        .where(R.c.token == bindparam("token", type_=String))
    )


Q_OPEN = _q_open()
#: PostgreSQL: lock the rater's row, so two tabs of one rater submit one after the
#: other (attention-failure count, completion); SQLite's write lock already does.
Q_OPEN_LOCKED = _q_open().with_for_update(of=R)

_a2, _j2 = A.alias("a2"), J.alias("j2")
#: True when the rater has no unjudged assignment left (sees this transaction's insert).
_ALL_JUDGED = ~exists().where(_a2.c.rater_id == R.c.id, ~exists().where(_j2.c.assignment_id == _a2.c.id))
U_AFTER_ACTIVE = (
    update(R).where(R.c.id == bindparam("rid", type_=Integer))
    .values(attention_failures=bindparam("failures", type_=Integer),
            last_seen_at=bindparam("now", type_=DateTime),
            status=case((_ALL_JUDGED, "completed"), else_=R.c.status),
            finished_at=case((_ALL_JUDGED, bindparam("now", type_=DateTime)), else_=R.c.finished_at))
    .returning(R.c.status)
)
U_AFTER_FINAL = (
    update(R).where(R.c.id == bindparam("rid", type_=Integer))
    .values(attention_failures=bindparam("failures", type_=Integer), last_seen_at=bindparam("now", type_=DateTime),
            status=bindparam("new_status", type_=String), finished_at=bindparam("now", type_=DateTime))
    .returning(R.c.status)
)

_after = U_AFTER_ACTIVE.cte("rater_after")
_EVENT_COLS = ["study_id", "rater_id", "assignment_id", "kind", "payload", "created_at"]
_PAYLOAD_T = E.c.payload.type
#: PostgreSQL: the rater update (completion when nothing is left unjudged) and its
#: events in one statement; returns the kinds of the events written.
AFTER_WITH_EVENTS = insert(E).from_select(_EVENT_COLS, union_all(
    select(bindparam("sid", type_=Integer), bindparam("rid", type_=Integer), bindparam("aid", type_=Integer),
           bindparam("kind", type_=String), bindparam("payload", type_=_PAYLOAD_T), bindparam("now", type_=DateTime))
    .select_from(_after),
    select(bindparam("sid", type_=Integer), bindparam("rid", type_=Integer), null(),
           literal("completed", String), bindparam("payload", type_=_PAYLOAD_T), bindparam("now", type_=DateTime))
    .select_from(_after).where(_after.c.status == "completed"),
)).returning(E.c.kind)

_URL_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def url_key(engine: Engine) -> str:
    """``str(engine.url)``, computed once per engine (part of every cache key)."""
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
Stamp = tuple[str, int, datetime]


def _cache_put(key: tuple[Any, ...], value: Any) -> None:
    if len(_CONTENT_CACHE) >= _CONTENT_CACHE_SIZE:
        _CONTENT_CACHE.clear()
    _CONTENT_CACHE[key] = value


def item_content(conn: Connection, stamp: Stamp | None, item_pk: int) -> ItemContent:
    """The item's id, claim, context, gold label and sources."""
    key = (*stamp, "item", item_pk) if stamp else None
    hit: ItemContent | None = _CONTENT_CACHE.get(key) if key else None
    if hit is None:
        row = conn.execute(Q_ITEM, {"pk": item_pk}).mappings().one()
        hit = ItemContent(item_id=row["item_id"], claim=row["claim"], context=row["context"],
                          gold_label=row["gold_label"], sources=tuple(every(conn, Q_SOURCES, SourceRow, {"pk": item_pk})))
        if key:
            _cache_put(key, hit)
    return hit


def gold_label(conn: Connection, stamp: Stamp | None, item_pk: int) -> str:
    key = (*stamp, "item", item_pk) if stamp else None
    hit: ItemContent | None = _CONTENT_CACHE.get(key) if key else None
    if hit is not None:
        return hit.gold_label
    return str(conn.execute(Q_GOLD, {"pk": item_pk}).scalar_one())


def assistance_json(conn: Connection, stamp: Stamp | None, item_pk: int, kind: str) -> str | None:
    key = (*stamp, "assist", item_pk, kind) if stamp else None
    if key and key in _CONTENT_CACHE:
        hit: str | None = _CONTENT_CACHE[key]
        return hit
    text_ = conn.execute(Q_ASSISTANCE, {"pk": item_pk, "kind": kind}).scalar_one_or_none()
    if key:
        _cache_put(key, text_)
    return text_


def stamp(engine: Engine, study_id: int, launched_at: datetime | None) -> Stamp | None:
    """Cache key prefix for a launched study's immutable content (None: do not cache)."""
    return (url_key(engine), study_id, launched_at) if launched_at is not None else None


def check_token(token: str) -> None:
    if not token or not isinstance(token, str) or len(token) > 64 or not token.isprintable():
        raise ServiceError("unknown rater")  # PostgreSQL refuses NUL outright
