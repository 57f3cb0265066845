"""Per-item difficulty and where the AI's errors fall.

Difficulty of item j = human accuracy on it: mean(h == y) over its judgments in the
reference (unassisted) condition when there is one, so that reliance on a shown AI label
does not make items the AI gets wrong look hard; otherwise over all analysed
judgments (``difficulty_source`` says which). Items are then grouped into five
equal-width bins of human accuracy ([0, .2), [.2, .4), ..., [.8, 1]) and each bin
reports n_items, mean human accuracy, ai_errors = #(a != y) and ai_error_rate =
ai_errors / #(items with a and y).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as s

ITEM_COLUMNS = ["item_id", "n", "human_accuracy", "ai_correct", "ai_confidence"]
BIN_COLUMNS = ["bin", "accuracy_low", "accuracy_high", "n_items", "mean_human_accuracy", "ai_errors",
               "ai_error_rate"]
EDGES = np.linspace(0.0, 1.0, 6)


def item_difficulty(df: pd.DataFrame, reference: str | None = None) -> tuple[pd.DataFrame, str]:
    """Per item: n graded judgments, human accuracy, AI correct (1/0, NaN unknown), AI confidence."""
    if s.missing(df, (s.ITEM, s.GOLD, s.FINAL)):
        return pd.DataFrame(columns=ITEM_COLUMNS), "none"
    use, source = df, "all conditions"
    if reference is not None and s.CONDITION in df.columns:
        use, source = df[df[s.CONDITION].astype("string") == reference], f"reference condition {reference}"
    y, a, h = s.label_codes(use, (s.GOLD, s.AI_LABEL, s.FINAL))
    data = pd.DataFrame({"item_id": use[s.ITEM].astype("string").to_numpy(dtype=object),
                         "graded": (y >= 0).astype(float), "correct": ((y >= 0) & (h == y)).astype(float),
                         "ai_correct": np.where((a >= 0) & (y >= 0), (a == y).astype(float), np.nan),
                         "ai_confidence": s.floats(use, s.AI_CONF)})
    data = data[data["graded"] > 0]
    out = data.groupby("item_id", sort=True).agg(n=("graded", "sum"), correct=("correct", "sum"),
                                                 ai_correct=("ai_correct", "first"),
                                                 ai_confidence=("ai_confidence", "first")).reset_index()
    out["human_accuracy"] = out["correct"] / out["n"]
    out["n"] = out["n"].astype(int)
    return out[ITEM_COLUMNS], source


def difficulty_bins(items: pd.DataFrame) -> pd.DataFrame:
    """AI errors by difficulty bin (module docstring)."""
    if not len(items):
        return pd.DataFrame(columns=BIN_COLUMNS)
    b = np.clip(np.searchsorted(EDGES, items["human_accuracy"].to_numpy(), side="right") - 1, 0, len(EDGES) - 2)
    rows = []
    for k in range(len(EDGES) - 1):
        part = items[b == k]
        known = part["ai_correct"].dropna()
        errors = int((known == 0).sum())
        rows.append({"bin": k, "accuracy_low": float(EDGES[k]), "accuracy_high": float(EDGES[k + 1]),
                     "n_items": len(part),
                     "mean_human_accuracy": float(part["human_accuracy"].mean()) if len(part) else np.nan,
                     "ai_errors": errors, "ai_error_rate": errors / len(known) if len(known) else np.nan})
    return pd.DataFrame(rows, columns=BIN_COLUMNS)
