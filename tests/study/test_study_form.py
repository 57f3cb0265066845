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
