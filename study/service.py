"""The study side of the service layer: studies, items and frozen assistance.

This module writes the ``study``, ``condition``, ``item``, ``source`` and
``assistance`` tables (create, import, freeze, launch/pause/close) and times out
raters past the limit (:func:`expire_raters`). Raters, their assignments, judgments
and events are written by :mod:`study.rater`. The UI, the CLI and simulated raters
all call these two, so a simulation exercises exactly what a human rater does. Each
function is one transaction. Invariants (balance, one judgment per rater and item)
are decided under a database lock or unique constraint, never in process memory, so
several app processes can share one PostgreSQL.

A study's config is validated once per stored version and process
(:func:`cached_config`, :func:`study_config`, :func:`study_snapshot`); readers pass
the typed :class:`~study.config.StudyConfig` on rather than parsing it again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Text, cast, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from study import bulk
from study import models as m
from study.assignment import StudyFull
from study.config import StudyConfig, parse_config
from study.db import is_sqlite, read_session, write_session
from tasks.assistance.pipeline import AssistanceRecord
from tasks.importers import ItemBankError, RowError
from tasks.items import Item

__all__ = [
    "AssistanceRecord",
    "ServiceError",
    "StudyFull",
    "StudySnapshot",
    "add_assistance",
    "assistance_status",
    "create_study",
    "expire_raters",
    "get_config",
    "get_study",
    "import_items",
    "list_studies",
    "missing_assistance",
    "needed_kinds",
    "set_status",
    "study_config",
    "study_snapshot",
]


class ServiceError(RuntimeError):
    """A request the study cannot honour (unknown study, wrong state, bad answer...)."""


# --------------------------------------------------------------------------- studies


def _study(session: Session, name: str, *, lock: bool = False) -> m.Study:
    if "\x00" in name:  # PostgreSQL refuses NUL in text; no study has one in its name
        raise ServiceError(f"no study named {name!r}")
    stmt = select(m.Study).where(m.Study.name == name)
    if lock and not is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        stmt = stmt.with_for_update()
    study = session.scalars(stmt).one_or_none()
    if study is None:
        raise ServiceError(f"no study named {name!r}")
    return study


@dataclass(frozen=True)
class StudySnapshot:
    """A study's row as the rater hot path needs it, with its validated config."""

    id: int
    name: str
    title: str
    status: str
    config: StudyConfig


#: Validated configs by (database URL, study id, sha256 of the stored JSON): the rater
#: pages read the config on every request, and validating it each time was a
#: measurable share of a request. A changed config has a new hash, so is re-validated.
_CONFIG_CACHE: dict[tuple[str, int, str], StudyConfig] = {}
_CONFIG_CACHE_SIZE = 256


def study_snapshot(session: Session, study_id: int) -> StudySnapshot:
    """Name, title, status (always read fresh) and the cached validated config."""
    row = session.execute(
        select(m.Study.name, m.Study.title, m.Study.status, cast(m.Study.config, Text)).where(m.Study.id == study_id)
    ).one_or_none()
    if row is None:
        raise ServiceError(f"no study with id {study_id}")
    name, title, status, text = row
    return StudySnapshot(study_id, name, title, status, cached_config(str(session.get_bind().engine.url), study_id, name, text))


def cached_config(url: str, study_id: int, name: str, text: str) -> StudyConfig:
    """The validated config for a study's stored config JSON ``text`` (cached per process).

    Keyed by (database URL, study id, sha256 of ``text``), so an edited config is
    validated afresh; used by :func:`study_snapshot` and the rater hot path.
    """
    key = (url, study_id, hashlib.sha256(text.encode("utf-8")).hexdigest())
    config = _CONFIG_CACHE.get(key)
    if config is None:
        config = parse_config(json.loads(text), f"study {name}")
        if len(_CONFIG_CACHE) >= _CONFIG_CACHE_SIZE:
            _CONFIG_CACHE.clear()
        _CONFIG_CACHE[key] = config
    return config


def study_config(session: Session, study: m.Study) -> StudyConfig:
    """The cached validated config of a loaded study row (see :func:`cached_config`)."""
    return cached_config(str(session.get_bind().engine.url), study.id, study.name,
                         json.dumps(study.config, sort_keys=True))


def create_study(engine: Engine, config: StudyConfig) -> int:
    """Create a draft study with its conditions; returns its id."""
    with write_session(engine) as s:
        if s.scalars(select(m.Study.id).where(m.Study.name == config.name)).first() is not None:
            raise ServiceError(f"a study named {config.name!r} already exists")
        study = m.Study(
            name=config.name,
            title=config.title or config.name,
            config=config.model_dump(mode="json", by_alias=True),
            seed=config.seed,
            status="draft",
        )
        s.add(study)
        for i, cond in enumerate(config.conditions):
            s.add(m.Condition(study=study, key=cond.key, assistance=cond.assistance, position=i))
        s.flush()
        return study.id


def get_study(engine: Engine, name: str) -> m.Study:
    with read_session(engine) as s:
        return _study(s, name)


def get_config(engine: Engine, name: str) -> StudyConfig:
    """The study's validated config (cached per stored version)."""
    with read_session(engine) as s:
        return study_config(s, _study(s, name))


def list_studies(engine: Engine) -> list[m.Study]:
    with read_session(engine) as s:
        return list(s.scalars(select(m.Study).order_by(m.Study.id)))


_TRANSITIONS = {"live": ("draft", "paused"), "paused": ("live",), "closed": ("draft", "live", "paused")}


def set_status(engine: Engine, name: str, status: str) -> m.Study:
    """Launch (``live``), pause or close a study. Launch checks it is ready."""
    if status not in _TRANSITIONS:
        raise ServiceError(f"unknown status {status!r}")
    with write_session(engine) as s:
        study = _study(s, name, lock=True)
        if study.status not in _TRANSITIONS[status]:
            raise ServiceError(f"study {name!r} is {study.status}; cannot set it {status}")
        if status == "live":
            _check_ready(s, study)
            study.launched_at = study.launched_at or m.utcnow()
        if status == "closed":
            study.closed_at = m.utcnow()
        study.status = status
        return study


def _check_ready(s: Session, study: m.Study) -> None:
    config = study_config(s, study)
    if bulk.unfinished_import(s, study.id) is not None:
        raise ServiceError(f"study {study.name!r} has an item import that has not finished; wait for it, or import again")
    if config.links == "signed":  # a signed study cannot take anyone without the secret
        from study.links import require_secret

        require_secret(config)
    n_main = s.scalar(select(func.count()).where(m.Item.study_id == study.id, m.Item.role == "main")) or 0
    if n_main < config.items_per_rater:
        raise ServiceError(f"study {study.name!r} has {n_main} main items; items_per_rater is {config.items_per_rater}")
    missing = _missing_assistance(s, study)
    if missing:
        item_id, kind = missing[0]
        raise ServiceError(
            f"study {study.name!r} lacks {len(missing)} assistance rows (first: item {item_id!r}, kind {kind!r}); "
            f"run `oversight assist --study {study.name}` first"
        )


# --------------------------------------------------------------------------- items


def import_items(engine: Engine, name: str, items: Sequence[Item], *, origin: str | None = None) -> int:
    """Add validated items to a draft study, all or nothing; returns how many.

    Raises :class:`ItemBankError` (naming file and line when ``items`` is an
    :class:`~tasks.importers.ItemBank`) when an id already exists in the study.
    The rows are written in short chunks (:mod:`study.bulk`, which states how the
    import stays all-or-nothing), so other studies' raters are not held up.
    """
    batch = secrets.token_hex(8)
    path: str = origin or str(getattr(items, "path", "<items>"))
    line_of = getattr(items, "line_of", lambda _id: 0)
    bulk.discard_stale_imports(engine, get_study(engine, name).id)
    with write_session(engine) as s:
        study = _study(s, name, lock=True)
        if study.status != "draft":
            raise ServiceError(f"study {name!r} is {study.status}; items can only be imported into a draft study")
        study_id = study.id
        existing = set(s.scalars(select(m.Item.item_id).where(m.Item.study_id == study.id)))
        clashes = [it.item_id for it in items if it.item_id in existing]
        if clashes:
            first = clashes[0]
            hint = " (this file was probably imported before)" if len(clashes) == len(items) else ""
            raise ItemBankError([RowError(
                path, line_of(first), "item_id",
                f"{len(clashes)} of {len(items)} ids are already in study {name!r}, first {first!r}{hint}; nothing imported",
            )])

    def still_draft(s: Session) -> None:
        status = _study(s, name, lock=True).status
        if status != "draft":
            raise ServiceError(f"study {name!r} became {status} during the import; nothing imported")

    try:
        return bulk.insert_items(engine, study_id, items, batch, still_draft)
    except IntegrityError:  # another import added one of these ids after the check above
        raise ItemBankError([RowError(path, 0, "item_id", f"an import running at the same time added some of these ids "
                                                          f"to study {name!r}; nothing imported")]) from None


def study_items(engine: Engine, name: str) -> list[Item]:
    """The study's items as :class:`tasks.Item` objects, in import order."""
    with read_session(engine) as s:
        study = _study(s, name)
        rows = s.scalars(select(m.Item).where(m.Item.study_id == study.id).order_by(m.Item.id))
        return [Item.model_validate(r.data) for r in rows]


# --------------------------------------------------------------------------- assistance


def needed_kinds(config: StudyConfig) -> list[str]:
    """Assistance kinds a study stores per item: the AI verdict and each condition's kind."""
    kinds = {c.assistance for c in config.conditions} - {"none"}
    return ["verdict", *sorted(kinds)]


def _missing_assistance(s: Session, study: m.Study) -> list[tuple[str, str]]:
    have = set(
        s.execute(
            select(m.Item.item_id, m.Assistance.kind)
            .join(m.Assistance, m.Assistance.item_pk == m.Item.id)
            .where(m.Item.study_id == study.id)
        ).all()
    )
    items = s.scalars(
        select(m.Item.item_id).where(m.Item.study_id == study.id, m.Item.role != "attention_check").order_by(m.Item.id)
    )
    kinds = needed_kinds(study_config(s, study))
    return [(item_id, kind) for item_id in items for kind in kinds if (item_id, kind) not in have]


def missing_assistance(engine: Engine, name: str) -> list[tuple[str, str]]:
    """(item_id, kind) pairs the study still needs before launch."""
    with read_session(engine) as s:
        return _missing_assistance(s, _study(s, name))


def assistance_status(engine: Engine, name: str) -> dict[str, int]:
    """Stored assistance rows per kind."""
    with read_session(engine) as s:
        study = _study(s, name)
        rows = s.execute(
            select(m.Assistance.kind, func.count()).where(m.Assistance.study_id == study.id).group_by(m.Assistance.kind)
        )
        return {kind: int(n) for kind, n in rows}


def add_assistance(engine: Engine, name: str, rows: Iterable[AssistanceRecord]) -> int:
    """Freeze assistance rows (draft studies only). Existing (item, kind) rows are kept.

    Every row is checked before any is written; the rows are then written in short
    chunks (:func:`study.bulk.write_in_chunks`), each re-checking that the study is
    still a draft. Assistance is resumable (a row is keyed by item and kind), so a
    failure part-way keeps the chunks already written. Returns how many rows were added.
    """
    with read_session(engine) as s:
        study = _study(s, name)
        study_id = study.id
        pks = dict(s.execute(select(m.Item.item_id, m.Item.id).where(m.Item.study_id == study.id)).all())
        have: set[tuple[int, str]] = {
            (int(pk), str(kind))
            for pk, kind in s.execute(select(m.Assistance.item_pk, m.Assistance.kind).where(m.Assistance.study_id == study.id))
        }
    if study.status != "draft":
        raise ServiceError(f"study {name!r} is {study.status}; assistance is frozen at launch")
    new: list[tuple[int, AssistanceRecord]] = []
    for row in rows:
        if row.item_id not in pks:
            raise ServiceError(f"assistance for unknown item {row.item_id!r}")
        if row.kind not in m.ASSISTANCE_ROW_KINDS:
            raise ServiceError(f"unknown assistance kind {row.kind!r}")
        key = (int(pks[row.item_id]), str(row.kind))
        if key not in have:
            have.add(key)
            new.append((key[0], row))

    def write(s: Session, chunk: list[tuple[int, AssistanceRecord]]) -> int:
        status = _study(s, name, lock=True).status
        if status != "draft":
            raise ServiceError(f"study {name!r} is {status}; assistance is frozen at launch")
        stored = {(int(pk), str(kind)) for pk, kind in s.execute(
            select(m.Assistance.item_pk, m.Assistance.kind).where(m.Assistance.item_pk.in_({pk for pk, _ in chunk})))}
        fresh = [_assistance_row(study_id, pk, row) for pk, row in chunk if (pk, row.kind) not in stored]
        if fresh:  # rows another run stored since the check above are kept, as before
            s.execute(insert(m.Assistance), fresh)
        return len(fresh)

    return bulk.write_in_chunks(engine, new, write, lambda pair: len(json.dumps(pair[1].content, default=str)))


def _assistance_row(study_id: int, item_pk: int, row: AssistanceRecord) -> dict[str, Any]:
    return {
        "study_id": study_id, "item_pk": item_pk, "kind": row.kind, "content": row.content, "generator": row.generator,
        "model": row.model, "model_version": row.model_version, "parameters": row.parameters or {},
        "package_versions": row.package_versions or {}, "seed": row.seed, "content_hash": row.content_hash,
    }


# --------------------------------------------------------------------------- raters: liveness


def expire_raters(engine: Engine, name: str, now: datetime | None = None) -> int:
    """Mark raters past the time limit as timed out (frees their slots); returns how many."""
    from study.rater.rules import past_deadline  # here: study.rater imports this module

    with write_session(engine) as s:
        study = _study(s, name)
        config = study_config(s, study)
        raters = s.scalars(
            select(m.Rater).where(m.Rater.study_id == study.id, past_deadline(config, now or m.utcnow()))
        ).all()
        for r in raters:
            r.status = "timed_out"
            r.finished_at = r.finished_at or m.utcnow()
        return len(raters)
