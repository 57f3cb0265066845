"""Managing studies: clone any study; edit, delete or trim the items of a draft.

Each function is one transaction and checks the study's status under the same lock
as :func:`study.service.set_status`, so a study cannot be launched half-edited. What
a clone copies: the config (under the new name; its status starts as ``draft``), the
items with their sources, and, when asked (``assistance=True``), the frozen assistance
rows whose kind the clone still needs. Raters, judgments and events are never copied.
The console's "Manage" section and ``oversight study clone|edit|delete`` and
``oversight items remove`` call these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from study import models as m
from study.config import ConfigError, FieldError, StudyConfig, parse_config
from study.db import read_session, write_session
from study.service import ServiceError, _study, missing_assistance, needed_kinds, study_config

__all__ = ["CloneReport", "clone_study", "delete_study", "launch_problems", "remove_items", "update_config"]


@dataclass(frozen=True)
class CloneReport:
    """What :func:`clone_study` copied: items, their sources, assistance rows."""

    items: int
    sources: int
    assistance: int


def _draft(s: Session, name: str, what: str) -> m.Study:
    study = _study(s, name, lock=True)
    if study.status != "draft":
        raise ServiceError(f"study {name!r} is {study.status}; only a draft study can be {what}")
    return study


def _has_raters(s: Session, study: m.Study) -> bool:
    return s.scalars(select(m.Rater.id).where(m.Rater.study_id == study.id).limit(1)).first() is not None


def clone_study(engine: Engine, source: str, new_name: str, *, assistance: bool = False) -> CloneReport:
    """Copy ``source`` (any status) into a new draft study ``new_name``.

    Copies the config (``name`` replaced, ``title`` kept), every item with its sources
    and, with ``assistance=True``, the stored assistance rows of the kinds the clone
    needs (provenance kept). Returns what was copied.
    """
    with read_session(engine) as s:
        config = study_config(s, _study(s, source))
    data = config.model_dump(mode="json", by_alias=True)
    data["name"] = new_name
    clone = parse_config(data, f"clone of {source}")
    with write_session(engine) as s:
        if s.scalars(select(m.Study.id).where(m.Study.name == new_name)).first() is not None:
            raise ServiceError(f"a study named {new_name!r} already exists")
        src = _study(s, source)
        dst = m.Study(name=new_name, title=src.title, config=clone.model_dump(mode="json", by_alias=True),
                      seed=clone.seed, status="draft")
        s.add(dst)
        for i, cond in enumerate(clone.conditions):
            s.add(m.Condition(study=dst, key=cond.key, assistance=cond.assistance, position=i))
        s.flush()
        pks: dict[int, int] = {}
        n_sources = 0
        for item in s.scalars(select(m.Item).where(m.Item.study_id == src.id).order_by(m.Item.id)):
            copy = m.Item(study_id=dst.id, item_id=item.item_id, role=item.role, claim=item.claim,
                          context=item.context, gold_label=item.gold_label, data=dict(item.data),
                          import_batch=item.import_batch)
            copy.sources = [m.Source(position=x.position, title=x.title, text=x.text, url=x.url) for x in item.sources]
            n_sources += len(copy.sources)
            s.add(copy)
            s.flush()
            pks[item.id] = copy.id
        n_assist = _copy_assistance(s, src, dst, pks, needed_kinds(clone)) if assistance else 0
        return CloneReport(len(pks), n_sources, n_assist)


def _copy_assistance(s: Session, src: m.Study, dst: m.Study, pks: dict[int, int], kinds: list[str]) -> int:
    rows = s.scalars(select(m.Assistance).where(m.Assistance.study_id == src.id, m.Assistance.kind.in_(kinds)))
    n = 0
    for a in rows:
        s.add(m.Assistance(study_id=dst.id, item_pk=pks[a.item_pk], kind=a.kind, content=dict(a.content),
                           generator=a.generator, model=a.model, model_version=a.model_version,
                           parameters=dict(a.parameters), package_versions=dict(a.package_versions), seed=a.seed,
                           content_hash=a.content_hash))
        n += 1
    return n


def update_config(engine: Engine, name: str, config: StudyConfig) -> None:
    """Replace a draft study's config (its ``name`` must stay the same).

    The conditions are rewritten to match; refused when raters exist (e.g. test
    raters), or when stored items carry a gold label the new ``labels`` lack
    (:class:`~study.config.ConfigError` naming ``labels``). Stored assistance stays;
    :func:`study.service.missing_assistance` then lists what the new config needs.
    """
    if config.name != name:
        raise ConfigError(f"study {name}", [FieldError("name", f"cannot rename a study (keep {name!r}; clone it instead)")])
    with write_session(engine) as s:
        study = _draft(s, name, "edited")
        old_keys = [c.key for c in study.conditions]
        new_keys = [c.key for c in config.conditions]
        if old_keys != new_keys and _has_raters(s, study):
            raise ServiceError(f"study {name!r} has raters; its conditions cannot change")
        golds = set(s.scalars(select(m.Item.gold_label).where(m.Item.study_id == study.id).distinct()))
        lost = sorted(golds - set(config.labels))
        if lost:
            raise ConfigError(f"study {name}", [FieldError("labels", f"stored items use labels {lost} that are missing")])
        study.config = config.model_dump(mode="json", by_alias=True)
        study.title = config.title or config.name
        study.seed = config.seed
        by_key = {c.key: c for c in study.conditions}
        for i, cond in enumerate(config.conditions):
            row = by_key.pop(cond.key, None)
            if row is None:
                s.add(m.Condition(study_id=study.id, key=cond.key, assistance=cond.assistance, position=i))
            else:
                row.assistance, row.position = cond.assistance, i
        for row in by_key.values():
            s.delete(row)


def delete_study(engine: Engine, name: str) -> None:
    """Delete a draft study and everything stored with it (items, sources, assistance, test raters)."""
    with write_session(engine) as s:
        study = _draft(s, name, "deleted")
        sid = study.id
        raters = select(m.Rater.id).where(m.Rater.study_id == sid)
        items = select(m.Item.id).where(m.Item.study_id == sid)
        s.execute(delete(m.Event).where(m.Event.study_id == sid))
        s.execute(delete(m.Judgment).where(m.Judgment.rater_id.in_(raters)))
        s.execute(delete(m.Assignment).where(m.Assignment.rater_id.in_(raters)))
        s.execute(delete(m.Rater).where(m.Rater.study_id == sid))
        s.execute(delete(m.Assistance).where(m.Assistance.study_id == sid))
        s.execute(delete(m.Source).where(m.Source.item_pk.in_(items)))
        s.execute(delete(m.Item).where(m.Item.study_id == sid))
        s.execute(delete(m.Condition).where(m.Condition.study_id == sid))
        s.execute(delete(m.Study).where(m.Study.id == sid))


def remove_items(engine: Engine, name: str, item_ids: Sequence[str]) -> int:
    """Remove items (with their sources and assistance) from a draft study, all or nothing.

    Raises :class:`ServiceError` naming the first unknown id; returns how many were removed.
    """
    wanted = list(dict.fromkeys(item_ids))
    if not wanted:
        return 0
    with write_session(engine) as s:
        study = _draft(s, name, "changed")
        found = dict(s.execute(
            select(m.Item.item_id, m.Item.id).where(m.Item.study_id == study.id, m.Item.item_id.in_(wanted))).all())
        unknown = [i for i in wanted if i not in found]
        if unknown:
            raise ServiceError(f"study {name!r} has no item {unknown[0]!r} ({len(unknown)} unknown id(s)); nothing removed")
        pks = list(found.values())
        assignments = select(m.Assignment.id).where(m.Assignment.item_pk.in_(pks))
        s.execute(delete(m.Event).where(m.Event.assignment_id.in_(assignments)))
        s.execute(delete(m.Judgment).where(m.Judgment.item_pk.in_(pks)))
        s.execute(delete(m.Assignment).where(m.Assignment.item_pk.in_(pks)))
        s.execute(delete(m.Assistance).where(m.Assistance.item_pk.in_(pks)))
        s.execute(delete(m.Source).where(m.Source.item_pk.in_(pks)))
        s.execute(delete(m.Item).where(m.Item.id.in_(pks)))
        return len(pks)


def launch_problems(engine: Engine, name: str) -> list[str]:
    """What stops the study from launching, in words (empty = ready).

    The same checks as :func:`study.service.set_status` makes at launch: enough main
    items for ``items_per_rater`` (an empty study is never ready) and every needed
    assistance row stored.
    """
    with read_session(engine) as s:
        study = _study(s, name)
        config = study_config(s, study)
        roles = dict(s.execute(select(m.Item.role, func.count()).where(m.Item.study_id == study.id)
                               .group_by(m.Item.role)).all())
    problems = []
    n_main = int(roles.get("main", 0))
    if n_main == 0:
        problems.append("the study has no items yet: import an item bank")
    elif n_main < config.items_per_rater:
        problems.append(f"{n_main} main items, but items_per_rater is {config.items_per_rater}")
    missing = missing_assistance(engine, name) if n_main else []
    if missing:
        problems.append(f"{len(missing)} assistance rows are missing (first: item {missing[0][0]!r}, kind {missing[0][1]!r})")
    return problems
