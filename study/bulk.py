"""Large writes in bounded chunks, so one study's import never stalls another's raters.

SQLite has one writer lock for the whole file: a 100k-item import in one
transaction held it for half a minute, and every rater of every other study waited.
Here item imports and assistance rows are written in chunks of at most
:data:`CHUNK_ROWS` rows and about :data:`CHUNK_CHARS` characters, each its own short
transaction, with a short pause between chunks so waiting writers get the lock.

An item import stays all-or-nothing although it spans many transactions:

1. the whole bank is validated before anything is written (``tasks.importers``), and
   the study is checked to be a draft with none of the ids (one short transaction);
2. the items are inserted with ``import_batch = "pending-<batch>"``; while any row
   of a study is pending, launching it is refused (:func:`unfinished_import`);
3. short transactions re-check that the study is a draft and rename the rows to
   ``<batch>``; the import counts once no ``pending-<batch>`` row is left (a publish
   cut off part-way leaves the batch unfinished, and a sweep deletes both names);
4. any failure (a database error, a clash with a concurrent import, an interrupt)
   deletes the pending rows, in chunks, before the error is raised. A process killed
   mid-import leaves pending rows behind: the next import into that study deletes
   them once they are :data:`STALE_AFTER` old (no chunk was added since).

Drafts have no raters, so pending rows are never shown to a rater; the console may
list them while the import runs.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from study import models as m
from study.db import read_session, write_session
from tasks.items import Item

__all__ = [
    "CHUNK_CHARS",
    "CHUNK_ROWS",
    "PENDING_PREFIX",
    "STALE_AFTER",
    "chunked",
    "discard_stale_imports",
    "insert_items",
    "unfinished_import",
    "write_in_chunks",
]

#: Rows per write transaction.
CHUNK_ROWS = 250
#: Characters of text per write transaction (long items make smaller chunks).
CHUNK_CHARS = 2_000_000
#: Rows renamed per transaction when an import is published.
PUBLISH_ROWS = 1_000
#: Pause between chunks, so writers queued behind the import get the lock.
PAUSE_S = 0.01
#: Marks the rows of an import that has not finished.
PENDING_PREFIX = "pending-"
#: A pending import with no new row for this long is dead (its process was killed).
STALE_AFTER = timedelta(minutes=2)

T = TypeVar("T")

_gc_lock = threading.Lock()
_gc_holds = {"n": 0, "was_enabled": True}


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic garbage collection while a bulk write runs (process-wide, nestable).

    Measured cause of multi-second stalls: with a 100k-item bank in memory, each full
    (generation 2) collection walks every item object for ~1.5 s, holding the GIL, and
    when it strikes inside a chunk it also holds the database writer lock. Reference
    counting still frees everything that is not in a cycle; collection resumes after.
    """
    with _gc_lock:
        if _gc_holds["n"] == 0:
            _gc_holds["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_holds["n"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holds["n"] -= 1
            if _gc_holds["n"] == 0 and _gc_holds["was_enabled"]:
                gc.enable()


def chunked(rows: Iterable[T], size_of: Callable[[T], int], max_rows: int = CHUNK_ROWS,
            max_chars: int = CHUNK_CHARS) -> Iterator[list[T]]:
    """Consecutive chunks of at most ``max_rows`` rows and ``max_chars`` (one row at least)."""
    chunk: list[T] = []
    chars = 0
    for row in rows:
        n = size_of(row)
        if chunk and (len(chunk) >= max_rows or chars + n > max_chars):
            yield chunk
            chunk, chars = [], 0
        chunk.append(row)
        chars += n
    if chunk:
        yield chunk


def write_in_chunks(engine: Engine, rows: Iterable[T], write: Callable[[Session, Any], int],
                    size_of: Callable[[T], int], prepare: Callable[[list[T]], Any] = lambda chunk: chunk) -> int:
    """``write(session, prepare(chunk))`` per chunk, each in its own write transaction; sums the results.

    ``prepare`` (building row dicts, serialising JSON) runs before the transaction
    starts, so the writer lock is held only while the statements execute.
    """
    total = 0
    with gc_paused():
        for i, chunk in enumerate(chunked(rows, size_of)):
            if i:
                time.sleep(PAUSE_S)
            prepared = prepare(chunk)
            with write_session(engine) as s:
                total += write(s, prepared)
    return total


# --------------------------------------------------------------------------- items


def _item_chars(item: Item) -> int:
    return len(item.claim) + len(item.context or "") + sum(len(src.text) + len(src.title) for src in item.sources) * 2


def _item_rows(chunk: Sequence[Item], study_id: int, batch: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(item rows, source rows keyed by ``item_id`` until the item's primary key is known)."""
    items = [
        {"study_id": study_id, "item_id": it.item_id, "role": it.role, "claim": it.claim, "context": it.context,
         "gold_label": it.gold_label, "data": it.model_dump(mode="json"), "import_batch": batch, "created_at": m.utcnow()}
        for it in chunk
    ]
    sources = [{"item_id": it.item_id, "position": i, "title": src.title, "text": src.text, "url": src.url}
               for it in chunk for i, src in enumerate(it.sources)]
    return items, sources


def _insert_item_chunk(s: Session, rows: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> int:
    items, sources = rows
    returned = s.execute(insert(m.Item).returning(m.Item.id, m.Item.item_id, sort_by_parameter_order=True), items)
    pks = {item_id: pk for pk, item_id in returned}
    if sources:
        s.execute(insert(m.Source), [{**{k: v for k, v in src.items() if k != "item_id"}, "item_pk": pks[src["item_id"]]}
                                     for src in sources])
    return len(items)


def _discard(engine: Engine, study_id: int, batch: str) -> None:
    """Delete the rows of one import batch (and their sources), in chunks."""
    while True:
        with write_session(engine) as s:
            pks = list(s.scalars(select(m.Item.id).where(m.Item.study_id == study_id, m.Item.import_batch == batch)
                                 .limit(CHUNK_ROWS)))
            if not pks:
                return
            s.execute(delete(m.Source).where(m.Source.item_pk.in_(pks)))
            s.execute(delete(m.Assistance).where(m.Assistance.item_pk.in_(pks)))
            s.execute(delete(m.Item).where(m.Item.id.in_(pks)))
        time.sleep(PAUSE_S)


def insert_items(engine: Engine, study_id: int, items: Sequence[Item], batch: str,
                 publish_check: Callable[[Session], None]) -> int:
    """Insert validated items in chunks and publish them at once; all or nothing.

    ``publish_check(session)`` runs in every publishing transaction and may raise
    (e.g. the study is no longer a draft): the rows of the batch are then deleted.
    """
    pending = PENDING_PREFIX + batch
    try:
        with gc_paused():
            n = write_in_chunks(engine, items, _insert_item_chunk, _item_chars,
                                prepare=lambda chunk: _item_rows(chunk, study_id, pending))
            _publish(engine, study_id, batch, publish_check)
        return n
    except BaseException:
        _discard(engine, study_id, pending)
        _discard(engine, study_id, batch)
        raise


def _publish(engine: Engine, study_id: int, batch: str, publish_check: Callable[[Session], None]) -> None:
    """Rename ``pending-<batch>`` rows to ``<batch>`` in chunks; the import counts once none is left.

    Until the last chunk, the batch still has pending rows, so it is unfinished: a
    launch is refused, and a stale-import sweep deletes the rows of *both* names.
    """
    pending = PENDING_PREFIX + batch
    while True:
        with write_session(engine) as s:
            publish_check(s)
            pks = list(s.scalars(select(m.Item.id).where(m.Item.study_id == study_id, m.Item.import_batch == pending)
                                 .limit(PUBLISH_ROWS)))
            if not pks:
                return
            s.execute(update(m.Item).where(m.Item.id.in_(pks)).values(import_batch=batch))
        time.sleep(PAUSE_S)


def unfinished_import(s: Session, study_id: int) -> str | None:
    """The batch of an import into this study that has not finished (None when there is none)."""
    return s.scalars(select(m.Item.import_batch).where(
        m.Item.study_id == study_id, m.Item.import_batch.startswith(PENDING_PREFIX)).limit(1)).first()


def discard_stale_imports(engine: Engine, study_id: int, now: datetime | None = None) -> int:
    """Delete pending rows of imports that stopped adding rows :data:`STALE_AFTER` ago; returns batches removed."""
    now = now or m.utcnow()
    with read_session(engine) as s:
        batches: list[tuple[Any, Any]] = list(s.execute(
            select(m.Item.import_batch, func.max(m.Item.created_at))
            .where(m.Item.study_id == study_id, m.Item.import_batch.startswith(PENDING_PREFIX))
            .group_by(m.Item.import_batch)).all())
    stale = [batch for batch, last in batches if last is not None and now - last > STALE_AFTER]
    for batch in stale:
        _discard(engine, study_id, batch)
        _discard(engine, study_id, batch.removeprefix(PENDING_PREFIX))  # rows already published by a cut-off publish
    return len(stale)
