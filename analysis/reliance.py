"""Reliance metrics per condition with two-way cluster-bootstrap intervals.

The formulas live in :mod:`analysis.definitions`; the bootstrap in :mod:`analysis.engine`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import definitions as d
from analysis import engine
from analysis import schema as s

#: What a zero denominator means, per metric, for the notes.
_EMPTY = {
    "accuracy": "no judgments",
    "agreement_with_ai": "no judgments",
    "over_reliance": "no judgments on items where the AI is wrong (a != y)",
    "under_reliance": "no judgments on items where the AI is right (a == y)",
    "accuracy_when_ai_correct": "no judgments on items where the AI is right (a == y)",
    "accuracy_when_ai_wrong": "no judgments on items where the AI is wrong (a != y)",
    "rair": "no two-stage judgments with h0 != y on items where the AI is right",
    "rsr": "no two-stage judgments with h0 == y on items where the AI is wrong",
    "switch_rate": "no two-stage judgments (initial_label empty)",
    "rater_brier": "no judgments with a rater confidence",
    "rater_ece": "no judgments with a rater confidence",
    "ai_brier": "no items with an AI confidence",
    "ai_ece": "no items with an AI confidence",
}


def missing_columns(df: pd.DataFrame) -> dict[str, list[str]]:
    """Metric name -> required columns absent from ``df`` (only metrics with some missing)."""
    defs = d.METRICS + d.ROUTING_BASES
    return {m.name: gaps for m in defs if (gaps := s.missing(df, m.requires))}


def _interval_or_nan(run: engine.Run, cond: str, name: str, ci: float, ok: bool) -> tuple[float, float]:
    return engine.interval(run, cond, name, ci) if ok else (np.nan, np.nan)


def metrics_table(run: engine.Run, df: pd.DataFrame, ci: float = 0.95) -> tuple[pd.DataFrame, list[str]]:
    """Build the ``condition_metrics`` table and the notes explaining null metrics."""
    gaps = missing_columns(df)
    notes = list(run.layout.notes)
    notes += [f"{name}: null, missing column(s) {', '.join(cols)}" for name, cols in gaps.items()
              if name in d.METRIC_NAMES]
    rows = []
    for cells in [*run.layout.cells, None]:
        cond = s.OVERALL if cells is None else cells.condition
        row: dict[str, object] = {"condition": cond, **_counts(run, cells)}
        for name in d.METRIC_NAMES:
            ok = name not in gaps
            est = engine.value(run, cond, name) if ok else np.nan
            if ok and np.isnan(est) and row["n"]:
                notes.append(f"{name}: null in condition {cond}, {_EMPTY[name]}")
            low, high = _interval_or_nan(run, cond, name, ci, ok and not np.isnan(est))
            row.update({name: est, f"{name}_ci_low": low, f"{name}_ci_high": high})
        rows.append(row)
    return pd.DataFrame(rows), notes


def _counts(run: engine.Run, cells: engine.Cells | None) -> dict[str, int]:
    parts = run.layout.cells if cells is None else (cells,)
    raters = np.unique(np.concatenate([c.raters for c in parts])) if parts else np.array([])
    items = np.unique(np.concatenate([c.items for c in parts])) if parts else np.array([])
    return {"n": int(sum(c.n_rows for c in parts)), "n_raters": len(raters), "n_items": len(items)}


def condition_metrics(df: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> pd.DataFrame:
    """Reliance and calibration metrics per condition plus an ``overall`` row.

    Expects a table already passed through :func:`analysis.prepare`. Columns:
    condition, n (judgments), n_raters, n_items, then for every metric in
    ``definitions.METRICS`` (accuracy = mean(h == y), agreement_with_ai = mean(h == a),
    over_reliance = mean(h == a | a != y), under_reliance = mean(h != a | a == y),
    accuracy_when_ai_correct = mean(h == y | a == y), accuracy_when_ai_wrong =
    mean(h == y | a != y), rair = #(h0 != y, a == y, h == a) / #(h0 != y, a == y),
    rsr = #(h0 == y, a != y, h == h0) / #(h0 == y, a != y), switch_rate =
    mean(h != h0 | two-stage), rater_brier = mean((p - [h == y])^2), rater_ece (10
    equal-width bins), ai_brier = mean((c - [a == y])^2), ai_ece) the estimate and
    ``<metric>_ci_low`` / ``<metric>_ci_high``: a ``ci`` percentile interval over
    ``n_boot`` replicates of the two-way (rater x item) cluster bootstrap, seeded by
    ``seed``. Null metrics (missing column, empty denominator) are NaN; the reasons are
    in ``analyze(...).notes``.
    """
    run = engine.run(df, n_boot=n_boot, seed=seed, k=1)
    return metrics_table(run, df, ci)[0]
