"""Study config validation: good configs load, bad ones name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from study.config import ConfigError, config_to_yaml, load_config, parse_config, parse_config_text
from study.testing import small_config

ROOT = Path(__file__).resolve().parents[2]


def test_demo_config_loads() -> None:
    cfg = load_config(ROOT / "data" / "demo_study.yaml")
    assert cfg.name == "demo"
    assert [c.key for c in cfg.conditions] == ["none", "evidence", "reasoning", "debate"]
    assert cfg.labels == ["correct", "incorrect"]


def test_round_trip_yaml() -> None:
    cfg = parse_config(small_config(design={"type": "within", "two_stage": True}))
    again = parse_config_text(config_to_yaml(cfg))
    assert again == cfg


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "bad name!"}, "name"),
        ({"items_per_rater": 0}, "items_per_rater"),
        ({"items_per_rater": "many"}, "items_per_rater"),
        ({"conditions": [{"key": "x", "assistance": "telepathy"}]}, "conditions.0.assistance"),
        ({"conditions": [{"key": "Bad Key", "assistance": "none"}]}, "conditions.0.key"),
        ({"conditions": []}, "conditions"),
        ({"labels": ["yes"]}, "labels"),
        ({"design": {"type": "sideways"}}, "design.type"),
        ({"confidence": {"min": 0.9, "max": 0.5}}, "confidence"),
        ({"completion": {"redirect_url": "javascript:alert(1)"}}, "completion.redirect_url"),
        ({"unknown_setting": 1}, "unknown_setting"),
        ({"time_limit_minutes": -5}, "time_limit_minutes"),
    ],
)
def test_invalid_config_names_field(change: dict, field: str) -> None:
    data = small_config()
    data.update(change)
    with pytest.raises(ConfigError) as err:
        parse_config(data, "study.yaml")
    assert f"field '{field}'" in str(err.value)
    assert "study.yaml" in str(err.value)


def test_duplicate_condition_keys_rejected() -> None:
    data = small_config(conditions=[{"key": "a", "assistance": "none"}, {"key": "a", "assistance": "evidence"}])
    with pytest.raises(ConfigError, match="keys must be unique"):
        parse_config(data)


def test_label_map_must_target_labels() -> None:
    data = small_config()
    data["import"] = {"label_map": {"SUPPORTS": "true"}}
    with pytest.raises(ConfigError, match="label_map.SUPPORTS"):
        parse_config(data)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nconditions: [\n  - key: none\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:\d+: not valid YAML"):
        load_config(p)


def test_non_mapping_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_config_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.yaml")


def test_bad_encoding(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(p)


def test_controlled_verdict_and_llm_are_refused_together() -> None:
    llm = {"backend": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "m"}
    both = small_config(assistance={"verdict": {"kind": "controlled"}, "llm": llm})
    with pytest.raises(ConfigError, match="set only one"):
        parse_config(both)
    one = parse_config(small_config(assistance={"llm": llm, "debate_rounds": 2}))
    assert one.assistance.llm is not None and one.assistance.verdict is None and one.assistance.debate_rounds == 2
