"""Consultancy and controlled-AI settings end to end: config, real pipeline, export, quality gate."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from study import models as m
from study import rater as raters
from study import service
from study.assist import generate_for_study, quality_summary
from study.cli import app
from study.config import ConfigError, load_config, parse_config
from study.db import read_session
from study.demo import DEMO_CONFIG
from study.export import columns, judgments_frame
from study.testing import fixture_items, small_config

CONSULTANCY = {
    "conditions": [{"key": "consult", "assistance": "consultancy"}, {"key": "none", "assistance": "none"}],
    "assistance": {
        "encoder": "hashing",
        "folds": 3,
        "verdict": {"kind": "controlled", "accuracy": 0.75, "calibration": "calibrated"},
        "consultancy_correct_share": 0.5,
    },
}


def test_demo_uses_a_controlled_calibrated_ai_near_085() -> None:
    verdict = load_config(DEMO_CONFIG).assistance.verdict
    assert verdict is not None and verdict.kind == "controlled"
    assert verdict.accuracy == pytest.approx(0.85) and verdict.calibration == "calibrated"


def test_config_accepts_consultancy_and_rejects_bad_verdict_settings() -> None:
    cfg = parse_config(small_config(**CONSULTANCY))
    assert cfg.conditions[0].assistance == "consultancy" and cfg.assistance.consultancy_correct_share == 0.5
    with pytest.raises(ConfigError, match=r"assistance\.verdict\.accuracy"):
        parse_config(small_config(assistance={"verdict": {"kind": "controlled", "accuracy": 1.5}}))
    with pytest.raises(ConfigError, match=r"assistance\.verdict\.calibration"):
        parse_config(small_config(assistance={"verdict": {"kind": "controlled", "calibration": "wild"}}))
    with pytest.raises(ConfigError, match=r"assistance\.debate_rounds"):
        parse_config(small_config(assistance={"debate_rounds": 0}))


def _rate(engine: Engine, ext: str, answer: str) -> None:
    tok = raters.enrol(engine, "t", ext).token
    raters.consent(engine, tok)
    raters.start(engine, tok)
    while (view := raters.rater_view(engine, tok)).screen == "item":
        item = view.item
        assert item is not None
        label = ("correct" if "'correct'" in item.claim else "incorrect") if item.is_attention_check else answer
        if item.assistance_kind == "consultancy" and not item.is_attention_check:
            assert item.assistance is not None and set(item.assistance) == {"label", "argument", "quotes", "assigned_correct"}
        raters.submit_judgment(engine, tok, item.assignment_id, label, 0.8)


def test_consultancy_study_exports_consultant_correct(engine: Engine) -> None:
    cfg = parse_config(small_config(**CONSULTANCY))
    service.create_study(engine, cfg)
    items = fixture_items(24)
    service.import_items(engine, "t", items)
    generate_for_study(engine, "t")
    assert set(service.assistance_status(engine, "t")) == {"verdict", "consultancy"}
    service.set_status(engine, "t", "live")
    for i in range(4):
        _rate(engine, f"r{i}", "correct")
    df = judgments_frame(engine, "t")
    assert list(df.columns) == columns("judgments")
    consult = df[(df.condition == "consult") & ~df.is_attention_check]
    other = df[(df.condition != "consult") | df.is_attention_check]
    assert len(consult) > 0 and consult["consultant_correct"].notna().all()
    assert other["consultant_correct"].isna().all()
    stored = {c["item_id"]: c["assigned_correct"] for c in _consultancy_contents(engine)}
    assert len(stored) == len([it for it in items if it.role != "attention_check"])
    gold = {it.item_id: it.gold_label for it in items}
    for row in consult.itertuples():
        assert row.consultant_correct == stored[row.item_id]
    main = [it for it in items if it.role == "main"]
    summary = quality_summary(engine, "t")
    assert summary["consultancy"]["items"] == len(main)
    assert summary["consultancy"]["assigned_correct_share"] == round(round(0.5 * len(main)) / len(main), 4)
    assert summary["verdict"]["accuracy"] == round(round(0.75 * len(main)) / len(main), 4)
    assert set(gold) >= set(consult["item_id"])


def _consultancy_contents(engine: Engine) -> list[dict[str, object]]:
    with read_session(engine) as s:
        rows = s.execute(
            select(m.Item.item_id, m.Item.gold_label, m.Assistance.content)
            .join(m.Assistance, m.Assistance.item_pk == m.Item.id)
            .where(m.Assistance.kind == "consultancy")
        ).all()
    out = []
    for item_id, gold, content in rows:
        assert content["assigned_correct"] == (content["label"] == gold)
        out.append({"item_id": item_id, "assigned_correct": content["assigned_correct"]})
    return out


def test_assist_prints_the_quality_gate(db_url: str) -> None:
    from study.db import get_engine, upgrade

    upgrade(db_url)
    engine = get_engine(db_url)
    service.create_study(engine, parse_config(small_config(assistance={"encoder": "hashing", "folds": 3})))
    service.import_items(engine, "t", fixture_items(24))
    res = CliRunner().invoke(app, ["assist", "--study", "t", "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "Assistance quality on 24 main items" in res.stdout
    assert "vs majority rate" in res.stdout and "ECE" in res.stdout and "reliability" in res.stdout
    assert "quotes verified:" in res.stdout and "debate sides without support:" in res.stdout
