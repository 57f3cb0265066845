"""Managing studies: clone, edit, delete a draft, remove items; the launch check."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from study import models as m
from study import service, studies
from study.config import ConfigError, parse_config
from study.db import read_session
from study.testing import fixture_items, ready_study, small_config


def _count(engine: Engine, model: type[m.Base], **where: object) -> int:
    with read_session(engine) as s:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int(s.scalar(stmt) or 0)


def test_clone_copies_config_items_and_optionally_assistance(engine: Engine) -> None:
    ready_study(engine, small_config("src"))
    plain = studies.clone_study(engine, "src", "copy")
    items = fixture_items(24, seed=7)
    assert (plain.items, plain.assistance) == (len(items), 0)
    assert plain.sources == sum(len(it.sources) for it in items)
    copy = service.get_study(engine, "copy")
    assert copy.status == "draft" and [c.key for c in copy.conditions] == ["none", "evidence", "reasoning", "debate"]
    source_cfg = service.get_config(engine, "src").model_dump()
    assert {**service.get_config(engine, "copy").model_dump(), "name": "src"} == source_cfg
    assert [it.model_dump() for it in service.study_items(engine, "copy")] == \
        [it.model_dump() for it in service.study_items(engine, "src")]
    assert len(service.missing_assistance(engine, "copy")) == len(service.missing_assistance(engine, "src")) + \
        _count(engine, m.Assistance, study_id=service.get_study(engine, "src").id)

    full = studies.clone_study(engine, "src", "copy-2", assistance=True)
    assert full.assistance == _count(engine, m.Assistance, study_id=service.get_study(engine, "src").id) > 0
    assert service.missing_assistance(engine, "copy-2") == []
    service.set_status(engine, "copy-2", "live")  # a full clone launches as it is
    with pytest.raises(service.ServiceError, match="already exists"):
        studies.clone_study(engine, "src", "copy")


def test_edit_a_draft_rewrites_conditions_and_keeps_items(engine: Engine) -> None:
    ready_study(engine, small_config("d"), launch=False)
    cfg = parse_config(small_config("d", title="New title", conditions=[
        {"key": "none", "assistance": "none"}, {"key": "quotes", "assistance": "evidence"}]))
    studies.update_config(engine, "d", cfg)
    study = service.get_study(engine, "d")
    assert study.title == "New title" and [(c.key, c.assistance) for c in study.conditions] == \
        [("none", "none"), ("quotes", "evidence")]
    assert service.get_config(engine, "d").title == "New title"
    assert len(service.study_items(engine, "d")) == 28
    with pytest.raises(ConfigError, match="cannot rename"):
        studies.update_config(engine, "d", parse_config(small_config("other")))
    with pytest.raises(ConfigError, match="labels"):
        studies.update_config(engine, "d", parse_config(small_config("d", labels=["yes", "no"])))


def test_only_drafts_can_be_edited_trimmed_or_deleted(engine: Engine) -> None:
    ready_study(engine, small_config("live"))
    cfg = service.get_config(engine, "live")
    for call in (lambda: studies.update_config(engine, "live", cfg), lambda: studies.delete_study(engine, "live"),
                 lambda: studies.remove_items(engine, "live", ["item-001"])):
        with pytest.raises(service.ServiceError, match="only a draft study"):
            call()
    assert service.get_study(engine, "live").status == "live"


def test_delete_a_draft_removes_everything_it_owns(engine: Engine) -> None:
    ready_study(engine, small_config("gone"), launch=False)
    ready_study(engine, small_config("kept"), launch=False)
    studies.delete_study(engine, "gone")
    assert [s.name for s in service.list_studies(engine)] == ["kept"]
    kept = service.get_study(engine, "kept").id
    for model in (m.Item, m.Assistance, m.Condition):
        assert _count(engine, model) == _count(engine, model, study_id=kept) > 0
    assert _count(engine, m.Source) == sum(len(it.sources) for it in fixture_items(24, seed=7))


def test_remove_items_is_all_or_nothing(engine: Engine) -> None:
    ready_study(engine, small_config("trim"), launch=False)
    before = _count(engine, m.Assistance)
    with pytest.raises(service.ServiceError, match="no item 'nope'"):
        studies.remove_items(engine, "trim", ["item-001", "nope"])
    assert len(service.study_items(engine, "trim")) == 28
    assert studies.remove_items(engine, "trim", ["item-001", "item-002", "item-001"]) == 2
    ids = [it.item_id for it in service.study_items(engine, "trim")]
    assert len(ids) == 26 and "item-001" not in ids and "item-002" not in ids
    assert _count(engine, m.Assistance) == before - 2 * len(service.needed_kinds(service.get_config(engine, "trim")))


def test_an_empty_study_is_never_ready(engine: Engine) -> None:
    service.create_study(engine, parse_config(small_config("empty")))
    assert studies.launch_problems(engine, "empty") == ["the study has no items yet: import an item bank"]
    with pytest.raises(service.ServiceError):
        service.set_status(engine, "empty", "live")
    service.import_items(engine, "empty", fixture_items(24, seed=7))
    (problem,) = studies.launch_problems(engine, "empty")
    assert problem.startswith(f"{len(service.missing_assistance(engine, 'empty'))} assistance rows are missing")
    studies.remove_items(engine, "empty", [f"item-{i:03d}" for i in range(20)])
    assert "4 main items, but items_per_rater is 6" in studies.launch_problems(engine, "empty")
