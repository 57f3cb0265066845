"""The vectorised two-way bootstrap equals a plain loop over replicates with row weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import SimulationProfile, engine, simulate_judgments


def _loop_replicate(df: pd.DataFrame, rater_w: dict[str, float], item_w: dict[str, float]) -> dict[str, float]:
    w = df["rater_id"].map(rater_w) * df["item_id"].map(item_w)
    h, y, a = df["final_label"], df["gold_label"], df["ai_label"]
    wrong = a != y
    p, ok = df["confidence"], (h == y).astype(float)
    bins = np.minimum(np.floor(p * 10), 9)
    ece = sum(abs((w * (p - ok))[bins == b].sum()) for b in range(10)) / w.sum()
    return {
        "accuracy": (w * (h == y)).sum() / w.sum(),
        "over_reliance": (w * ((h == a) & wrong)).sum() / (w * wrong).sum(),
        "rater_ece": ece,
    }


def test_replicates_equal_weighted_loop() -> None:
    df = simulate_judgments(20, 15, SimulationProfile(rater_sd=0.5), seed=9, items_per_rater=10)
    layout = engine.build_layout(df, k=3, seed=0)
    rater_w, item_w = engine.draw_weights(layout, 5, seed=0)
    reps = engine.compute(layout, rater_w, item_w)
    for b in range(5):
        rw = dict(zip(layout.rater_ids, rater_w[b], strict=True))
        iw = dict(zip(layout.item_ids, item_w[b], strict=True))
        for cond, rows in df.groupby("condition"):
            expected = _loop_replicate(rows, rw, iw)
            for name, value in expected.items():
                got = reps.stats[cond][b, engine.STAT_NAMES.index(name)]
                assert got == pytest.approx(value, rel=1e-12, nan_ok=True), (cond, name, b)


def test_raters_resampled_within_condition_strata() -> None:
    df = simulate_judgments(12, 5, seed=1)
    layout = engine.build_layout(df)
    rater_w, item_w = engine.draw_weights(layout, 200, seed=2)
    for cells in layout.cells:  # between-subjects: each condition keeps its number of raters
        assert (rater_w[:, cells.raters].sum(axis=1) == len(cells.raters)).all()
    assert (item_w.sum(axis=1) == len(layout.item_ids)).all()
    assert rater_w.std() > 0 and item_w.std() > 0


def test_inconsistent_ai_label_for_an_item_is_a_clear_error() -> None:
    df = simulate_judgments(4, 3, seed=1, conditions=["none"])
    df.loc[0, "ai_label"] = "incorrect" if df.loc[0, "ai_label"] == "correct" else "correct"
    with pytest.raises(ValueError, match="item 'i00000'"):
        engine.build_layout(df)


def test_dense_and_judgment_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small designs use dense rater x item cells, large ones per-judgment weights: same numbers."""
    df = simulate_judgments(20, 15, SimulationProfile(rater_sd=0.5), seed=9, items_per_rater=10, two_stage=True)
    layout = engine.build_layout(df, k=3, seed=0, reference="none")
    assert all(c.x is not None for c in layout.cells)
    rater_w, item_w = engine.draw_weights(layout, 7, seed=1)
    dense = engine.compute(layout, rater_w, item_w)
    monkeypatch.setattr(engine, "_DENSE_CELLS", 0)
    sparse_layout = engine.build_layout(df, k=3, seed=0, reference="none")
    assert all(c.x is None for c in sparse_layout.cells)
    sparse = engine.compute(sparse_layout, rater_w, item_w)
    for cond, values in dense.stats.items():
        np.testing.assert_allclose(sparse.stats[cond], values, rtol=1e-12, atol=1e-12)
