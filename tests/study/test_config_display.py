"""Typed conditions carry display toggles; config errors come as structured field errors."""

from __future__ import annotations

import pickle

import pytest

from study.config import (
    Condition,
    ConfigError,
    Display,
    FieldError,
    config_to_yaml,
    parse_config,
    parse_config_text,
)
from study.testing import small_config
from study.ui.console import _config_errors

#: What each kind showed before the toggles existed (the rater page, study/ui/assistance_view.py).
TODAY = {
    "none": Display(label=False, confidence=False, reasoning=False, quotes=False, sources=True),
    "evidence": Display(label=False, confidence=False, reasoning=False, quotes=True, sources=True),
    "reasoning": Display(label=True, confidence=True, reasoning=True, quotes=True, sources=True),
    "debate": Display(label=False, confidence=False, reasoning=True, quotes=True, sources=True),
}


def test_defaults_reproduce_the_four_conditions() -> None:
    cfg = parse_config(small_config())
    assert {c.assistance: c.show for c in cfg.conditions} == TODAY


@pytest.mark.parametrize("show_sources", [True, False])
def test_sources_follow_the_study_setting_unless_set(show_sources: bool) -> None:
    data = small_config(show_sources=show_sources)
    data["conditions"][1]["show"] = {"sources": not show_sources}
    cfg = parse_config(data)
    assert [c.show.sources for c in cfg.conditions] == [show_sources, not show_sources, show_sources, show_sources]


def test_a_set_toggle_wins_and_the_rest_follow_the_kind() -> None:
    data = small_config()
    data["conditions"][2]["show"] = {"label": False}
    cfg = parse_config(data)
    assert cfg.conditions[2].show == TODAY["reasoning"].model_copy(update={"label": False})
    assert Condition(key="e", assistance="evidence").show == TODAY["evidence"]


def test_toggles_round_trip_and_unknown_toggles_are_named() -> None:
    data = small_config(show_sources=False)
    data["conditions"][0]["show"] = {"quotes": True}
    cfg = parse_config(data)
    assert parse_config_text(config_to_yaml(cfg)) == cfg
    data["conditions"][0]["show"] = {"verdict": True}
    with pytest.raises(ConfigError) as info:
        parse_config(data, "s.yaml")
    assert [(e.path, e.line) for e in info.value.errors] == [("conditions.0.show.verdict", None)]


def test_errors_are_structured_with_lines_and_the_text_is_unchanged() -> None:
    text = "name: 'bad name!'\nconditions:\n  - key: x\n    assistance: telepathy\nitems_per_rater: 0\n"
    with pytest.raises(ConfigError) as info:
        parse_config_text(text, "study.yaml")
    err = info.value
    assert err.origin == "study.yaml"
    assert [(e.path, e.line) for e in err.errors] == [
        ("name", 1), ("conditions.0.assistance", 4), ("items_per_rater", 5)]
    assert err.errors[2].message.startswith("Input should be greater than or equal to 1")
    assert str(err).splitlines() == [f"study.yaml: field '{e.path}': {e.message}" for e in err.errors]
    assert _config_errors(err) == [(e.path, e.message) for e in err.errors]


def test_missing_field_points_at_its_parent_and_file_errors_have_no_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config_text("name: x\nconditions:\n  - assistance: none\n", "c.yaml")
    assert info.value.errors == [FieldError("conditions.0.key", "Field required", 3)]
    with pytest.raises(ConfigError) as info:
        parse_config_text("name: x\nconditions: [\n", "c.yaml")
    (only,) = info.value.errors
    assert only.path == "" and only.line == 3 and only.message.startswith("not valid YAML")
    assert str(info.value).startswith("c.yaml:3: not valid YAML")
    assert _config_errors(info.value) == [("(file)", str(info.value))]


def test_config_error_pickles_with_its_structure() -> None:
    err = ConfigError("s.yaml", [FieldError("name", "bad", 2), FieldError("", "not valid YAML: x", 4)])
    again = pickle.loads(pickle.dumps(err))
    assert (again.origin, again.errors, str(again)) == (err.origin, err.errors, str(err))
    assert str(err) == "s.yaml: field 'name': bad\ns.yaml:4: not valid YAML: x"
