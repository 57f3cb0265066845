"""Routing by the human's confidence and by both confidences, cross-fitted over items.

Each rule sends a judgment to the AI when a score exceeds a threshold T, else keeps
the human's answer (p = the rater's confidence in h, c = the AI's confidence):

- ``human_confidence``: score = 1 - p (route to the AI when the human is unsure);
  T on the grid 0, 0.05, ..., 1;
- ``both_confidences``: score = c - p (route to the AI when its confidence beats the
  human's by more than T); T on the grid -1, -0.95, ..., 1.

A judgment with a missing score stays with the human; judgments without y are left
out. T is chosen like the AI-confidence rule (``analysis.routing``): items are split
into k seeded folds; for fold f, T_f maximises #correct on the other folds'
judgments (ties -> the largest T, fewest to the AI), and fold f is scored with T_f.
cv_accuracy = out-of-fold accuracy. The split is repeated ``n_splits`` times (split s
uses ``assign_folds(n_items, k, seed + s)``, the same splits as the AI-confidence rule);
the reported cv_accuracy is the median over splits, with the min, max and sd;
complementarity = cv_accuracy - max(human_only, ai_only). The thresholds are a fixed
grid, so they never depend on the judgments they are scored on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import routing
from analysis import schema as s

RULES: dict[str, np.ndarray] = {
    "human_confidence": np.round(np.linspace(0.0, 1.0, 21), 10),
    "both_confidences": np.round(np.linspace(-1.0, 1.0, 41), 10),
}
COLUMNS = ["condition", "rule", "cv_accuracy", "cv_accuracy_split_min", "cv_accuracy_split_max",
           "cv_accuracy_split_sd", "complementarity", "share_ai", "median_threshold", "n_splits", "n"]


def _scores(df: pd.DataFrame, rule: str) -> np.ndarray:
    p = s.floats(df, s.CONF)
    return 1.0 - p if rule == "human_confidence" else s.floats(df, s.AI_CONF) - p


def _crossfit(bins: np.ndarray, gain: np.ndarray, human: np.ndarray, fold: np.ndarray, k: int,
              n_levels: int) -> tuple[float, float, np.ndarray]:
    """(#correct, #to AI, per-fold threshold index) of the cross-fitted rule on one split.

    ``bins``: 0 for a missing score, else 1 + #(grid < score); route to the AI at
    threshold index t iff bins > t (t = 0..n_levels - 1).
    """
    d = np.bincount(fold * n_levels + bins, gain, minlength=k * n_levels).reshape(k, n_levels)
    cnt = np.bincount(fold * n_levels + bins, minlength=k * n_levels).reshape(k, n_levels).astype(float)
    # to_ai_gain[f, t] = sum_{bins > t} d[f, bins]
    above = np.cumsum(d[:, ::-1], axis=1)[:, ::-1]
    gain_at = np.concatenate([above[:, 1:], np.zeros((k, 1))], axis=1)
    count_above = np.cumsum(cnt[:, ::-1], axis=1)[:, ::-1]
    n_at = np.concatenate([count_above[:, 1:], np.zeros((k, 1))], axis=1)
    base = np.bincount(fold, human, minlength=k)
    correct, to_ai, chosen = 0.0, 0.0, np.zeros(k, dtype=np.int64)
    for f in range(k):
        train = gain_at.sum(axis=0) - gain_at[f]
        t = n_levels - 1 - int(np.argmax(train[::-1]))  # ties -> largest threshold
        chosen[f] = t
        correct += base[f] + gain_at[f, t]
        to_ai += n_at[f, t]
    return correct, to_ai, chosen


def _threshold_value(grid: np.ndarray, t: np.ndarray) -> float:
    values = np.where(t == 0, -np.inf, np.where(t > len(grid), np.inf, grid[np.clip(t - 1, 0, len(grid) - 1)]))
    return float(np.median(values))


def routing_by_confidence(df: pd.DataFrame, *, k: int = 5, seed: int = 0, n_splits: int = 5) -> pd.DataFrame:
    """Per condition and rule: repeated cross-fitted accuracy and its spread (module docstring)."""
    if s.missing(df, (s.ITEM, s.GOLD, s.AI_LABEL, s.FINAL, s.CONF)) or not len(df):
        return pd.DataFrame(columns=COLUMNS)
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    graded = y >= 0
    item, item_ids = s.id_codes(df, s.ITEM)
    k_eff = max(1, min(k, len(item_ids)))
    folds = [routing.assign_folds(len(item_ids), k_eff, seed + sp)[item] for sp in range(max(1, n_splits))]
    if s.CONDITION in df.columns:
        cond, names = s.id_codes(df, s.CONDITION)
    else:
        cond, names = np.zeros(len(df), dtype=np.int64), np.array(["all"], dtype=object)
    human, ai = (graded & (h == y)).astype(float), (graded & (a >= 0) & (a == y)).astype(float)
    scores = {rule: _scores(df, rule) for rule in RULES}
    rows = []
    for c in s.conditions_in(pd.DataFrame({s.CONDITION: names})):
        m = (cond == int(np.flatnonzero(names == c)[0])) & graded
        n = int(m.sum())
        if not n:
            continue
        hum, gain, folds_m = human[m], ai[m] - human[m], [f[m] for f in folds]  # selected once per condition
        best = max(hum.mean(), ai[m].mean())
        for rule, grid in RULES.items():
            score = scores[rule][m]
            bins = np.where(np.isnan(score), 0, 1 + np.searchsorted(grid, np.nan_to_num(score), side="left"))
            per = [_crossfit(bins, gain, hum, f, k_eff, len(grid) + 2) for f in folds_m]
            acc = np.array([p[0] / n for p in per])
            rows.append({"condition": c, "rule": rule, "cv_accuracy": float(np.median(acc)),
                         "cv_accuracy_split_min": float(acc.min()), "cv_accuracy_split_max": float(acc.max()),
                         "cv_accuracy_split_sd": float(acc.std(ddof=1)) if len(acc) > 1 else np.nan,
                         "complementarity": float(np.median(acc)) - best,
                         "share_ai": float(np.median([p[1] / n for p in per])),
                         "median_threshold": _threshold_value(grid, np.concatenate([p[2] for p in per])),
                         "n_splits": len(folds), "n": n})
    return pd.DataFrame(rows, columns=COLUMNS)
