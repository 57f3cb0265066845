"""Power analysis by simulation: how many raters to detect a difference between conditions.

For each number of raters n per condition, ``n_sims`` studies are simulated from the
profile (two conditions, n raters each, every rater rating the same ``n_items``
fresh items). The test is cluster-aware at the rater level: the metric is computed per
rater (accuracy = mean(h == y); over_reliance = mean(h == a | a != y) over the items
where the AI is wrong) and the two conditions' rater-level values are compared with
Welch's two-sided t-test at level ``alpha``. Power = share of studies with p < alpha.
Rater means make raters the unit, which is what the between-subjects randomisation
licenses; item variation is shared by both arms of a study and so largely cancels.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.simulation import SimulationProfile, respond, simulate_items

PowerMetric = Literal["over_reliance", "accuracy"]


def _rater_values(rng: np.random.Generator, profile: SimulationProfile, condition: str, n_raters: int,
                  items: dict[str, np.ndarray], metric: PowerMetric) -> np.ndarray:
    n_items = len(items["gold"])
    lin = rng.normal(0.0, profile.rater_sd, (n_raters, 1)) + items["effect"][None, :]
    gold = np.broadcast_to(items["gold"], (n_raters, n_items))
    ai = np.broadcast_to(items["ai"], (n_raters, n_items))
    h = respond(rng, profile, condition, gold, ai, np.broadcast_to(lin, (n_raters, n_items)))[2]
    if metric == "accuracy":
        return (h == gold).mean(axis=1)
    wrong = ~items["ai_right"]
    if not wrong.any():
        return np.full(n_raters, np.nan)
    return (h[:, wrong] == ai[:, wrong]).mean(axis=1)


def power_analysis(
    profile: SimulationProfile,
    condition_a: str,
    condition_b: str,
    *,
    metric: PowerMetric = "over_reliance",
    n_raters_grid: Sequence[int] = (10, 20, 40, 80),
    n_items: int = 40,
    n_sims: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulated power per number of raters per condition.

    Returns a DataFrame with columns n_raters (per condition), power (share of
    simulated studies where Welch's t-test on rater-level ``metric`` has p < alpha),
    mean_difference (mean over studies of condition_b minus condition_a) and n_sims.
    """
    for cond in (condition_a, condition_b):
        if cond not in profile.conditions:
            raise ValueError(f"condition {cond!r} is not in the simulation profile")
    rng = np.random.default_rng(seed)
    rows = []
    for n in n_raters_grid:
        pvals, diffs = np.ones(n_sims), np.zeros(n_sims)
        for sim in range(n_sims):
            items = simulate_items(rng, profile, n_items)
            va = _rater_values(rng, profile, condition_a, n, items, metric)
            vb = _rater_values(rng, profile, condition_b, n, items, metric)
            diffs[sim] = np.nanmean(vb) - np.nanmean(va)
            if n >= 2 and np.nanstd(va) + np.nanstd(vb) > 0:
                with warnings.catch_warnings():  # near-constant samples: p-value still usable
                    warnings.simplefilter("ignore", RuntimeWarning)
                    pvals[sim] = stats.ttest_ind(va, vb, equal_var=False, nan_policy="omit").pvalue
        pvals = np.nan_to_num(pvals, nan=1.0)
        rows.append({"n_raters": int(n), "power": float(np.mean(pvals < alpha)),
                     "mean_difference": float(np.nanmean(diffs)), "n_sims": n_sims})
    return pd.DataFrame(rows)


def raters_needed(power: pd.DataFrame, target: float = 0.8) -> int | None:
    """Smallest n_raters in a ``power_analysis`` table with power >= target (None if none)."""
    ok = power.loc[power["power"] >= target, "n_raters"]
    return int(ok.min()) if len(ok) else None
