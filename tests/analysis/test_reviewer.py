"""Reviewer analyses: trial position, item difficulty, routing by human and by both confidences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import (
    assign_folds,
    difficulty_bins,
    item_difficulty,
    position_bins,
    position_slopes,
    routing_by_confidence,
    simulate_judgments,
)
from analysis.confidence_routing import RULES


def _learning_study(slope: float, seed: int = 0) -> pd.DataFrame:
    """60 raters x 30 items in random order; P(correct) = 0.55 + slope * position / 10 + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    u, v = rng.normal(0, 0.05, 60), rng.normal(0, 0.05, 30)
    for r in range(60):
        for pos, j in enumerate(rng.permutation(30)):
            p = np.clip(0.55 + slope * pos / 10 + u[r] + v[j], 0.01, 0.99)
            right = rng.random() < p
            rows.append({"rater_id": f"r{r}", "item_id": f"i{j}", "condition": "none", "position": pos,
                         "gold_label": "T", "ai_label": "T" if j % 4 else "F",
                         "final_label": "T" if right else "F"})
    return pd.DataFrame(rows)


def test_position_slope_recovers_learning_and_matches_least_squares() -> None:
    df = _learning_study(0.1)
    row = position_slopes(df).set_index("outcome").loc["correct"]
    want = np.polyfit(df["position"] / 10, (df["final_label"] == df["gold_label"]).astype(float), 1)[0]
    assert row["slope_per_10_trials"] == pytest.approx(want, abs=1e-10)
    assert row["ci_low"] < 0.1 < row["ci_high"] and row["ci_low"] > 0 and row["p_value"] < 0.01
    flat = position_slopes(_learning_study(0.0, seed=1)).set_index("outcome").loc["correct"]
    assert flat["ci_low"] < 0 < flat["ci_high"]


def test_position_bins_equal_groupby() -> None:
    df = _learning_study(0.1, seed=2)
    bins = position_bins(df, n_bins=3)
    edges = np.linspace(0, 29, 4)
    b = np.clip(np.searchsorted(edges, df["position"], side="right") - 1, 0, 2)
    want = (df["final_label"] == df["gold_label"]).groupby(b).mean()
    assert bins["accuracy"].to_numpy() == pytest.approx(want.to_numpy())
    assert bins["n"].sum() == len(df)


def test_item_difficulty_uses_reference_and_bins_ai_errors() -> None:
    df = simulate_judgments(40, 20, seed=3)
    items, source = item_difficulty(df, reference="none")
    assert source == "reference condition none"
    ref = df[df["condition"] == "none"]
    want = (ref["final_label"] == ref["gold_label"]).groupby(ref["item_id"]).mean()
    assert items.set_index("item_id")["human_accuracy"].to_dict() == pytest.approx(want.to_dict())
    bins = difficulty_bins(items)
    assert bins["n_items"].sum() == 20
    ai_wrong = items["ai_correct"] == 0
    assert bins["ai_errors"].sum() == int(ai_wrong.sum())
    hard = items["human_accuracy"] < 0.2
    assert bins.loc[0, "ai_errors"] == int((hard & ai_wrong).sum())


def _brute(rows: pd.DataFrame, rule: str, fold_of: dict[str, int], k: int) -> float:
    grid = RULES[rule]
    score = 1 - rows["confidence"] if rule == "human_confidence" else rows["ai_confidence"] - rows["confidence"]
    human = (rows["final_label"] == rows["gold_label"]).to_numpy()
    ai = (rows["ai_label"] == rows["gold_label"]).to_numpy()
    fold = rows["item_id"].map(fold_of).to_numpy()
    thresholds = [-np.inf, *grid, np.inf]
    correct = 0
    for f in range(k):
        train = fold != f
        best_t, best = None, -1
        for t in thresholds:  # ascending: >= keeps the largest T among ties
            acc = np.where(score.to_numpy() > t, ai, human)[train].sum()
            if acc >= best:
                best_t, best = t, acc
        correct += np.where(score.to_numpy() > best_t, ai, human)[~train].sum()
    return correct / len(rows)


@pytest.mark.parametrize("rule", list(RULES))
def test_confidence_routing_matches_brute_force(rule: str) -> None:
    df = simulate_judgments(24, 18, seed=5)
    got = routing_by_confidence(df, k=3, seed=4).set_index(["condition", "rule"])
    items = sorted(df["item_id"].unique())
    for cond, rows in df.groupby("condition"):
        per = [_brute(rows, rule, dict(zip(items, assign_folds(len(items), 3, 4 + s), strict=True)), 3)
               for s in range(5)]
        row = got.loc[(cond, rule)]
        assert row["cv_accuracy"] == pytest.approx(np.median(per), abs=1e-12)
        assert row["cv_accuracy_split_min"] == pytest.approx(min(per), abs=1e-12)
        assert row["cv_accuracy_split_max"] == pytest.approx(max(per), abs=1e-12)


def test_human_confidence_routing_helps_when_confidence_is_informative() -> None:
    """Humans (accuracy ~.7) are unsure exactly when they are wrong; the AI is right on ~80% of items
    independently: routing the unsure ones gives about .7 + .3 * .8 = .94 against max(.7, .8)."""
    rng = np.random.default_rng(7)
    df = simulate_judgments(30, 30, seed=7)
    right = df["final_label"] == df["gold_label"]
    df["confidence"] = np.where(right, rng.uniform(0.8, 1.0, len(df)), rng.uniform(0.5, 0.7, len(df)))
    row = routing_by_confidence(df).set_index(["condition", "rule"]).loc[("none", "human_confidence")]
    assert row["complementarity"] > 0.08 and row["n_splits"] == 5


def _difficulty_by_groupby(df: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """Per-item difficulty by a pandas groupby on the raw text columns (the independent version)."""
    use = df if reference is None else df[df["condition"].astype("string") == reference]
    gold, ai, final = (use[c].astype("string").str.strip() for c in ("gold_label", "ai_label", "final_label"))
    graded = gold.notna()
    data = pd.DataFrame({"item_id": use["item_id"].astype("string"), "graded": graded,
                         "correct": graded & (final == gold).fillna(False),
                         "ai_correct": np.where(ai.notna() & graded, (ai == gold).fillna(False).astype(float), np.nan),
                         "ai_confidence": use["ai_confidence"]})[graded.to_numpy()]
    out = data.groupby("item_id", sort=True).agg(n=("graded", "sum"), correct=("correct", "sum"),
                                                 ai_correct=("ai_correct", "first"),
                                                 ai_confidence=("ai_confidence", "first")).reset_index()
    out["human_accuracy"] = out["correct"] / out["n"]
    return out[["item_id", "n", "human_accuracy", "ai_correct", "ai_confidence"]]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reference", [None, "none", "absent"])
def test_item_difficulty_equals_a_groupby_with_missing_values(seed: int, reference: str | None) -> None:
    rng = np.random.default_rng(seed)
    df = simulate_judgments(30, 25, seed=seed)
    for column, share in (("gold_label", 0.1), ("ai_label", 0.1), ("ai_confidence", 0.2), ("item_id", 0.05),
                          ("condition", 0.05)):
        df.loc[rng.random(len(df)) < share, column] = None
    got, _ = item_difficulty(df, reference=reference)
    want = _difficulty_by_groupby(df, reference)
    assert got["item_id"].tolist() == want["item_id"].tolist()
    np.testing.assert_array_equal(got["n"].to_numpy(), want["n"].to_numpy())
    for column in ("human_accuracy", "ai_correct", "ai_confidence"):
        np.testing.assert_allclose(got[column].to_numpy(dtype=float), want[column].to_numpy(dtype=float))
