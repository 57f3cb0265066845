"""Power analysis by simulation: the real design and the contrast test the package reports."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import SimulationProfile, analyze, power, power_analysis, raters_needed


def test_power_equals_brute_force_of_the_reported_test() -> None:
    """Simulate the same studies and run the full ``analyze``: its contrasts row gives the same
    p-values, so the brute-force rejection rate equals the reported power exactly."""
    prof = SimulationProfile()
    out = power_analysis(prof, "none", "reasoning", metric="over_reliance", n_raters_grid=(6,), items_per_rater=10,
                         ratings_per_item=3, n_sims=12, n_boot=100, seed=4)
    rejections = 0
    for sim in range(12):
        s = power.study_seed(4, 6, sim)
        df = power.simulate_design(prof.model_copy(update={"rater_sd": 0.5, "item_sd": 0.5}), "none", "reasoning",
                                   6, 10, 3, s)
        assert df.groupby("condition")["rater_id"].nunique().to_dict() == {"none": 6, "reasoning": 6}
        assert df["item_id"].nunique() <= 20 and df.groupby("rater_id").size().eq(10).all()
        rows = analyze(df, n_boot=100, seed=s, fit=False).contrasts
        p = rows.loc[rows["metric"] == "over_reliance", "p_value"].iloc[0]
        rejections += p < 0.05
    assert out["power"].iloc[0] == pytest.approx(rejections / 12)
    assert out["n_items"].iloc[0] == 20


def test_power_grows_with_raters() -> None:
    prof = SimulationProfile()  # reasoning: reliance .5 -> over_reliance about .65 vs .3 in none
    out = power_analysis(prof, "none", "reasoning", metric="over_reliance", n_raters_grid=(2, 40),
                         items_per_rater=20, n_sims=30, n_boot=100, seed=1)
    assert list(out.columns) == ["n_raters", "n_items", "power", "mean_difference", "n_sims"]
    assert out["power"].iloc[0] < out["power"].iloc[-1]
    assert out["power"].iloc[-1] >= 0.8
    assert out["mean_difference"].iloc[-1] == pytest.approx(0.35, abs=0.08)
    n = raters_needed(out)
    assert n is not None and n <= 40


def test_rater_and_item_variation_lower_power() -> None:
    """Same design and effect: with SD 0 (every rater and item alike) power is higher than with SD 1."""
    prof = SimulationProfile()
    kw = dict(metric="accuracy", n_raters_grid=(30,), items_per_rater=20, n_sims=40, n_boot=100, seed=3)
    flat = power_analysis(prof, "none", "evidence", rater_sd=0.0, item_sd=0.0, **kw)
    spread = power_analysis(prof, "none", "evidence", rater_sd=1.0, item_sd=1.0, **kw)
    assert flat["power"].iloc[0] > spread["power"].iloc[0]


def test_null_effect_has_power_near_alpha() -> None:
    """debate and none share skill 0.7: the test's rejection rate stays near 5% (80 studies,
    binomial sd 2.4 points; the bootstrap test is a little conservative, so <= 12%)."""
    out = power_analysis(SimulationProfile(), "none", "debate", metric="accuracy", n_raters_grid=(8,),
                         items_per_rater=10, n_sims=80, n_boot=100, seed=2)
    assert out["power"].iloc[0] <= 0.12
    assert np.isfinite(out["mean_difference"].iloc[0])


def test_bad_arguments_are_errors() -> None:
    with pytest.raises(ValueError, match="not in the simulation profile"):
        power_analysis(SimulationProfile(), "none", "nope")
    with pytest.raises(ValueError, match="metric must be one of"):
        power_analysis(SimulationProfile(), "none", "debate", metric="cv_accuracy")
