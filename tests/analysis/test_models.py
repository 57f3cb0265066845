"""Regression models: recover a simulated condition effect; tidy output; degenerate data."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import MODEL_COLUMNS, SimulationProfile, fit_models, simulate_judgments

PROFILE = SimulationProfile.from_dict({
    "ai": {"accuracy": 0.7},
    "conditions": {"none": {"skill": 0.6}, "evidence": {"skill": 0.85}},
})
EFFECT = float(np.log(0.85 / 0.15) - np.log(0.6 / 0.4))  # 1.33 on the log-odds scale


@pytest.fixture(scope="module")
def fitted():
    return fit_models(simulate_judgments(60, 40, PROFILE, seed=4))


def test_tidy_columns(fitted) -> None:
    assert list(fitted.columns) == MODEL_COLUMNS
    assert set(fitted["model"]) == {"mixed_vb", "gee_rater"}
    assert set(fitted["outcome"]) == {"correct", "agree_with_ai"}
    assert (fitted["ci_low"] <= fitted["ci_high"]).all()


@pytest.mark.parametrize("model", ["mixed_vb", "gee_rater"])
def test_recovers_condition_effect(fitted, model: str) -> None:
    # No reliance in either condition, so correctness does not depend on ai_correct and the
    # condition effect at ai_correct = 0 is logit(.85) - logit(.6); tolerance 0.4 log-odds.
    row = fitted.query("model == @model and outcome == 'correct' and term == 'condition[evidence]'").iloc[0]
    assert row["estimate"] == pytest.approx(EFFECT, abs=0.4)
    assert row["ci_low"] > 0 and row["p_value"] < 0.01
    inter = fitted.query("model == @model and outcome == 'correct' and term == 'condition[evidence]:ai_correct'")
    assert abs(inter["estimate"].iloc[0]) < 0.5


def test_one_condition_gives_null_rows_with_reason() -> None:
    out = fit_models(simulate_judgments(10, 10, PROFILE, seed=1, conditions=["none"]))
    assert len(out) == 4 and out["term"].isna().all() and out["estimate"].isna().all()
    assert out["note"].str.contains("at least 2 conditions").all()


def test_perfect_separation_gives_null_rows() -> None:
    df = simulate_judgments(10, 10, PROFILE, seed=1)
    df.loc[df["condition"] == "evidence", "final_label"] = df["gold_label"]
    out = fit_models(df)
    sep = out[out["outcome"] == "correct"]
    assert sep["term"].isna().all() and sep["note"].str.contains("perfect separation").all()


def test_missing_column_gives_null_rows() -> None:
    out = fit_models(simulate_judgments(6, 6, PROFILE, seed=1).drop(columns=["ai_label"]))
    assert out["note"].str.contains("missing column").all()
