"""Regression models: recover a simulated condition effect; tidy output; degenerate data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analysis import MODEL_COLUMNS, SimulationProfile, cluster_sums, crossed, fit_models, models, simulate_judgments

PROFILE = SimulationProfile.from_dict({
    "ai": {"accuracy": 0.7},
    "conditions": {"none": {"skill": 0.6}, "evidence": {"skill": 0.85}},
})
EFFECT = float(np.log(0.85 / 0.15) - np.log(0.6 / 0.4))  # 1.33 on the log-odds scale


@pytest.fixture(scope="module")
def fitted():
    return fit_models(simulate_judgments(60, 40, PROFILE, seed=4), reference="none")


def test_tidy_columns(fitted) -> None:
    assert list(fitted.columns) == MODEL_COLUMNS
    assert set(fitted["model"]) == {"logit_2way"}
    assert set(fitted["outcome"]) == {"correct", "agree_with_ai"}
    assert (fitted["ci_low"] <= fitted["ci_high"]).all()


@pytest.mark.parametrize("model", ["logit_2way"])
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
    assert len(out) == 2 and out["term"].isna().all() and out["estimate"].isna().all()
    assert out["note"].str.contains("at least 2 conditions").all()


def test_perfect_separation_gives_null_rows() -> None:
    df = simulate_judgments(10, 10, PROFILE, seed=1)
    df.loc[df["condition"] == "evidence", "final_label"] = df["gold_label"]
    out = fit_models(df)
    sep = out[out["outcome"] == "correct"]
    assert sep["term"].isna().all() and sep["note"].str.contains("perfect separation").all()


def _crossed_frame(n_r: int, n_i: int, ai_wrong: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r, j = np.repeat(np.arange(n_r), n_i), np.tile(np.arange(n_i), n_r)
    return pd.DataFrame({"rater": r, "item": j, "condition": np.where(r % 2, "b", "a"),
                         "correct": (rng.random(len(r)) < 0.7).astype(float),
                         "ai_correct": (np.arange(n_i) >= ai_wrong)[j].astype(float)})


def test_single_item_or_rater_behind_a_term_is_not_estimable() -> None:
    # ai_correct = 0 on one item: the item-to-item variation behind condition and the interaction is unknown
    one_item = _crossed_frame(20, 12, 1, 0)
    assert "on only one item" in models._degenerate(one_item, "correct")
    assert models._degenerate(_crossed_frame(20, 12, 2, 0), "correct") == ""
    one_rater = _crossed_frame(20, 12, 3, 0)
    one_rater = one_rater[(one_rater["condition"] == "a") | (one_rater["rater"] == 1)]
    assert "has one rater" in models._degenerate(one_rater, "correct")


def test_missing_column_gives_null_rows() -> None:
    out = fit_models(simulate_judgments(6, 6, PROFILE, seed=1).drop(columns=["ai_label"]))
    assert out["note"].str.contains("missing column").all()


def test_reference_from_assistance_kind_not_key_spelling() -> None:
    df = simulate_judgments(40, 20, PROFILE, seed=2).replace({"condition": {"none": "control"}})
    df["assistance_kind"] = np.where(df["condition"] == "control", "none", "evidence")
    terms = set(fit_models(df)["term"])
    assert "condition[evidence]" in terms and "condition[control]" not in terms


def test_sandwich_equals_loop_over_clusters() -> None:
    """The uncorrected two-way sandwich by an explicit loop: B^-1 (sum over raters, items, minus cells, of s_g s_g') B^-1."""
    rng = np.random.default_rng(0)
    n_r, n_i = 12, 9
    rater, item = np.repeat(np.arange(n_r), n_i), np.tile(np.arange(n_i), n_r)
    x = np.column_stack([np.ones(len(rater)), rater % 2, rng.random(len(rater))])
    mu = expit(x @ np.array([0.3, -0.2, 0.5]))
    resid = (rng.random(len(mu)) < mu) - mu
    w = mu * (1 - mu)
    got = crossed.sandwich(crossed.crossed_design(x, w, rater, item), resid)
    meat = np.zeros((3, 3))
    for groups, sign in ((rater, 1), (item, 1), (rater * n_i + item, -1)):
        for g in np.unique(groups):
            s_g = x[groups == g].T @ resid[groups == g]
            meat += sign * np.outer(s_g, s_g)
    bread = np.linalg.inv(x.T @ (x * w[:, None]))
    assert got == pytest.approx(bread @ meat @ bread, rel=1e-9, abs=1e-12)


def test_null_rejection_near_nominal_under_crossed_variation() -> None:
    """80 null studies (20 raters x 20 items, rater and item SD 0.5): the condition term rejects at
    5% in at most 12% of them (binomial sd at 5% is 2.4 points: 12% is about 3 sd above nominal;
    the CR1 two-way sandwich with normal p-values rejected in ~14% of such studies)."""
    rng = np.random.default_rng(3)
    rejections = 0
    for _ in range(80):
        r, j = np.repeat(np.arange(20), 20), np.tile(np.arange(20), 20)
        lin = 0.85 + rng.normal(0, 0.5, 20)[r] + rng.normal(0, 0.5, 20)[j]
        correct = (rng.random(len(r)) < expit(lin)).astype(float)
        data = pd.DataFrame({"rater": r, "item": j, "condition": np.where(r % 2, "b", "a"), "correct": correct,
                             "ai_correct": (rng.random(20) < 0.7)[j].astype(float)})
        rows = {row["term"]: row for row in models.fit_logit_2way(data, "correct", "a")}
        rejections += rows["condition[b]"]["p_value"] < 0.05
    assert rejections / 80 <= 0.12


def test_logistic_mle_equals_statsmodels() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    x = np.column_stack([np.ones(500), rng.normal(size=500), rng.random(500) < 0.3])
    o = (rng.random(500) < expit(x @ np.array([0.2, 0.8, -0.5]))).astype(float)
    want = sm.GLM(o, x, family=sm.families.Binomial()).fit().params
    assert models.logistic_mle(x, o) == pytest.approx(np.asarray(want), abs=1e-8)


def test_covariance_by_pattern_equals_per_judgment_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    """A design with few distinct rows takes sums by covariate pattern (analysis.crossed): same V and df,
    with clusters of one judgment (cells) and of several (a rater judging an item twice)."""
    rng = np.random.default_rng(1)
    n_r, n_i = 15, 11
    rater, item = np.repeat(np.arange(n_r), n_i), np.tile(np.arange(n_i), n_r)
    for twice in (False, True):
        r, j = (np.concatenate([rater, rater[:20]]), np.concatenate([item, item[:20]])) if twice else (rater, item)
        x = np.column_stack([np.ones(len(r)), r % 3 == 1, r % 3 == 2, j % 2, (r % 3 == 1) * (j % 2)]).astype(float)
        mu = expit(x @ np.array([0.3, -0.2, 0.4, 0.5, 0.1]))
        resid = (rng.random(len(mu)) < mu) - mu
        w = mu * (1 - mu)
        fast_v, fast_df = models.two_way_covariance(x, resid, w, r, j)
        monkeypatch.setattr(cluster_sums, "MAX_PATTERNS", 0)
        slow_v, slow_df = models.two_way_covariance(x, resid, w, r, j)
        monkeypatch.undo()
        assert fast_v == pytest.approx(slow_v, rel=1e-10, abs=1e-14)
        assert fast_df == pytest.approx(slow_df, rel=1e-10)
        cd = crossed.crossed_design(x, w, r, j)
        assert np.linalg.eigvalsh(fast_v).min() >= -1e-12
        assert not np.allclose(np.diag(fast_v), np.diag(crossed.sandwich(cd, resid)), rtol=0.01)  # corrected


def test_logistic_mle_on_pattern_counts_equals_judgments() -> None:
    rng = np.random.default_rng(6)
    x = np.column_stack([np.ones(400), rng.random(400) < 0.5, rng.random(400) < 0.3]).astype(float)
    o = (rng.random(400) < expit(x @ np.array([0.2, 0.8, -0.5]))).astype(float)
    code, rows = cluster_sums.patterns(x)  # type: ignore[misc]
    grouped = models.logistic_mle(rows, np.bincount(code, o), trials=np.bincount(code).astype(float))
    assert grouped == pytest.approx(models.logistic_mle(x, o), rel=1e-10)


@pytest.mark.parametrize("reference", ["a", "c", "absent"])
def test_shared_design_equals_the_patterns_of_the_design_matrix(reference: str) -> None:
    """The design by pattern from the condition and ai_correct codes: the rows, codes and names of
    design() and cluster_sums.patterns, with judgments without a condition in the reference level."""
    rng = np.random.default_rng(2)
    n = 300
    frame = pd.DataFrame({"rater": rng.integers(0, 30, n), "item": rng.integers(0, 20, n),
                          "condition": pd.Categorical(rng.choice(["a", "b", "c", None], n, p=[0.3, 0.3, 0.3, 0.1]),
                                                      ["a", "b", "c"]),
                          "correct": rng.random(n) < 0.6, "ai_correct": (rng.random(n) < 0.7).astype(float)})
    x, names = models.design(frame, reference)
    code, rows = cluster_sums.patterns(x)  # type: ignore[misc]
    shared = models.shared_design(frame, reference)
    assert shared.names == names
    assert np.array_equal(shared.found[0], code) and np.array_equal(shared.found[1], rows)
    assert np.array_equal(shared.counts, np.bincount(code)) and shared.cells is None  # some without a condition
