"""The study's central comparisons: each condition against the reference, and team complementarity.

Contrast of condition c and metric m: estimate = m(c) - m(reference). Both metrics are
computed on every replicate of one joint two-way bootstrap (``analysis.engine``), so the
replicate differences d_b = m_b(c) - m_b(reference) carry the dependence between the
conditions (shared items). Interval: the percentile interval of d_b. p-value (two-sided
bootstrap test, the inversion of the percentile interval: the smallest level at which
the interval excludes 0):

    p = min(1, 2 * min(#(d_b <= 0) + 1, #(d_b >= 0) + 1) / (B + 1))

over the B replicates where d_b is defined. ``p_holm``: Holm's step-down adjustment over
the whole family of contrast rows (every condition x metric with a p-value):
p_holm_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)) for the p-values sorted ascending.

Effect sizes for accuracy: risk difference RD = acc(c) - acc(ref) (the accuracy
contrast) and odds ratio OR = [acc(c) / (1 - acc(c))] / [acc(ref) / (1 - acc(ref))],
each with its percentile interval over the same replicates.

Team complementarity (Jain et al.): for a condition c other than the reference,
complementarity = assisted human accuracy in c - max(human accuracy in the reference
condition on c's items, AI-only accuracy on c's judgments), with a percentile interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import engine

CONTRAST_METRICS: tuple[str, ...] = (
    "accuracy", "agreement_with_ai", "over_reliance", "under_reliance", "accuracy_when_ai_correct",
    "accuracy_when_ai_wrong", "rair", "rsr", "cv_accuracy",
)
CONTRAST_COLUMNS = ["condition", "reference", "metric", "estimate", "ci_low", "ci_high", "p_value", "p_holm"]
EFFECT_COLUMNS = ["condition", "reference", "risk_difference", "risk_difference_ci_low", "risk_difference_ci_high",
                  "odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high"]
TEAM_COLUMNS = ["condition", "assisted_accuracy", "unassisted_accuracy", "ai_accuracy", "complementarity",
                "complementarity_ci_low", "complementarity_ci_high"]


def bootstrap_p(diffs: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "difference = 0" from replicate differences (module docstring)."""
    d = diffs[np.isfinite(diffs)]
    if d.size == 0:
        return float("nan")
    below, above = int(np.sum(d <= 0)) + 1, int(np.sum(d >= 0)) + 1
    return float(min(1.0, 2.0 * min(below, above) / (d.size + 1)))


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN and is not counted in the family)."""
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out


def _odds(p: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return p / (1.0 - p)


def _ratio(acc_c: float, acc_r: float) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(_odds(np.array(acc_c)) / _odds(np.array(acc_r)))


def _compared(run: engine.Run) -> list[str]:
    """The conditions compared with the reference: every condition but the reference."""
    return [cells.condition for cells in run.layout.cells if cells.condition != run.layout.reference]


def contrast_table(run: engine.Run, ci: float = 0.95) -> pd.DataFrame:
    """One row per non-reference condition and metric where both values are defined."""
    ref = run.layout.reference
    rows: list[dict[str, object]] = []
    if ref is None:
        return pd.DataFrame(columns=CONTRAST_COLUMNS)
    for cond in _compared(run):
        for metric in CONTRAST_METRICS:
            estimate = engine.value(run, cond, metric) - engine.value(run, ref, metric)
            if not np.isfinite(estimate):
                continue
            diffs = engine.replicates(run, cond, metric) - engine.replicates(run, ref, metric)
            low, high = engine.percentile_interval(diffs, ci) if diffs.size else (np.nan, np.nan)
            rows.append({"condition": cond, "reference": ref, "metric": metric, "estimate": estimate,
                         "ci_low": low, "ci_high": high, "p_value": bootstrap_p(diffs)})
    out = pd.DataFrame(rows, columns=CONTRAST_COLUMNS[:-1])
    out["p_holm"] = holm(out["p_value"].to_numpy(dtype=float))
    return out


def effect_size_table(run: engine.Run, ci: float = 0.95) -> pd.DataFrame:
    """Risk difference and odds ratio of accuracy against the reference, with intervals."""
    ref = run.layout.reference
    rows = []
    if ref is None:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    for cond in _compared(run):
        acc_c, acc_r = engine.value(run, cond, "accuracy"), engine.value(run, ref, "accuracy")
        rep_c, rep_r = engine.replicates(run, cond, "accuracy"), engine.replicates(run, ref, "accuracy")
        rd = engine.percentile_interval(rep_c - rep_r, ci) if rep_c.size else (np.nan, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = _odds(rep_c) / _odds(rep_r) if rep_c.size else np.array([])
        orci = engine.percentile_interval(ratio[np.isfinite(ratio)], ci) if ratio.size else (np.nan, np.nan)
        rows.append({"condition": cond, "reference": ref, "risk_difference": acc_c - acc_r,
                     "risk_difference_ci_low": rd[0], "risk_difference_ci_high": rd[1],
                     "odds_ratio": _ratio(acc_c, acc_r),
                     "odds_ratio_ci_low": orci[0], "odds_ratio_ci_high": orci[1]})
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def team_table(run: engine.Run, ci: float = 0.95) -> pd.DataFrame:
    """Team complementarity of every non-reference condition (module docstring)."""
    ref = run.layout.reference
    rows = []
    if ref is None:
        return pd.DataFrame(columns=TEAM_COLUMNS)
    for cond in _compared(run):
        low, high = engine.interval(run, cond, "team_complementarity", ci)
        rows.append({"condition": cond, "assisted_accuracy": engine.value(run, cond, "accuracy"),
                     "unassisted_accuracy": engine.value(run, cond, "unassisted_accuracy"),
                     "ai_accuracy": engine.value(run, cond, "ai_only"),
                     "complementarity": engine.value(run, cond, "team_complementarity"),
                     "complementarity_ci_low": low, "complementarity_ci_high": high})
    return pd.DataFrame(rows, columns=TEAM_COLUMNS)
