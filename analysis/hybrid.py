"""Confidence-based hybrid routing: the curve, cross-fitted threshold, complementarity.

Per judgment: routed(T) = a if c > T else h (c = the AI confidence of the judgment's
item). human_only = mean(h == y), ai_only = mean(a == y), oracle = mean(a == y or h == y).
The threshold is chosen by K-fold cross-fitting over items: items are split into K
seeded folds; for fold f, T_f maximises accuracy on the judgments of the other folds'
items (candidates: 0 and those items' distinct c; ties -> largest T) and is applied to
fold f's items only. cv_accuracy = accuracy of this out-of-fold routing;
complementarity = cv_accuracy - max(human_only, ai_only); the condition shows
complementarity when the bootstrap interval of that difference lies above 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import engine, routing
from analysis import schema as s

_REQUIRED = (s.GOLD, s.AI_LABEL, s.AI_CONF, s.FINAL)
_WITH_CI = (
    "human_only", "ai_only", "oracle", "cv_accuracy", "complementarity",
    "human_slice_share", "human_slice_human_accuracy", "human_slice_ai_accuracy",
)


def curve_table(layout: engine.Layout) -> pd.DataFrame:
    """The routing curve of every condition (see :func:`hybrid_curve`)."""
    frames = []
    for cells in layout.cells:
        h, n, a = engine.item_sums(cells)
        thr, share, acc = routing.curve(h, n, a, cells.ai_conf)
        frames.append(pd.DataFrame({"condition": cells.condition, "threshold": thr,
                                    "share_ai": share, "accuracy": acc}))
    if not frames:
        return pd.DataFrame(columns=["condition", "threshold", "share_ai", "accuracy"])
    return pd.concat(frames, ignore_index=True)


def hybrid_curve(df: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of routed(T) = a if c > T else h for every candidate T, per condition.

    Columns: condition, threshold (0 and every distinct c; T = max c is the "route all
    to humans" point), share_ai = #(c > T) / n (judgments routed to the AI),
    accuracy = [sum_{c > T}(a == y) + sum_{c <= T}(h == y)] / n. Empty when a needed
    column (gold_label, ai_label, ai_confidence, final_label) is missing.
    """
    if s.missing(df, _REQUIRED):
        return pd.DataFrame(columns=["condition", "threshold", "share_ai", "accuracy"])
    return curve_table(engine.build_layout(df, k=1))


def summary_table(run: engine.Run, df: pd.DataFrame, ci: float = 0.95) -> tuple[pd.DataFrame, list[str]]:
    """The hybrid summary of every condition from a bootstrap run, and notes."""
    gaps = s.missing(df, _REQUIRED)
    notes = [f"hybrid routing: null, missing column(s) {', '.join(gaps)}"] if gaps else []
    rows = []
    for cells in run.layout.cells:
        cond = cells.condition
        row: dict[str, object] = {"condition": cond, "n": cells.n_rows, "n_folds": run.layout.k}
        folds = run.point.thresholds[cond][0]
        row["fold_thresholds"] = [float(t) for t in folds] if not gaps else []
        row["cv_threshold"] = float(np.nanmedian(folds)) if not gaps and np.isfinite(folds).any() else np.nan
        for name in _WITH_CI:
            est = engine.value(run, cond, name) if not gaps else np.nan
            low, high = engine.interval(run, cond, name, ci) if not gaps else (np.nan, np.nan)
            row.update({name: est, f"{name}_ci_low": low, f"{name}_ci_high": high})
        row.update(_split_spread(run, cond, gaps))
        ci_low = float(str(row["complementarity_ci_low"]))
        row["complementary"] = bool(np.isfinite(ci_low) and ci_low > 0)
        rows.append(row)
    return pd.DataFrame(rows), notes


def _split_spread(run: engine.Run, cond: str, gaps: list[str]) -> dict[str, object]:
    """Repeated cross-fitting: number of fold splits and the spread of cv_accuracy/complementarity."""
    per = run.point.split_stats.get(cond)
    out: dict[str, object] = {"n_splits": run.layout.n_splits}
    for name in ("cv_accuracy", "complementarity"):
        col = per[:, engine.ROUTING_STATS.index(name)] if per is not None and not gaps else np.array([np.nan])
        finite = col[np.isfinite(col)]
        out[f"{name}_split_min"] = float(finite.min()) if finite.size else np.nan
        out[f"{name}_split_max"] = float(finite.max()) if finite.size else np.nan
        out[f"{name}_split_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else np.nan
    return out


def hybrid_summary(df: pd.DataFrame, *, k: int = 5, seed: int = 0, n_boot: int = 1000,
                   ci: float = 0.95) -> pd.DataFrame:
    """Per condition: reference rules, cross-fitted routing and the humans-beat-AI slice.

    Columns (each statistic with ``_ci_low``/``_ci_high`` from the two-way cluster
    bootstrap, which redoes the cross-fitting inside every replicate):
    human_only = mean(h == y); ai_only = mean(a == y); oracle = mean(a == y or h == y);
    fold_thresholds (T_f of each fold, chosen without fold f); cv_threshold = median T_f;
    cv_accuracy = out-of-fold accuracy of routed(T_fold(item)), the median over
    ``engine.N_SPLITS`` seeded fold splits (``cv_accuracy_split_min``/``_max``/``_sd`` give
    the spread over the splits; fold_thresholds are those of the first split); complementarity =
    cv_accuracy - max(human_only, ai_only) and complementary = (its ci_low > 0);
    human_slice_share = share of judgments the cross-fitted rule sends to humans
    (c <= T_fold), human_slice_human_accuracy = mean(h == y) there,
    human_slice_ai_accuracy = mean(a == y) there (the slice where humans beat the AI
    when the first exceeds the second).
    """
    run = engine.run(df, n_boot=n_boot, seed=seed, k=k)
    return summary_table(run, df, ci)[0]
