"""Power analysis by simulation, for the study's real design and the contrast test the package reports.

For each number of raters n per condition, ``n_sims`` studies are simulated from the
profile with the study's design:

- two conditions (``condition_a`` is the reference), n raters each (between-subjects);
- each rater judges ``items_per_rater`` items drawn at random from a bank of
  n_items = ceil(n * items_per_rater / ratings_per_item) items, so every item gets
  about ``ratings_per_item`` ratings in each condition (all items when the bank is
  smaller than items_per_rater);
- rater effects u_r ~ N(0, rater_sd^2) and item effects v_j ~ N(0, item_sd^2) on the
  logit scale. Defaults 0.5 and 0.5 (``DEFAULT_RATER_SD``, ``DEFAULT_ITEM_SD``): the
  crossed design of the calibration benchmark; a rater SD of 0.5 logit spreads rater
  accuracy at 0.7 over about 0.58-0.79 (+-1 SD). Setting them to 0 assumes every rater
  and item is alike and overstates power.

Each simulated study is analysed with the contrast test of ``analysis.contrasts``: the
metric's difference condition_b - condition_a, its joint two-way cluster bootstrap
(``n_boot`` replicates) and the bootstrap p-value ``contrasts.bootstrap_p``; the study
rejects when p < alpha. Power = share of rejecting studies. Study s of grid point n
uses seed ``seed * 100_003 + n * 1_009 + s`` for the data and the bootstrap, so
``analysis.analyze`` on the same simulated table gives the same p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import contrasts, engine
from analysis.simulation import SimulationProfile, simulate_judgments

DEFAULT_RATER_SD = 0.5
DEFAULT_ITEM_SD = 0.5
POWER_METRICS = tuple(m for m in contrasts.CONTRAST_METRICS if m != "cv_accuracy")
COLUMNS = ["n_raters", "n_items", "power", "mean_difference", "n_sims"]


def study_seed(seed: int, n_raters: int, sim: int) -> int:
    """The seed of simulated study ``sim`` at ``n_raters`` raters per condition."""
    return seed * 100_003 + n_raters * 1_009 + sim


def bank_size(n_raters: int, items_per_rater: int, ratings_per_item: int) -> int:
    """Items needed so each gets about ``ratings_per_item`` ratings per condition."""
    return max(items_per_rater, math.ceil(n_raters * items_per_rater / ratings_per_item))


def simulate_design(profile: SimulationProfile, condition_a: str, condition_b: str, n_raters: int,
                    items_per_rater: int, ratings_per_item: int, seed: int) -> pd.DataFrame:
    """One simulated study of the design (module docstring), with ``assistance_kind``
    marking ``condition_a`` as the unassisted reference."""
    n_items = bank_size(n_raters, items_per_rater, ratings_per_item)
    df = simulate_judgments(2 * n_raters, n_items, profile, seed, conditions=[condition_a, condition_b],
                            items_per_rater=items_per_rater if items_per_rater < n_items else None)
    df["assistance_kind"] = np.where(df["condition"] == condition_a, "none", "assisted")
    return df


def contrast_p(df: pd.DataFrame, condition_a: str, condition_b: str, metric: str, n_boot: int,
               seed: int) -> tuple[float, float]:
    """(estimate, bootstrap p-value) of metric(b) - metric(a), as ``analysis.analyze`` reports it."""
    run = engine.run(df, n_boot=n_boot, seed=seed, k=1, n_splits=1, reference=condition_a)
    estimate = engine.value(run, condition_b, metric) - engine.value(run, condition_a, metric)
    diffs = engine.replicates(run, condition_b, metric) - engine.replicates(run, condition_a, metric)
    return estimate, contrasts.bootstrap_p(diffs)


def power_analysis(
    profile: SimulationProfile,
    condition_a: str,
    condition_b: str,
    *,
    metric: str = "over_reliance",
    n_raters_grid: Sequence[int] = (10, 20, 40, 80),
    items_per_rater: int = 40,
    ratings_per_item: int = 3,
    rater_sd: float = DEFAULT_RATER_SD,
    item_sd: float = DEFAULT_ITEM_SD,
    n_sims: int = 200,
    n_boot: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulated power of the reported contrast test per number of raters per condition.

    Returns columns n_raters (per condition), n_items (bank size), power (share of
    studies with bootstrap p < alpha), mean_difference (mean over studies of
    metric(condition_b) - metric(condition_a)) and n_sims.
    """
    for cond in (condition_a, condition_b):
        if cond not in profile.conditions:
            raise ValueError(f"condition {cond!r} is not in the simulation profile")
    if metric not in POWER_METRICS:
        raise ValueError(f"metric must be one of {', '.join(POWER_METRICS)}, not {metric!r}")
    if rater_sd < 0 or item_sd < 0:
        raise ValueError("rater_sd and item_sd must be >= 0")
    prof = profile.model_copy(update={"rater_sd": rater_sd, "item_sd": item_sd})
    rows = []
    for n in n_raters_grid:
        p_values, diffs = np.ones(n_sims), np.full(n_sims, np.nan)
        for sim in range(n_sims):
            s = study_seed(seed, int(n), sim)
            df = simulate_design(prof, condition_a, condition_b, int(n), items_per_rater, ratings_per_item, s)
            diffs[sim], p = contrast_p(df, condition_a, condition_b, metric, n_boot, s)
            p_values[sim] = 1.0 if np.isnan(p) else p
        rows.append({"n_raters": int(n), "n_items": bank_size(int(n), items_per_rater, ratings_per_item),
                     "power": float(np.mean(p_values < alpha)), "mean_difference": float(np.nanmean(diffs)),
                     "n_sims": n_sims})
    return pd.DataFrame(rows, columns=COLUMNS)


def raters_needed(power: pd.DataFrame, target: float = 0.8) -> int | None:
    """Smallest n_raters in a ``power_analysis`` table with power >= target (None if none)."""
    ok = power.loc[power["power"] >= target, "n_raters"]
    return int(ok.min()) if len(ok) else None
