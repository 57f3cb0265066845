"""Hybrid routing: curve vs a brute-force loop, cross-fitting vs a brute-force loop, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import SimulationProfile, assign_folds, hybrid_curve, hybrid_summary, simulate_judgments


def _study(seed: int = 3) -> pd.DataFrame:
    prof = SimulationProfile(rater_sd=0.3, item_sd=0.6)
    df = simulate_judgments(24, 30, prof, seed=seed, items_per_rater=20)
    df["ai_confidence"] = df["ai_confidence"].round(2)  # create ties between items
    return df


def _brute_accuracy(rows: pd.DataFrame, t: float) -> tuple[float, float]:
    correct, to_ai = 0, 0
    for r in rows.itertuples():
        if r.ai_confidence > t:
            to_ai += 1
            correct += r.ai_label == r.gold_label
        else:
            correct += r.final_label == r.gold_label
    return correct / len(rows), to_ai / len(rows)


def test_curve_matches_brute_force_loop() -> None:
    df = _study()
    curve = hybrid_curve(df)
    for cond, rows in df.groupby("condition"):
        got = curve[curve["condition"] == cond]
        expected_thresholds = sorted({0.0, *rows["ai_confidence"].tolist()})
        assert got["threshold"].tolist() == pytest.approx(expected_thresholds)
        for t, share, acc in got[["threshold", "share_ai", "accuracy"]].itertuples(index=False):
            b_acc, b_share = _brute_accuracy(rows, t)
            assert acc == pytest.approx(b_acc, abs=1e-12)
            assert share == pytest.approx(b_share, abs=1e-12)
        assert got["share_ai"].iloc[-1] == 0.0  # route-all-to-humans point


def _brute_crossfit(rows: pd.DataFrame, fold_of: dict[str, int], k: int) -> tuple[list[float], float]:
    """Choose T_f on other folds' items (largest T among ties), score fold f."""
    thresholds, correct = [], 0
    for f in range(k):
        train = rows[rows["item_id"].map(fold_of) != f]
        test = rows[rows["item_id"].map(fold_of) == f]
        best_t, best_acc = np.inf, -1.0
        for t in sorted({0.0, *train["ai_confidence"].tolist()}):
            acc, _ = _brute_accuracy(train, t)
            if acc >= best_acc - 1e-12:
                best_t, best_acc = t, acc
        thresholds.append(best_t)
        if len(test):
            correct += _brute_accuracy(test, best_t)[0] * len(test)
    return thresholds, correct / len(rows)


def test_crossfitting_matches_brute_force_and_uses_other_folds_only() -> None:
    df, k, seed = _study(), 4, 7
    items = sorted(df["item_id"].unique())
    fold_of = dict(zip(items, assign_folds(len(items), k, seed), strict=True))
    summary = hybrid_summary(df, k=k, seed=seed, n_boot=0).set_index("condition")
    for cond, rows in df.groupby("condition"):
        thresholds, _ = _brute_crossfit(rows, fold_of, k)
        assert summary.loc[cond, "fold_thresholds"] == pytest.approx(thresholds)
        # Repeated cross-fitting: split s uses assign_folds(..., seed + s); cv_accuracy is the median.
        per_split = [_brute_crossfit(rows, dict(zip(items, assign_folds(len(items), k, seed + s), strict=True)),
                                     k)[1] for s in range(5)]
        assert summary.loc[cond, "cv_accuracy"] == pytest.approx(float(np.median(per_split)), abs=1e-12)
        assert summary.loc[cond, "cv_accuracy_split_min"] == pytest.approx(min(per_split), abs=1e-12)
        assert summary.loc[cond, "cv_accuracy_split_max"] == pytest.approx(max(per_split), abs=1e-12)


def test_scored_fold_never_influences_its_threshold() -> None:
    """Scramble everything about fold f's items (judgments, AI confidence): T_f must not move."""
    df, k, seed, f = _study(5), 5, 11, 2
    items = sorted(df["item_id"].unique())
    in_f = {i for i, fold in zip(items, assign_folds(len(items), k, seed), strict=True) if fold == f}
    rng = np.random.default_rng(0)
    scrambled = df.copy()
    mask = scrambled["item_id"].isin(in_f)
    scrambled.loc[mask, "final_label"] = np.where(scrambled.loc[mask, "final_label"] == "correct",
                                                  "incorrect", "correct")
    new_conf = {i: float(rng.uniform(0.5, 1.0)) for i in in_f}
    scrambled.loc[mask, "ai_confidence"] = scrambled.loc[mask, "item_id"].map(new_conf)
    before = hybrid_summary(df, k=k, seed=seed, n_boot=0).set_index("condition")
    after = hybrid_summary(scrambled, k=k, seed=seed, n_boot=0).set_index("condition")
    changed_elsewhere = False
    for cond in before.index:
        assert after.loc[cond, "fold_thresholds"][f] == before.loc[cond, "fold_thresholds"][f]
        changed_elsewhere |= after.loc[cond, "fold_thresholds"] != before.loc[cond, "fold_thresholds"]
        changed_elsewhere |= after.loc[cond, "cv_accuracy"] != before.loc[cond, "cv_accuracy"]
    assert changed_elsewhere  # the scramble was strong enough to matter for the other folds


def test_complementarity_detected_when_humans_know_what_the_ai_does_not() -> None:
    # Skilled humans, AI strong but unsure exactly when it is wrong: hybrid beats both.
    prof = SimulationProfile.from_dict({
        "ai": {"accuracy": 0.8, "confidence": {"mean_correct": 0.9, "mean_wrong": 0.6, "sd": 0.05}},
        "conditions": {"none": {"skill": 0.75}},
    })
    df = simulate_judgments(40, 80, prof, seed=2)
    row = hybrid_summary(df, k=5, n_boot=200, seed=1).iloc[0]
    assert row["cv_accuracy"] > max(row["human_only"], row["ai_only"])
    assert row["complementarity_ci_low"] > 0 and row["complementary"]
    assert row["human_slice_human_accuracy"] > row["human_slice_ai_accuracy"]
    assert row["oracle"] >= row["cv_accuracy"]


def test_no_complementarity_when_ai_confidence_is_uninformative() -> None:
    prof = SimulationProfile.from_dict({
        "ai": {"accuracy": 0.9, "confidence": {"mean_correct": 0.8, "mean_wrong": 0.8, "sd": 0.1}},
        "conditions": {"none": {"skill": 0.6}},
    })
    df = simulate_judgments(30, 60, prof, seed=4)
    row = hybrid_summary(df, k=5, n_boot=200, seed=1).iloc[0]
    assert not row["complementary"]
