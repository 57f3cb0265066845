"""Creating a study from a config in the console: per-field errors, then success."""

from __future__ import annotations

from sqlalchemy import Engine

from study import service
from study.ui.console import CONFIG_TEMPLATE


def test_template_config_creates_a_draft_study(app_engine: Engine, ui, console) -> None:
    at = console()
    assert at.text_area(key="config_text").value == CONFIG_TEMPLATE
    at = ui.ok(at.button(key="create_study").click().run())
    study = service.get_study(app_engine, "my-study")
    assert study.status == "draft" and [c.key for c in study.conditions] == ["none", "evidence", "reasoning", "debate"]
    assert "Created draft study `my-study`" in ui.texts(at)
    assert at.radio(key="console_section").value == "Set up"
    assert at.selectbox(key="console_study").value == "my-study"


def test_invalid_config_lists_every_bad_field_and_creates_nothing(app_engine: Engine, ui, console) -> None:
    at = console()
    bad = CONFIG_TEMPLATE.replace("name: my-study", "name: 'bad name!'").replace(
        "{key: evidence, assistance: evidence", "{key: evidence, assistance: telepathy").replace(
        "items_per_rater: 12", "items_per_rater: 0")
    at.text_area(key="config_text").input(bad)
    at = ui.ok(at.button(key="create_study").click().run())
    errors = ui.frame(at, "config_errors")
    assert set(errors["field"]) == {"name", "conditions.1.assistance", "items_per_rater"}
    assert errors.set_index("field").loc["items_per_rater", "problem"].startswith("Input should be greater than")
    assert "3 problem(s); nothing was created" in at.error[0].value
    assert service.list_studies(app_engine) == []


def test_yaml_syntax_error_names_the_line(app_engine: Engine, ui, console) -> None:
    at = console()
    at.text_area(key="config_text").input("name: x\nconditions: [\n")
    at = ui.ok(at.button(key="create_study").click().run())
    problem = ui.frame(at, "config_errors")["problem"].iloc[0]
    assert "not valid YAML" in problem and "config:3" in problem
    assert service.list_studies(app_engine) == []


def test_uploaded_config_fills_the_editor_and_duplicate_names_are_refused(app_engine: Engine, ui, console) -> None:
    at = console()
    text = "name: uploaded\nconditions:\n  - {key: none, assistance: none}\n"
    at.file_uploader(key="config_upload").set_value(("study.yaml", text.encode(), "application/x-yaml"))
    at = ui.ok(at.run())
    assert at.text_area(key="config_text").value == text
    at = ui.ok(at.button(key="create_study").click().run())
    assert [s.name for s in service.list_studies(app_engine)] == ["uploaded"]
    at.radio(key="console_section").set_value("New study")
    at = ui.ok(at.run())
    at.text_area(key="config_text").input(text)
    at = ui.ok(at.button(key="create_study").click().run())
    errors = ui.frame(at, "config_errors")
    assert errors["field"].tolist() == ["name"] and "already exists" in errors["problem"].iloc[0]
