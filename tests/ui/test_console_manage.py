"""Managing studies in the console: clone, edit a draft, remove items, delete; honest set up."""

from __future__ import annotations

from sqlalchemy import Engine

from study import service
from study.config import parse_config
from study.testing import fixture_items, ready_study, small_config


def _open(console, ui, section: str, study: str | None = None):  # noqa: ANN001, ANN202
    at = console()
    at.radio(key="console_section").set_value(section)
    at = ui.ok(at.run())
    if study is not None:
        at.selectbox(key="console_study").set_value(study)
        at = ui.ok(at.run())
    return at


def test_clone_a_live_study_then_edit_trim_and_delete_the_draft(app_engine: Engine, ui, console) -> None:
    ready_study(app_engine, small_config("orig"))
    at = _open(console, ui, "Manage")
    assert "Only a draft study can be edited" in ui.texts(at)
    at.text_input(key="clone_name").input("orig-2")
    at = ui.ok(at.button(key="clone_study").click().run())
    assert "Created draft study `orig-2` from `orig`: 28 items" in ui.texts(at)
    assert service.get_study(app_engine, "orig-2").status == "draft"
    assert service.missing_assistance(app_engine, "orig-2") == []  # the assistance was copied (ticked)
    assert at.selectbox(key="console_study").value == "orig-2"

    at.text_input(key="edit-orig-2_title").input("Edited title")
    at = ui.ok(at.run())
    at = ui.ok(at.button(key="save_config").click().run())
    assert service.get_config(app_engine, "orig-2").title == "Edited title"
    assert service.get_config(app_engine, "orig").title == ""

    at.multiselect(key="remove_item_ids").select("item-003").select("item-004")
    at = ui.ok(at.run())
    at = ui.ok(at.button(key="remove_items").click().run())
    assert "Removed 2 items" in ui.texts(at)
    assert len(service.study_items(app_engine, "orig-2")) == 26

    assert at.button(key="delete_study").disabled
    at.checkbox(key="confirm_delete").check()
    at = ui.ok(at.run())
    at = ui.ok(at.button(key="delete_study").click().run())
    assert [s.name for s in service.list_studies(app_engine)] == ["orig"]
    assert "Deleted draft study `orig-2`" in ui.texts(at)


def test_empty_study_is_not_ready_and_launch_points_to_generate(app_engine: Engine, ui, console) -> None:
    service.create_study(app_engine, parse_config(small_config("draft", assistance={"encoder": "hashing"})))
    at = _open(console, ui, "Set up")
    check = ui.block(at, "launch_check")
    assert check is not None and "Not ready to launch: the study has no items yet" in check.warning[0].value
    assert "can be launched" not in ui.texts(at) and "All assistance is stored" not in ui.texts(at)
    service.import_items(app_engine, "draft", fixture_items(24, seed=7))
    at.radio(key="console_section").set_value("Monitor")
    at = ui.ok(at.run())
    at = ui.ok(at.button(key="status_live").click().run())
    message = at.error[0].value
    assert "Generate" in message and "oversight assist" not in message
    assert at.radio(key="console_section").value == "Set up"  # the section with the button
    assert any(b.key == "generate" for b in at.button)
    assert ui.block(at, "quality_bins") is None  # no assistance yet: no quality numbers


def test_quality_panel_shows_before_launch(app_engine: Engine, ui, console) -> None:
    ready_study(app_engine, small_config("q"), launch=False)
    at = _open(console, ui, "Set up")
    from study.assist import quality_summary

    report = quality_summary(app_engine, "q")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["AI accuracy"] == f"{report['verdict']['accuracy']:.1%}"
    assert metrics["Majority rate"] == f"{report['verdict']['majority_rate']:.1%}"
    assert metrics["ECE"] == f"{report['verdict']['ece']:.3f}" and metrics["Brier"] == f"{report['verdict']['brier']:.3f}"
    bins = ui.frame(at, "quality_bins")
    assert bins["n"].sum() == report["n_items"]
    assert "Ready to launch" in ui.block(at, "launch_check").success[0].value
