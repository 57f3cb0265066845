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
    """Per item: n graded judgments, human accuracy, AI correct (1/0, NaN unknown), AI confidence.

    Items sorted by id; judgments without an item id are left out; ``ai_correct`` and
    ``ai_confidence`` are the item's first non-missing values (in table order) among its
    graded judgments. Computed on the table's shared codes (``schema.shared_codes``).
    """
    if s.missing(df, (s.ITEM, s.GOLD, s.FINAL)):
        return pd.DataFrame(columns=ITEM_COLUMNS), "none"
    keep, source = df[s.ITEM].notna().to_numpy(dtype=bool), "all conditions"
    if reference is not None and s.CONDITION in df.columns:
        cond, names = s.id_codes(df, s.CONDITION)
        hit = np.flatnonzero(names == reference)
        in_ref = (cond == hit[0]) & df[s.CONDITION].notna().to_numpy(dtype=bool) if len(hit) else False
        keep = keep & in_ref
        source = f"reference condition {reference}"
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    rows = np.flatnonzero(keep & (y >= 0))  # graded judgments of the chosen condition, in table order
    item_codes, ids = s.id_codes(df, s.ITEM)
    item = item_codes[rows].astype(np.int64)
    n = np.bincount(item, minlength=len(ids))
    correct = np.bincount(item, weights=(h[rows] == y[rows]), minlength=len(ids))
    ai_correct = np.where(a[rows] >= 0, (a[rows] == y[rows]).astype(float), np.nan)
    present = np.flatnonzero(n > 0)
    out = pd.DataFrame({"item_id": ids[present], "n": n[present].astype(int),
                        "human_accuracy": correct[present] / n[present],
                        "ai_correct": _first_present(ai_correct, item, len(ids))[present],
                        "ai_confidence": _first_present(s.floats(df, s.AI_CONF)[rows], item, len(ids))[present]})
    return out[ITEM_COLUMNS], source


def _first_present(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, its first non-NaN value in order (NaN when it has none)."""
    at = np.flatnonzero(~np.isnan(values))
    first = np.full(n_groups, -1, dtype=np.int64)
    first[group[at][::-1]] = at[::-1]  # the earliest write wins: assigned last
    return np.where(first >= 0, values[np.clip(first, 0, None)] if len(values) else np.nan, np.nan)


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
