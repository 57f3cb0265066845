"""Two-stage studies: condition `none` answers once, so its RAIR and RSR are undefined.

The simulated raters (the same driver a scripted rater uses) play a two-stage study with
a `none` and a `reasoning` condition; the export then has no first answers for `none`,
and the analysis gives RSR/RAIR for `none` as null (not 1 [1, 1]) while `reasoning`
has them, equal to a direct count from the exported rows (DESIGN.md formulas).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import Engine

from analysis.report import analyze
from analysis.simulation import ConditionProfile, SimulationProfile
from study.export import judgments_frame
from study.simulate import simulate_study
from study.testing import fixture_items, ready_study, small_config


def _rsr(df: pd.DataFrame) -> float:
    """RSR = #(h0 == y, a != y, h == h0) / #(h0 == y, a != y), counted directly."""
    base = df[(df.initial_label == df.gold_label) & (df.ai_label != df.gold_label)]
    return float((base.final_label == base.initial_label).mean()) if len(base) else math.nan


def test_none_raters_answer_once_and_rsr_is_undefined_for_none(engine: Engine) -> None:
    cfg = small_config(conditions=[{"key": "none", "assistance": "none"}, {"key": "reasoning", "assistance": "reasoning"}],
                       target_ratings_per_item=50, design={"two_stage": True}, practice_items=0)
    ready_study(engine, cfg, items=fixture_items(24, n_practice=0))
    profile = SimulationProfile(conditions={
        "none": ConditionProfile(skill=0.8),
        "reasoning": ConditionProfile(skill=0.6, shows_ai_label=True, reliance=0.5),
    })
    simulate_study(engine, "t", 12, seed=5, profile=profile)
    df = judgments_frame(engine, "t")
    main = df[~df.is_practice & ~df.is_attention_check]
    none, reasoning = main[main.condition == "none"], main[main.condition == "reasoning"]
    assert len(none) and none.initial_label.isna().all() and none.initial_at.isna().all()
    assert reasoning.initial_label.notna().all()
    assert df.confidence_moved.eq(True).all()  # the scripted raters set their confidence on purpose
    metrics = analyze(df, n_boot=50, fit=False).metrics.set_index("condition")
    assert math.isnan(metrics.loc["none", "rsr"]) and math.isnan(metrics.loc["none", "rair"])
    assert math.isnan(metrics.loc["none", "rsr_ci_low"])
    assert not math.isnan(_rsr(reasoning)) and metrics.loc["reasoning", "rsr"] == pytest.approx(_rsr(reasoning))
    assert not math.isnan(metrics.loc["reasoning", "switch_rate"])
