"""The study form as data: round trip through the config, errors by field path."""

from __future__ import annotations

from study.config import parse_config, parse_config_text
from study.study_form import check_form, default_form, form_from_config
from study.testing import small_config
from study.ui.console import CONFIG_TEMPLATE


def test_form_round_trips_every_setting() -> None:
    config = parse_config(small_config("f", consent_text="Custom consent.", exclusions={"min_time_ms": 900},
                                       completion={"redirect_url": "https://example.org/done?cc={code}"},
                                       bonus={"per_correct": 0.1, "max": 2.0}, design={"type": "within"}))
    check = check_form(form_from_config(config))
    assert check.ok and check.config == config
    assert parse_config_text(check.yaml) == config  # the YAML it writes is the same study


def test_form_values_reach_the_config() -> None:
    form = default_form(CONFIG_TEMPLATE)
    form.name, form.two_stage, form.items_per_rater = "from-form", True, 20
    form.conditions[1].show = {"label": True, "confidence": False, "reasoning": False, "quotes": True, "sources": False}
    form.redirect_url, form.bonus_per_correct, form.bonus_max = "https://x.org/?cc={code}", 0.05, 1.5
    config = check_form(form).config
    assert config is not None and config.name == "from-form" and config.design.two_stage
    assert config.items_per_rater == 20 and config.condition("evidence").show.model_dump() == form.conditions[1].show
    assert config.completion.redirect_url == "https://x.org/?cc={code}"
    assert (config.bonus.per_correct, config.bonus.max) == (0.05, 1.5)
    assert config.consent_text == parse_config_text(CONFIG_TEMPLATE).consent_text


def test_errors_are_keyed_by_the_field_they_concern() -> None:
    form = default_form(CONFIG_TEMPLATE)
    form.conditions[2].key, form.items_per_rater, form.redirect_url = "Bad Key", 0, "ftp://x"
    check = check_form(form)
    assert not check.ok and check.config is None
    assert set(check.errors) == {"conditions.2.key", "items_per_rater", "completion.redirect_url"}
    assert check.errors["completion.redirect_url"] == ["must start with https:// or http://"]
    form = default_form(CONFIG_TEMPLATE)
    form.design_type, form.items_per_rater = "within", 3
    assert check_form(form).errors == {"items_per_rater": ["a within-subjects design needs at least one item per condition"]}
    form = default_form(CONFIG_TEMPLATE)
    form.labels = ["yes", "yes"]
    assert check_form(form).errors == {"labels": ["must be unique"]}


def test_the_comprehension_check_round_trips_and_switches_off() -> None:
    check_cfg = {"questions": [{"question": "Who decides?", "options": ["You", "The AI"], "answer": "You"},
                               {"question": "Can you go back?", "options": ["Yes", "No", "Only once"], "answer": "No"}],
                 "attempts": 1, "fail_code": "NOCOMP"}
    config = parse_config(small_config("c", comprehension=check_cfg))
    form = form_from_config(config)
    assert form.comprehension and [q.answer for q in form.questions] == ["You", "No"]
    assert (form.comprehension_attempts, form.comprehension_fail_code) == (1, "NOCOMP")
    check = check_form(form)
    assert check.ok and check.config == config and parse_config_text(check.yaml) == config
    form.questions[1].options = ["Yes", " ", "Only once"]  # blank options are dropped, the answer must stay one
    assert check_form(form).errors == {"comprehension.questions.1": ["answer: 'No' is not one of the options"]}
    form.questions[1].answer = None
    assert check_form(form).errors == {"comprehension.questions.1.answer": ["choose the right answer (one of the options)"]}
    form.comprehension_attempts = 3
    assert "comprehension.attempts" in check_form(form).errors  # Prolific allows two attempts at most
    form.comprehension = False
    off = check_form(form)
    assert off.ok and off.config is not None and off.config.comprehension is None
    assert off.config.model_copy(update={"comprehension": config.comprehension}) == config
