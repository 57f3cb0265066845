"""Creating a study with the form: per-field errors, the YAML download, the created study."""

from __future__ import annotations

import yaml
from sqlalchemy import Engine

from study import service
from study.config import parse_config_text


def test_form_creates_the_study_it_shows(app_engine: Engine, ui, console) -> None:
    at = console()
    assert at.segmented_control(key="new_study_mode").value == "Form"
    at.text_input(key="form_name").input("form-study")
    at.number_input(key="form_n_conditions").set_value(2)
    at = ui.ok(at.run())
    at.selectbox(key="form_c1_assistance").set_value("reasoning")  # display toggles follow the kind
    at = ui.ok(at.run())
    assert at.checkbox(key="form_c1_show_label").value and at.checkbox(key="form_c1_show_reasoning").value
    at.checkbox(key="form_c1_show_confidence").uncheck()
    at.toggle(key="form_two_stage").set_value(True)
    at.number_input(key="form_items_per_rater").set_value(8)
    at.text_input(key="form_redirect_url").input("https://app.prolific.com/submissions/complete?cc={code}")
    at.number_input(key="form_bonus_per_correct").set_value(0.05)
    at = ui.ok(at.run())
    download = next(b for b in at.get("download_button") if b.key == "download_form_yaml")
    written = yaml.safe_load(next(c.value for c in at.code if "form-study" in c.value))
    assert written["conditions"][1]["show"]["confidence"] is False and written["bonus"]["per_correct"] == 0.05
    assert download.proto.label == "Download YAML"
    at = ui.ok(at.button(key="create_from_form").click().run())
    config = service.get_config(app_engine, "form-study")
    assert [c.key for c in config.conditions] == ["none", "evidence"]
    assert config.condition("evidence").assistance == "reasoning"
    assert config.condition("evidence").show.label and not config.condition("evidence").show.confidence
    assert config.design.two_stage and config.items_per_rater == 8 and config.bonus.per_correct == 0.05
    assert config == parse_config_text(yaml.safe_dump(written))
    assert at.radio(key="console_section").value == "Set up"


def test_form_errors_sit_under_their_fields_and_nothing_is_created(app_engine: Engine, ui, console) -> None:
    at = console()
    at.text_input(key="form_name").input("bad name!")
    at.text_input(key="form_c0_key").input("Not OK")
    at.text_input(key="form_redirect_url").input("ftp://nowhere")
    at = ui.ok(at.run())
    errors = [e.value for e in at.error]
    assert any(e.startswith("`name`:") for e in errors)
    assert any(e.startswith("`conditions.0.key`:") for e in errors)
    assert any("`completion.redirect_url`: must start with https://" in e for e in errors)
    assert "3 problem(s) to fix" in "\n".join(errors)
    assert at.button(key="create_from_form").disabled
    assert service.list_studies(app_engine) == []
