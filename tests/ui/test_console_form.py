"""Creating a study with the form: per-field errors, the YAML download, the created study."""

from __future__ import annotations

import yaml
from sqlalchemy import Engine

from study import service
from study.config import parse_config_text
from study.ui.console import CONFIG_TEMPLATE


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


def _write_question(at, i: int, question: str, options: list[str]) -> None:
    at.text_input(key=f"form_q{i}_question").input(question)
    at.text_area(key=f"form_q{i}_options").input("\n".join(options))


def test_form_writes_the_comprehension_check(app_engine: Engine, ui, console) -> None:
    at = console()
    assert not at.toggle(key="form_comprehension").value
    assert "form_q0_question" not in [t.key for t in at.text_input]  # off: no question fields
    at.text_input(key="form_name").input("checked")
    at.toggle(key="form_comprehension").set_value(True)
    at = ui.ok(at.run())
    assert at.number_input(key="form_comprehension_attempts").value == 2
    assert at.number_input(key="form_comprehension_attempts").proto.max == 2  # Prolific allows two at most
    at.number_input(key="form_n_questions").set_value(2)
    at = ui.ok(at.run())
    assert at.text_input(key="form_q1_question").value == ""  # a new question starts blank
    _write_question(at, 0, "What do you decide?", ["Whether the answer is right", "Which topic I like"])
    _write_question(at, 1, "May you search the web?", ["Yes", "No"])
    at = ui.ok(at.run())
    assert at.selectbox(key="form_q1_answer").options == ["Yes", "No"]
    assert "`comprehension.questions.1.answer`: choose the right answer (one of the options)" in ui.texts(at)
    assert at.button(key="create_from_form").disabled
    at.selectbox(key="form_q0_answer").set_value("Whether the answer is right")
    at.selectbox(key="form_q1_answer").set_value("No")
    at.number_input(key="form_comprehension_attempts").set_value(1)
    at.text_input(key="form_comprehension_fail_code").input("NOCOMP")
    at = ui.ok(at.run())
    written = yaml.safe_load(next(c.value for c in at.code if "checked" in c.value))
    assert written["comprehension"] == {
        "questions": [{"question": "What do you decide?", "options": ["Whether the answer is right", "Which topic I like"],
                       "answer": "Whether the answer is right"},
                      {"question": "May you search the web?", "options": ["Yes", "No"], "answer": "No"}],
        "attempts": 1, "fail_code": "NOCOMP"}
    parsed = parse_config_text(yaml.safe_dump(written))  # the YAML it writes validates
    at = ui.ok(at.button(key="create_from_form").click().run())
    config = service.get_config(app_engine, "checked")
    assert config == parsed and config.comprehension is not None
    assert [q.answer for q in config.comprehension.questions] == ["Whether the answer is right", "No"]


def test_an_edited_option_drops_the_answer_and_off_leaves_the_check_out(app_engine: Engine, ui, console) -> None:
    at = console()
    at.toggle(key="form_comprehension").set_value(True)
    at = ui.ok(at.run())
    assert at.selectbox(key="form_q0_answer").value == at.selectbox(key="form_q0_answer").options[0]  # the example
    at.text_area(key="form_q0_options").input("Yes\nNo")  # the chosen answer is no longer an option
    at = ui.ok(at.run())
    assert at.selectbox(key="form_q0_answer").value is None
    assert at.button(key="create_from_form").disabled
    at.selectbox(key="form_q0_answer").set_value("Yes")
    at.number_input(key="form_comprehension_attempts").set_value(3)  # clamped by the widget
    at = ui.ok(at.run())
    assert not at.button(key="create_from_form").disabled
    at.toggle(key="form_comprehension").set_value(False)
    at = ui.ok(at.run())
    assert yaml.safe_load(next(c.value for c in at.code if "my-study" in c.value))["comprehension"] is None
    at.toggle(key="form_comprehension").set_value(True)  # back on: the question is still there
    at = ui.ok(at.run())
    assert at.text_area(key="form_q0_options").value == "Yes\nNo" and at.selectbox(key="form_q0_answer").value == "Yes"


def test_editing_a_draft_keeps_its_comprehension_check(app_engine: Engine, ui, console) -> None:
    text = CONFIG_TEMPLATE.replace("name: my-study", "name: draft") + (
        "comprehension:\n"
        "  questions:\n"
        "    - question: Who decides?\n"
        "      options: [You, The AI, Nobody]\n"
        "      answer: You\n"
        "  attempts: 1\n"
        "  fail_code: NOCHECK\n")
    service.create_study(app_engine, parse_config_text(text))
    at = console()
    at.selectbox(key="console_study").set_value("draft")
    at.radio(key="console_section").set_value("Manage")
    at = ui.ok(at.run())
    prefix = "edit-draft"
    assert at.toggle(key=f"{prefix}_comprehension").value
    assert at.text_area(key=f"{prefix}_q0_options").value == "You\nThe AI\nNobody"
    assert at.selectbox(key=f"{prefix}_q0_answer").value == "You"
    at.text_input(key=f"{prefix}_title").input("A new title")
    at.text_input(key=f"{prefix}_q0_question").input("Who decides in the end?")
    at = ui.ok(at.button(key="save_config").click().run())
    config = service.get_config(app_engine, "draft")
    assert config.title == "A new title" and config.comprehension is not None
    (question,) = config.comprehension.questions
    assert (question.question, question.options, question.answer) == ("Who decides in the end?", ["You", "The AI", "Nobody"], "You")
    assert (config.comprehension.attempts, config.comprehension.fail_code) == (1, "NOCHECK")
