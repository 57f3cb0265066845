"""Every metric against a hand computation on a 6-row table (tests/analysis/analysis_tables.py).

Hand computation (rows 1..6 of HAND_ROWS in conftest.py; AI right on items i1, i3, wrong on i2):
- correct h == y: rows 1, 3, 5, 6 -> accuracy 4/6
- agree h == a: rows 1, 2, 3, 6 -> agreement 4/6
- AI wrong rows {2, 5}: agree on 2 -> over_reliance 1/2; correct on 5 -> acc_when_ai_wrong 1/2
- AI right rows {1, 3, 4, 6}: disagree on 4 -> under_reliance 1/4; correct 1, 3, 6 -> 3/4
- RAIR: h0 != y and a == y: rows 1, 4, 6; h == a on 1, 6 -> 2/3
- RSR: h0 == y and a != y: rows 2, 5; h == h0 on 5 -> 1/2
- switched h != h0: rows 1, 2, 6 -> 3/6
- rater Brier: (.1^2 + .6^2 + .3^2 + .55^2 + .05^2 + .2^2) / 6 = .805 / 6
- rater ECE: bins 9 {1, 5}: |-.1 - .05| = .15; 6 {2}: .6; 7 {3}: .3; 5 {4}: .55; 8 {6}: .2 -> 1.8 / 6
- AI Brier per judgment: 2 * (.01 + .36 + .04) / 6 = .82 / 6
- AI ECE: bins 9 {i1}: 2 * .1; 6 {i2}: 2 * .6; 8 {i3}: 2 * .2 -> 1.8 / 6
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import condition_metrics, hybrid_curve, hybrid_summary

EXPECTED = {
    "accuracy": 4 / 6,
    "agreement_with_ai": 4 / 6,
    "over_reliance": 1 / 2,
    "under_reliance": 1 / 4,
    "accuracy_when_ai_correct": 3 / 4,
    "accuracy_when_ai_wrong": 1 / 2,
    "rair": 2 / 3,
    "rsr": 1 / 2,
    "switch_rate": 3 / 6,
    "rater_brier": 0.805 / 6,
    "rater_ece": 1.8 / 6,
    "ai_brier": 0.82 / 6,
    "ai_ece": 1.8 / 6,
}


@pytest.fixture
def table(make_hand_table) -> pd.DataFrame:
    return condition_metrics(make_hand_table(), n_boot=50, seed=1)


@pytest.mark.parametrize("metric", sorted(EXPECTED))
def test_metric_matches_hand_computation(table: pd.DataFrame, metric: str) -> None:
    row = table.set_index("condition").loc["reasoning"]
    assert row[metric] == pytest.approx(EXPECTED[metric], abs=1e-12)
    assert 0.0 <= row[f"{metric}_ci_low"] <= row[f"{metric}_ci_high"] <= 1.0


def test_counts_and_overall_row(table: pd.DataFrame) -> None:
    row = table.set_index("condition").loc["overall"]
    assert (row["n"], row["n_raters"], row["n_items"]) == (6, 2, 3)
    assert row["accuracy"] == pytest.approx(4 / 6)


def test_overall_pools_conditions(make_hand_table) -> None:
    # Condition B: rater r9 gets both items wrong where the AI is right (2 more judgments).
    b = make_hand_table("none").iloc[[0, 2]].assign(rater_id="r9", final_label=["F", "T"])
    both = pd.concat([make_hand_table(), b], ignore_index=True)
    out = condition_metrics(both, n_boot=0).set_index("condition")
    assert out.loc["none", "accuracy"] == 0.0
    assert out.loc["overall", "accuracy"] == pytest.approx(4 / 8)
    assert out.loc["overall", "under_reliance"] == pytest.approx((1 + 2) / (4 + 2))
    assert np.isnan(out.loc["none", "accuracy_ci_low"])  # n_boot = 0 -> no interval


def test_hybrid_reference_rules_and_curve_by_hand(make_hand_table) -> None:
    # oracle: AI right on rows 1, 3, 4, 6, human right on 5 -> 5/6.
    summary = hybrid_summary(make_hand_table(), k=2, n_boot=20).iloc[0]
    assert summary["human_only"] == pytest.approx(4 / 6)
    assert summary["ai_only"] == pytest.approx(4 / 6)
    assert summary["oracle"] == pytest.approx(5 / 6)
    # T=0: all AI (4/6); T=.6: i2 to humans (rows 2 wrong, 5 right) -> 5/6;
    # T=.8: i2, i3 to humans -> 1 + 2 human-correct + 2 AI-correct = 5/6; T=.9: all humans 4/6.
    curve = hybrid_curve(make_hand_table())
    assert curve["threshold"].tolist() == [0.0, 0.6, 0.8, 0.9]
    assert curve["share_ai"].tolist() == pytest.approx([1.0, 4 / 6, 2 / 6, 0.0])
    assert curve["accuracy"].tolist() == pytest.approx([4 / 6, 5 / 6, 5 / 6, 4 / 6])


def test_ratio_of_sums_not_mean_of_means(make_hand_table) -> None:
    # Rater r1 judged 3 items (all right), r2 one item (wrong): pooled 3/4, not (1 + 0)/2.
    df = make_hand_table().iloc[[0, 2, 4, 3]].copy()
    df["rater_id"] = ["r1", "r1", "r1", "r2"]
    assert condition_metrics(df, n_boot=0)["accuracy"].iloc[0] == pytest.approx(3 / 4)
