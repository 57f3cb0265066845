"""Power analysis by simulation."""

from __future__ import annotations

import pytest

from analysis import SimulationProfile, power_analysis, raters_needed


def test_power_grows_with_raters_and_finds_threshold() -> None:
    prof = SimulationProfile()  # reasoning: reliance .5 -> over_reliance .65 vs .3 in none
    out = power_analysis(prof, "none", "reasoning", metric="over_reliance", n_raters_grid=(2, 4, 20),
                         n_items=30, n_sims=100, seed=1)
    assert list(out.columns) == ["n_raters", "power", "mean_difference", "n_sims"]
    assert out["power"].iloc[-1] >= 0.95
    assert out["power"].iloc[0] < out["power"].iloc[-1]
    assert out["mean_difference"].iloc[-1] == pytest.approx(0.35, abs=0.05)
    n = raters_needed(out)
    assert n is not None and n <= 20


def test_null_effect_has_power_near_alpha() -> None:
    prof = SimulationProfile()
    out = power_analysis(prof, "none", "debate", metric="accuracy", n_raters_grid=(20,), n_items=20,
                         n_sims=300, seed=2)
    assert out["power"].iloc[0] == pytest.approx(0.05, abs=0.04)
    assert raters_needed(out) is None


def test_unknown_condition_is_an_error() -> None:
    with pytest.raises(ValueError, match="not in the simulation profile"):
        power_analysis(SimulationProfile(), "none", "nope")
