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

from typing import Any

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


#: Bins per fold in the judgment counts (every rule's levels fit); a count key is (fold, bin, class).
_WIDTH = max(len(grid) for grid in RULES.values()) + 2


def _bins(score: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """0 for a missing score, else 1 + #(grid < score)."""
    return np.where(np.isnan(score), 0, 1 + np.searchsorted(grid, np.nan_to_num(score), side="left"))


def _crossfit(counts: np.ndarray, n_levels: int) -> tuple[float, float, np.ndarray]:
    """(#correct, #to AI, per-fold threshold index) of the cross-fitted rule on one split.

    ``counts[f, b, c]``: judgments of fold f in bin b (0 for a missing score, else
    1 + #(grid < score)) of class c = 2 * [a == y] + [h == y]; route to the AI at threshold
    index t iff bin > t (t = 0..n_levels - 1). Gain of routing to the AI: d = #(c = 2) - #(c = 1).
    """
    counts = counts[:, :n_levels].astype(float)
    k = counts.shape[0]
    d, cnt = counts[..., 2] - counts[..., 1], counts.sum(axis=2)
    # to_ai_gain[f, t] = sum_{bins > t} d[f, bins]
    above = np.cumsum(d[:, ::-1], axis=1)[:, ::-1]
    gain_at = np.concatenate([above[:, 1:], np.zeros((k, 1))], axis=1)
    count_above = np.cumsum(cnt[:, ::-1], axis=1)[:, ::-1]
    n_at = np.concatenate([count_above[:, 1:], np.zeros((k, 1))], axis=1)
    base = (counts[..., 1] + counts[..., 3]).sum(axis=1)  # #(h == y) per fold
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


def _graded_by_condition(df: pd.DataFrame, k: int, seed: int, n_splits: int) -> dict[str, Any]:
    """The graded judgments sorted by condition (table order within one): per rule (bin * 4 + class),
    per split (fold * _WIDTH * 4), the human/AI correctness, and each condition's slice bounds."""
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    item, item_ids = s.id_codes(df, s.ITEM)
    if s.CONDITION in df.columns:
        cond, names = s.id_codes(df, s.CONDITION)
    else:
        cond, names = np.zeros(len(df), dtype=np.int64), np.array(["all"], dtype=object)
    graded = np.flatnonzero(y >= 0)
    order = graded[np.argsort(cond[graded], kind="stable")]
    y, a, h, item = y[order], a[order], h[order], item[order].astype(np.intp)
    human, ai = h == y, (a >= 0) & (a == y)
    p, c = s.floats(df, s.CONF)[order], s.floats(df, s.AI_CONF)[order]
    cls = 2 * ai.astype(np.int64) + human
    k_eff = max(1, min(k, len(item_ids)))
    return {"human": human.astype(float), "ai": ai.astype(float), "names": names, "k": k_eff,
            "bounds": np.searchsorted(cond[order], np.arange(len(names) + 1)),
            "levels": {rule: _bins(score, RULES[rule]) * 4 + cls
                       for rule, score in (("human_confidence", 1.0 - p), ("both_confidences", c - p))},
            "folds": [(routing.assign_folds(len(item_ids), k_eff, seed + sp) * (_WIDTH * 4))[item]
                      for sp in range(max(1, n_splits))]}


def routing_by_confidence(df: pd.DataFrame, *, k: int = 5, seed: int = 0, n_splits: int = 5) -> pd.DataFrame:
    """Per condition and rule: repeated cross-fitted accuracy and its spread (module docstring)."""
    if s.missing(df, (s.ITEM, s.GOLD, s.AI_LABEL, s.FINAL, s.CONF)) or not len(df):
        return pd.DataFrame(columns=COLUMNS)
    g = _graded_by_condition(df, k, seed, n_splits)
    k_eff, names = g["k"], g["names"]
    rows = []
    for c in s.conditions_in(pd.DataFrame({s.CONDITION: names})):
        code = int(np.flatnonzero(names == c)[0])
        part = slice(int(g["bounds"][code]), int(g["bounds"][code + 1]))
        n = part.stop - part.start
        if not n:
            continue
        best = max(g["human"][part].mean(), g["ai"][part].mean())
        folds_m = [f[part] for f in g["folds"]]  # selected once per condition
        for rule, grid in RULES.items():
            level = g["levels"][rule][part]
            per = [_crossfit(np.bincount(f + level, minlength=k_eff * _WIDTH * 4).reshape(k_eff, _WIDTH, 4),
                             len(grid) + 2) for f in folds_m]
            acc = np.array([p[0] / n for p in per])
            rows.append({"condition": c, "rule": rule, "cv_accuracy": float(np.median(acc)),
                         "cv_accuracy_split_min": float(acc.min()), "cv_accuracy_split_max": float(acc.max()),
                         "cv_accuracy_split_sd": float(acc.std(ddof=1)) if len(acc) > 1 else np.nan,
                         "complementarity": float(np.median(acc)) - best,
                         "share_ai": float(np.median([p[1] / n for p in per])),
                         "median_threshold": _threshold_value(grid, np.concatenate([p[2] for p in per])),
                         "n_splits": len(folds_m), "n": n})
    return pd.DataFrame(rows, columns=COLUMNS)
