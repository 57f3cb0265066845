"""The additive two-way bootstrap (analysis.additive) against the exact product-weight engine.

With only raters (or only items) resampled, R + I - 1 equals R * I, so the additive
replicates must equal the exact ones; with all weights 1 they must equal each fold split's
point estimate. Its spread sits between the exact bootstrap's and that minus one
judgment-level part (module docstring), which is checked on a simulated study.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import SimulationProfile, additive, analyze, engine, simulate_judgments

METRICS = len(engine.d.METRICS)
TEAM = [engine.STAT_NAMES.index(n) for n in engine.TEAM_STATS]


def _study(raters: int, items: int, per_rater: int, seed: int = 1) -> pd.DataFrame:
    df = simulate_judgments(raters, items, SimulationProfile(rater_sd=0.5, item_sd=0.5), seed=seed,
                            items_per_rater=per_rater, two_stage=True)
    df["assistance_kind"] = df["condition"]
    return df


@pytest.mark.parametrize(("raters", "items", "per_rater"), [(60, 50, 30), (200, 30, 20)])
@pytest.mark.parametrize("side", ["raters", "items"])
def test_one_sided_weights_equal_the_exact_bootstrap(raters: int, items: int, per_rater: int, side: str) -> None:
    # (60, 50): fewer raters than items per condition (continuous sums by rater); (200, 30): by item.
    layout = engine.build_layout(_study(raters, items, per_rater), reference="none")
    r_w, i_w = engine.draw_weights(layout, 25, 3)
    r_w, i_w = (r_w, np.ones_like(i_w)) if side == "raters" else (np.ones_like(r_w), i_w)
    exact = engine.compute(layout, r_w, i_w, threads=1)
    added = additive.compute(layout, r_w, i_w, threads=2)
    assert set(exact.stats) == set(added.stats)
    for condition, values in exact.stats.items():
        np.testing.assert_allclose(added.stats[condition][:, :METRICS], values[:, :METRICS], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(added.stats[condition][:, TEAM], values[:, TEAM], rtol=1e-9)
    assert np.isfinite(added.stats["reasoning"][:, TEAM]).all()


def test_unit_weights_give_each_splits_point_estimate() -> None:
    layout = engine.build_layout(_study(60, 50, 30), reference="none")
    point = engine.compute(layout, *engine.point_weights(layout), all_splits=True)
    n = 2 * layout.n_splits  # replicate b uses split b mod n_splits
    ones = additive.compute(layout, np.ones((n, len(layout.rater_ids))), np.ones((n, len(layout.item_ids))))
    routed = [engine.STAT_NAMES.index(x) for x in engine.ROUTING_STATS]
    for cells in layout.cells:
        got = ones.stats[cells.condition][:, routed]
        want = np.tile(point.split_stats[cells.condition], (2, 1))
        np.testing.assert_allclose(got[:, 3:], want[:, 3:], rtol=1e-12)  # cv_accuracy .. human_slice_*
        np.testing.assert_allclose(ones.stats[cells.condition][:, :METRICS], np.tile(
            point.stats[cells.condition][:, :METRICS], (n, 1)), rtol=1e-6)  # Brier, ECE: float32 sums
        first = additive.human_items(cells, 0)[0]
        np.testing.assert_array_equal(ones.thresholds[cells.condition][0], first)


def test_spread_is_between_the_exact_one_and_that_without_a_judgment_part() -> None:
    df = _study(400, 200, 40, seed=5)
    exact = engine.run(df, n_boot=400, seed=2, reference="none", bootstrap="exact")
    added = engine.run(df, n_boot=400, seed=2, reference="none", bootstrap="additive")
    assert (exact.bootstrap, added.bootstrap) == ("exact", "additive")
    for condition in ("none", "reasoning"):
        for name in ("accuracy", "over_reliance", "agreement_with_ai"):
            sd_exact = np.nanstd(engine.replicates(exact, condition, name))
            sd_added = np.nanstd(engine.replicates(added, condition, name))
            assert 0.6 * sd_exact < sd_added < 1.02 * sd_exact, (condition, name, sd_exact, sd_added)
            assert engine.value(added, condition, name) == engine.value(exact, condition, name)


def test_auto_switches_at_the_documented_size_and_rejects_unknown_modes() -> None:
    assert additive.chosen("auto", additive.AUTO_JUDGMENTS - 1) == "exact"
    assert additive.chosen("auto", additive.AUTO_JUDGMENTS) == "additive"
    assert additive.chosen("exact", 10**7) == "exact"
    with pytest.raises(ValueError, match="bootstrap must be one of"):
        additive.chosen("pigeonhole", 10)


def test_analysis_reports_which_bootstrap_ran() -> None:
    df = _study(40, 30, 20)
    result = analyze(df, n_boot=50, fit=False, bootstrap="additive")
    assert result.settings["bootstrap"] == "additive"
    assert any(note.startswith("bootstrap: additive") for note in result.notes)
    assert analyze(df, n_boot=50, fit=False).settings["bootstrap"] == "exact"


def test_float64_fallback_gives_the_same_replicates(monkeypatch: pytest.MonkeyPatch) -> None:
    layout = engine.build_layout(_study(60, 50, 30), reference="none")
    r_w, i_w = engine.draw_weights(layout, 30, 4)
    fast = additive.compute(layout, r_w, i_w)
    monkeypatch.setattr(additive, "_EXACT32", 0)  # every block then takes the float64 products
    slow = additive.compute(layout, r_w, i_w)
    for condition, values in slow.stats.items():
        np.testing.assert_allclose(fast.stats[condition], values, rtol=1e-6, atol=1e-12)
