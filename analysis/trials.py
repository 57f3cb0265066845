"""Accuracy and reliance by trial position: learning and fatigue.

Trial position is the ``position`` column (0-based place of the item in the rater's
sequence). Per condition the positions of the analysed judgments are cut into
``n_bins`` equal-width bins; each bin reports n, accuracy = mean(h == y) over judgments
with y, agreement_with_ai = mean(h == a) and over_reliance = mean(h == a | a != y).

Slope: per condition and outcome o in {correct = [h == y], agree_with_ai = [h == a]},
the least-squares line o = b0 + b1 * position / 10 (a linear probability model), so
``slope_per_10_trials`` is the change in the share per 10 trials. Its interval and
p-value use the two-way (rater, item) cluster-robust CR3 covariance and per-term t
degrees of freedom of :mod:`analysis.models` (with unit weights, the OLS case).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special  # Student t: stdtrit = t.ppf, stdtr(df, -x) = t.sf(x)

from analysis import models
from analysis import schema as s

POSITION = "position"
BIN_COLUMNS = ["condition", "bin", "position_low", "position_high", "n", "accuracy", "agreement_with_ai",
               "over_reliance"]
SLOPE_COLUMNS = ["condition", "outcome", "slope_per_10_trials", "ci_low", "ci_high", "p_value", "n"]


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    cond = df[s.CONDITION].astype("string").fillna("<missing>") if s.CONDITION in df.columns else "all"
    return pd.DataFrame({
        "condition": cond, "position": s.floats(df, POSITION),
        "rater": pd.factorize(df[s.RATER])[0] if s.RATER in df.columns else np.arange(len(df)),
        "item": pd.factorize(df[s.ITEM])[0] if s.ITEM in df.columns else np.arange(len(df)),
        "graded": (y >= 0).astype(float), "correct": ((y >= 0) & (h == y)).astype(float),
        "has_ai": ((a >= 0) & (h >= 0)).astype(float), "agree": ((a >= 0) & (h == a)).astype(float),
        "ai_wrong": ((a >= 0) & (y >= 0) & (a != y)).astype(float),
    })


def position_bins(df: pd.DataFrame, n_bins: int = 5) -> pd.DataFrame:
    """Per condition and position bin: n, accuracy, agreement_with_ai, over_reliance (module docstring)."""
    if POSITION not in df.columns or not len(df):
        return pd.DataFrame(columns=BIN_COLUMNS)
    data = _frame(df).dropna(subset=["position"])
    rows = []
    for cond, part in data.groupby("condition", sort=True):
        low, high = float(part["position"].min()), float(part["position"].max())
        edges = np.linspace(low, high, n_bins + 1) if high > low else np.array([low, high + 1.0])
        b = np.clip(np.searchsorted(edges, part["position"].to_numpy(), side="right") - 1, 0, len(edges) - 2)
        for k, g in part.groupby(b):
            with np.errstate(invalid="ignore", divide="ignore"):
                rows.append({"condition": cond, "bin": int(k), "position_low": float(g["position"].min()),
                             "position_high": float(g["position"].max()), "n": len(g),
                             "accuracy": g["correct"].sum() / g["graded"].sum(),
                             "agreement_with_ai": g["agree"].sum() / g["has_ai"].sum(),
                             "over_reliance": (g["agree"] * g["ai_wrong"]).sum() / g["ai_wrong"].sum()})
    return pd.DataFrame(rows, columns=BIN_COLUMNS)


def _slope(part: pd.DataFrame, outcome: str, keep: str) -> dict[str, float]:
    g = part[part[keep] > 0]
    if len(g) < 3 or g["position"].nunique() < 2 or g["rater"].nunique() < 2 or g["item"].nunique() < 2:
        return {"slope_per_10_trials": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "n": len(g)}
    x = np.column_stack([np.ones(len(g)), g["position"].to_numpy() / 10.0])
    o = g[outcome].to_numpy()
    beta = np.linalg.lstsq(x, o, rcond=None)[0]
    cov, dof = models.two_way_covariance(x, o - x @ beta, np.ones(len(g)), g["rater"].to_numpy(), g["item"].to_numpy())
    se = float(np.sqrt(cov[1, 1]))
    crit = float(special.stdtrit(dof[1], 0.975))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = float(2.0 * special.stdtr(dof[1], -abs(beta[1] / se)))
    return {"slope_per_10_trials": float(beta[1]), "ci_low": float(beta[1] - crit * se),
            "ci_high": float(beta[1] + crit * se), "p_value": p, "n": len(g)}


def position_slopes(df: pd.DataFrame) -> pd.DataFrame:
    """Per condition: slope of correct and of agree_with_ai on position, per 10 trials, with CI."""
    if POSITION not in df.columns or not len(df):
        return pd.DataFrame(columns=SLOPE_COLUMNS)
    data = _frame(df).dropna(subset=["position"])
    rows = []
    for cond, part in data.groupby("condition", sort=True):
        for outcome, column, keep in (("correct", "correct", "graded"), ("agree_with_ai", "agree", "has_ai")):
            try:
                fitted = _slope(part, column, keep)
            except np.linalg.LinAlgError:
                fitted = {"slope_per_10_trials": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
                          "n": len(part)}
            rows.append({"condition": cond, "outcome": outcome, **fitted})
    return pd.DataFrame(rows, columns=SLOPE_COLUMNS)
