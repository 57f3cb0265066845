"""Simulated raters through the service layer: behaviour is what the profile declares."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine
from typer.testing import CliRunner

from analysis.simulation import ConditionProfile, SimulationProfile
from study.cli import app
from study.export import judgments_frame
from study.simulate import simulate_study
from study.testing import fixture_items, ready_study, small_config


def _main(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df.is_practice & ~df.is_attention_check]


def test_declared_behaviour_is_what_lands_in_the_database(engine: Engine) -> None:
    cfg = small_config(conditions=[{"key": "none", "assistance": "none"}, {"key": "reasoning", "assistance": "reasoning"}],
                       target_ratings_per_item=50, design={"two_stage": True})
    ready_study(engine, cfg, items=fixture_items(24))
    profile = SimulationProfile(conditions={
        "none": ConditionProfile(skill=0.999),
        "reasoning": ConditionProfile(skill=0.6, shows_ai_label=True, reliance=1.0),
    })
    report = simulate_study(engine, "t", 8, seed=3, profile=profile)
    assert report.raters == 8 and dict(report.by_condition) == {"none": 4, "reasoning": 4}
    df = _main(judgments_frame(engine, "t"))
    assert len(df) == 8 * 6
    reasoning = df[df.condition == "reasoning"]
    assert (reasoning.final_label == reasoning.ai_label).all()  # reliance 1: always adopts the AI label
    assert reasoning.initial_label.notna().all()  # two-stage answers stored
    assert df[df.condition == "none"].correct.mean() > 0.95


def test_simulation_is_reproducible(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from study.db import get_engine, upgrade

    frames = []
    for run in range(2):
        url = f"sqlite:///{tmp_path}/sim{run}.db"
        upgrade(url)
        eng = get_engine(url)
        ready_study(eng, small_config(target_ratings_per_item=20))
        simulate_study(eng, "t", 6, seed=11)
        frames.append(judgments_frame(eng, "t")[["rater_id", "condition", "item_id", "final_label", "confidence"]])
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_cli_simulate_and_analyze(sqlite_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from study.db import get_engine, upgrade

    upgrade(sqlite_url)
    ready_study(get_engine(sqlite_url), small_config(target_ratings_per_item=20))
    runner = CliRunner()
    res = runner.invoke(app, ["simulate", "--study", "t", "--raters", "8", "--seed", "2", "--db", sqlite_url])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("simulated 8 raters, 64 judgments; conditions {'debate': 2, 'evidence': 2, 'none': 2, 'reasoning': 2}")
    out = tmp_path / "a.json"
    res = runner.invoke(app, ["analyze", "--study", "t", "--n-boot", "50", "--out", str(out), "--db", sqlite_url])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert {c["condition"] for c in data["conditions"]} >= {"none", "evidence", "reasoning", "debate"}
    csv = tmp_path / "j.csv"
    judgments_frame(get_engine(sqlite_url), "t").to_csv(csv, index=False)
    res = runner.invoke(app, ["analyze", "--from-csv", str(csv), "--n-boot", "50"])
    assert res.exit_code == 0
    again = json.loads(res.stdout)
    # The database and its exported CSV give the same accuracy per condition.
    acc = {c["condition"]: c["accuracy"] for c in data["conditions"]}
    assert {c["condition"]: c["accuracy"] for c in again["conditions"]} == acc
    res = runner.invoke(app, ["analyze", "--from-csv", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "cannot read CSV" in res.stderr


def test_cli_power(tmp_path) -> None:  # type: ignore[no-untyped-def]
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "conditions:\n"
        "  evidence: {skill: 0.8}\n"
        "  reasoning: {skill: 0.7, shows_ai_label: true, reliance: 0.6}\n"
    )
    res = CliRunner().invoke(app, ["power", "--a", "evidence", "--b", "reasoning", "--profile", str(profile),
                                   "--grid", "4,30", "--items", "20", "--sims", "20", "--n-boot", "50", "--seed", "1"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("design: evidence (reference) vs reasoning, 20 items per rater")
    assert lines[1].split()[:3] == ["n_raters", "n_items", "power"]
    powers = [float(line.split()[2]) for line in lines[2:4]]
    assert powers[1] > powers[0]  # more raters, more power
    assert lines[-1].startswith("raters per condition for 80% power: ")
    bad = CliRunner().invoke(app, ["power", "--a", "evidence", "--b", "nope", "--profile", str(profile), "--sims", "10"])
    assert bad.exit_code == 2 and "nope" in bad.stderr


def test_bad_profile_names_file_and_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "p.yaml"
    bad.write_text("conditions:\n  evidence: {skill: 1.5}\n")
    res = CliRunner().invoke(app, ["power", "--a", "evidence", "--b", "none", "--profile", str(bad), "--sims", "10"])
    assert res.exit_code == 2 and f"{bad}: field 'conditions.evidence.skill'" in res.stderr
    broken = tmp_path / "q.yaml"
    broken.write_text("conditions: [\n  evidence\n")
    res = CliRunner().invoke(app, ["power", "--a", "evidence", "--b", "none", "--profile", str(broken), "--sims", "10"])
    assert res.exit_code == 2 and f"{broken}:" in res.stderr and "not valid YAML" in res.stderr
