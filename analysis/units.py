"""The resampling units of the two-way bootstrap: rater and item codes, rater strata, multiplicities.

A replicate draws raters with replacement within their stratum (the set of conditions a
rater judged in, so a between-subjects study keeps its raters per condition) and,
independently, items with replacement from all items. ``draw`` gives how often each unit
was drawn, per replicate: R (B, n_raters) and I (B, n_items).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as s


def codes(df: pd.DataFrame, column: str, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code of each judgment, ids) of the rater or item column; each judgment its own unit when absent."""
    if column not in df.columns:
        notes.append(f"column {column} missing: every judgment treated as its own {column[:-3]} cluster")
        return np.arange(len(df)), np.array([f"row{i}" for i in range(len(df))], dtype=object)
    return s.id_codes(df, column)


def condition_codes(df: pd.DataFrame, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code of each judgment's condition, condition names); ``all`` when the column is missing."""
    if s.CONDITION not in df.columns:
        notes.append("column condition missing: all judgments pooled as condition 'all'")
        return np.zeros(len(df), dtype=np.int64), np.array(["all"], dtype=object)
    return s.id_codes(df, s.CONDITION)


def strata(rater: np.ndarray, cond: np.ndarray, n_raters: int) -> np.ndarray:
    """Stratum of each rater: the set of conditions it judged in (as a code)."""
    cond_code, _ = pd.factorize(cond, sort=True)
    members = np.zeros((n_raters, int(cond_code.max(initial=0)) + 1), dtype=bool)
    members[rater, cond_code] = True
    packed = members @ (1 << np.arange(members.shape[1])[::-1]) if members.shape[1] <= 62 else members  # same order
    return np.unique(packed, axis=0, return_inverse=True)[1].astype(np.int64).ravel()


def draw(rater_stratum: np.ndarray, n_items: int, n_boot: int, seed: int, *,
         compact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicity matrices (R (B, n_raters), I (B, n_items)), seeded: the strata in order, then the items.

    Float64, or with ``compact`` uint8 (widened only if a multiplicity exceeds 255): the
    same values in an eighth of the memory.
    """
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if compact else np.float64
    rater_w = np.zeros((n_boot, len(rater_stratum)), dtype=dtype)
    for stratum in range(int(rater_stratum.max(initial=-1)) + 1):
        rater_w = _draw_into(rng, rater_w, np.flatnonzero(rater_stratum == stratum))
    item_w = _draw_into(rng, np.zeros((n_boot, n_items), dtype=dtype), None)
    return rater_w, item_w


def _draw_into(rng: np.random.Generator, out: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    """Write how often each of m units (``columns`` of ``out``, else all) is drawn in m draws with
    replacement, per replicate (row), into ``out``; returns it (widened if a count overflows its type).

    Drawn in chunks of replicates (bounded index arrays); the same values as one
    ``rng.integers(0, m, size=m)`` per replicate in order (tested).
    """
    n_boot, m = out.shape[0], out.shape[1] if columns is None else len(columns)
    chunk = max(1, 2**20 // max(m, 1))
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        drawn = rng.integers(0, m, size=(rows, m))
        drawn += np.arange(rows)[:, None] * m
        counts = np.bincount(drawn.ravel(), minlength=rows * m).reshape(rows, m)
        if out.dtype.kind == "u" and counts.max(initial=0) > np.iinfo(out.dtype).max:
            out = out.astype(np.uint32)
        if columns is None:
            out[start:start + rows] = counts
        else:
            out[start:start + rows, columns] = counts
    return out
