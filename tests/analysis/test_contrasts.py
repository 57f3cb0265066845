"""Contrasts against the reference, effect sizes and team complementarity, recomputed independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis import analyze, bootstrap_p, engine, holm, simulate_judgments


@pytest.fixture(scope="module")
def study() -> pd.DataFrame:
    df = simulate_judgments(24, 16, seed=11, items_per_rater=12)
    df["assistance_kind"] = df["condition"]
    return df


@pytest.fixture(scope="module")
def result(study: pd.DataFrame):  # type: ignore[no-untyped-def]
    return analyze(study, n_boot=60, seed=2, k=3, fit=False)


def _weighted_accuracy(rows: pd.DataFrame, rw: dict[str, float], iw: dict[str, float]) -> float:
    w = rows["rater_id"].map(rw) * rows["item_id"].map(iw)
    return float((w * (rows["final_label"] == rows["gold_label"])).sum() / w.sum())


def test_accuracy_contrast_from_joint_replicates(study: pd.DataFrame, result) -> None:  # type: ignore[no-untyped-def]
    """Redo the replicates with pandas row weights from the same draws, then the interval and p."""
    layout = engine.build_layout(study, k=3, seed=2, reference="none")
    rater_w, item_w = engine.draw_weights(layout, 60, seed=2)
    by_cond = dict(tuple(study.groupby("condition")))
    rows = result.contrasts.set_index(["condition", "metric"])
    for cond in ("evidence", "reasoning", "debate"):
        diffs = []
        for b in range(60):
            rw = dict(zip(layout.rater_ids, rater_w[b], strict=True))
            iw = dict(zip(layout.item_ids, item_w[b], strict=True))
            diffs.append(_weighted_accuracy(by_cond[cond], rw, iw) - _weighted_accuracy(by_cond["none"], rw, iw))
        d = np.array(diffs)
        point = ((by_cond[cond]["final_label"] == by_cond[cond]["gold_label"]).mean()
                 - (by_cond["none"]["final_label"] == by_cond["none"]["gold_label"]).mean())
        row = rows.loc[(cond, "accuracy")]
        assert row["estimate"] == pytest.approx(point, abs=1e-12)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(list(np.percentile(d, [2.5, 97.5])), abs=1e-12)
        p = min(1.0, 2 * min((d <= 0).sum() + 1, (d >= 0).sum() + 1) / 61)
        assert row["p_value"] == pytest.approx(p)


def test_family_and_holm(result) -> None:  # type: ignore[no-untyped-def]
    c = result.contrasts
    assert list(c.columns) == ["condition", "reference", "metric", "estimate", "ci_low", "ci_high", "p_value", "p_holm"]
    assert set(c["metric"]) >= {"accuracy", "agreement_with_ai", "over_reliance", "under_reliance",
                                "accuracy_when_ai_correct", "accuracy_when_ai_wrong", "cv_accuracy"}
    assert "rair" not in set(c["metric"])  # single-stage study: undefined, so no row
    want = multipletests(c["p_value"].to_numpy(), method="holm")[1]
    assert c["p_holm"].to_numpy() == pytest.approx(want)


def test_holm_and_bootstrap_p_helpers() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.5])
    got = holm(p)
    assert np.isnan(got[1])
    assert got[[0, 2, 3, 4]] == pytest.approx(multipletests(p[[0, 2, 3, 4]], method="holm")[1])
    assert bootstrap_p(np.array([1.0] * 99)) == pytest.approx(0.02)  # 2 * 1 / 100
    assert bootstrap_p(np.array([-1.0, 1.0])) == pytest.approx(1.0)
    assert np.isnan(bootstrap_p(np.array([np.nan])))


def test_effect_sizes(result) -> None:  # type: ignore[no-untyped-def]
    acc = result.metrics.set_index("condition")["accuracy"]
    for row in result.effect_sizes.to_dict("records"):
        a, r = acc[row["condition"]], acc["none"]
        assert row["risk_difference"] == pytest.approx(a - r)
        assert row["odds_ratio"] == pytest.approx((a / (1 - a)) / (r / (1 - r)))
        assert row["odds_ratio_ci_low"] <= row["odds_ratio"] <= row["odds_ratio_ci_high"]
    out = result.to_dict()
    assert set(out["effect_sizes"][0]) >= {"risk_difference", "risk_difference_ci", "odds_ratio", "odds_ratio_ci"}


def test_team_complementarity_on_the_same_items() -> None:
    """The reference accuracy is taken on the assisted condition's items only."""
    df = simulate_judgments(24, 16, seed=12)
    df["assistance_kind"] = df["condition"]
    df = df[~((df["condition"] == "reasoning") & df["item_id"].isin(["i00000", "i00001", "i00002"]))]
    res = analyze(df, n_boot=40, fit=False)
    team = res.team.set_index("condition")
    assert list(res.to_dict()["team"][0]) == ["condition", "assisted_accuracy", "unassisted_accuracy",
                                               "ai_accuracy", "complementarity", "complementarity_ci"]
    for cond, rows in df[df["condition"] != "none"].groupby("condition"):
        ref = df[(df["condition"] == "none") & df["item_id"].isin(rows["item_id"])]
        unassisted = (ref["final_label"] == ref["gold_label"]).mean()
        assisted = (rows["final_label"] == rows["gold_label"]).mean()
        ai = (rows["ai_label"] == rows["gold_label"]).mean()
        assert team.loc[cond, "unassisted_accuracy"] == pytest.approx(unassisted)
        assert team.loc[cond, "assisted_accuracy"] == pytest.approx(assisted)
        assert team.loc[cond, "ai_accuracy"] == pytest.approx(ai)
        assert team.loc[cond, "complementarity"] == pytest.approx(assisted - max(unassisted, ai))
        assert team.loc[cond, "complementarity_ci_low"] <= team.loc[cond, "complementarity_ci_high"]
