"""Accuracy and reliance by trial position: learning and fatigue.

Trial position is the ``position`` column (0-based place of the item in the rater's
sequence). Per condition the positions of the analysed judgments are cut into
``n_bins`` equal-width bins; each bin reports n, accuracy = mean(h == y) over judgments
with y, agreement_with_ai = mean(h == a) and over_reliance = mean(h == a | a != y).

Slope: per condition and outcome o in {correct = [h == y], agree_with_ai = [h == a]},
the least-squares line o = b0 + b1 * position / 10 (a linear probability model), so
``slope_per_10_trials`` is the change in the share per 10 trials. Its interval and
p-value use the corrected two-way (rater, item) cluster-robust covariance and per-term t
degrees of freedom of :mod:`analysis.models` (with unit weights, the OLS case; V0 and the
independence df when the leverage bound of :mod:`analysis.crossed_fast` shows the
corrections negligible). The two outcomes share the crossed design when they have the
same judgments; the line is fitted on the per-position means (weighted by counts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis import cluster_sums, crossed, models
from analysis import schema as s

POSITION = "position"
BIN_COLUMNS = ["condition", "bin", "position_low", "position_high", "n", "accuracy", "agreement_with_ai",
               "over_reliance"]
SLOPE_COLUMNS = ["condition", "outcome", "slope_per_10_trials", "ci_low", "ci_high", "p_value", "n"]


def _frame(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per judgment with a position: condition code, position, rater/item codes, label codes y, a, h; and the names."""
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    if s.CONDITION in df.columns:
        cond, names = s.id_codes(df, s.CONDITION)
    else:
        cond, names = np.zeros(len(df), dtype=np.int64), np.array(["all"], dtype=object)
    position = s.floats(df, POSITION)
    keep = ~np.isnan(position)
    columns = {
        "condition": cond, "position": position,
        "rater": s.id_codes(df, s.RATER)[0] if s.RATER in df.columns else np.arange(len(df)),
        "item": s.id_codes(df, s.ITEM)[0] if s.ITEM in df.columns else np.arange(len(df)),
        "y": y, "a": a, "h": h,
    }
    out = columns if keep.all() else {key: v[keep] for key, v in columns.items()}
    out["names"] = names
    return out


def _by_condition(data: dict[str, np.ndarray]) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """(condition name, its judgments' columns) for every condition with judgments, in table order:
    position, rater, item and the 0/1 (boolean) columns graded = [y], correct = [h == y],
    has_ai = [a and h], agree = [h == a], ai_wrong = [a != y] (each needs its labels)."""
    names, cond = data["names"], data["condition"]
    for code, name in enumerate(names):
        rows = np.flatnonzero(cond == code)
        if not len(rows):
            continue
        at = slice(None) if len(rows) == len(cond) else rows  # one condition: views, no copies
        y, a, h = (data[key][at] for key in ("y", "a", "h"))
        yield str(name), {
            "position": data["position"][at], "rater": data["rater"][at], "item": data["item"][at],
            "graded": y >= 0, "correct": (y >= 0) & (h == y), "has_ai": (a >= 0) & (h >= 0),
            "agree": (a >= 0) & (h == a), "ai_wrong": (a >= 0) & (y >= 0) & (a != y),
        }


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(num) / np.sum(den))


def position_bins(df: pd.DataFrame, n_bins: int = 5) -> pd.DataFrame:
    """Per condition and position bin: n, accuracy, agreement_with_ai, over_reliance (module docstring)."""
    if POSITION not in df.columns or not len(df):
        return pd.DataFrame(columns=BIN_COLUMNS)
    rows = []
    for cond, part in _by_condition(_frame(df)):
        pos = part["position"]
        low, high = float(pos.min()), float(pos.max())
        edges = np.linspace(low, high, n_bins + 1) if high > low else np.array([low, high + 1.0])
        b = np.clip(np.searchsorted(edges, pos, side="right") - 1, 0, len(edges) - 2)
        part["over"] = part["agree"] * part["ai_wrong"]
        sums = {key: np.bincount(b, part[key], minlength=len(edges) - 1)  # exact: 0/1 values
                for key in ("correct", "graded", "agree", "has_ai", "over", "ai_wrong")}
        n = np.bincount(b, minlength=len(edges) - 1)
        for k in np.flatnonzero(n):
            at = pos[b == k]
            rows.append({"condition": cond, "bin": int(k), "position_low": float(at.min()),
                         "position_high": float(at.max()), "n": int(n[k]),
                         "accuracy": _ratio(sums["correct"][k], sums["graded"][k]),
                         "agreement_with_ai": _ratio(sums["agree"][k], sums["has_ai"][k]),
                         "over_reliance": _ratio(sums["over"][k], sums["ai_wrong"][k])})
    return pd.DataFrame(rows, columns=BIN_COLUMNS)


_EMPTY = {"slope_per_10_trials": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}


def _position_patterns(position: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The patterns of the column position / 10 (:func:`analysis.cluster_sums.patterns`: values numbered by
    first appearance), by a lookup table when the positions are small non-negative integers."""
    scaled = position / 10.0
    top = float(position.max())
    if position.min() < 0 or top >= 4 * len(position) or top <= 10 or not (position == np.floor(position)).all():
        return cluster_sums.patterns(scaled[:, None])  # also 0/10 only: an indicator column, numbered by value
    ints = position.astype(np.int64)
    first = np.full(int(top) + 1, len(ints))
    first[ints[::-1]] = np.arange(len(ints))[::-1]  # first appearance of each position
    values = np.flatnonzero(first < len(ints))
    if len(values) > cluster_sums.MAX_PATTERNS:
        return None
    order = values[np.argsort(first[values])]
    rank = np.zeros(len(first), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[ints], scaled[first[order]][:, None]


@dataclass(frozen=True)
class _Line:
    """What the slopes of one set of judgments share: the position patterns (with their counts and
    rows [1, position / 10]) or the n x 2 design, and the crossed design (unit weights)."""

    found: tuple[np.ndarray, np.ndarray] | None
    counts: np.ndarray
    x: np.ndarray | None
    clusters: crossed.Crossed


def _line(g: dict[str, np.ndarray]) -> _Line | None:
    """The shared design of these judgments; None with fewer than 3 or no variation in position, rater or item."""
    n = len(g["position"])
    if n < 3 or any(not (g[key] != g[key][0]).any() for key in ("position", "rater", "item")):
        return None
    found = _position_patterns(g["position"])  # the positions: fit and sums by position
    if found is None:
        x = np.column_stack([np.ones(n), g["position"] / 10.0])
        return _Line(None, np.ones(0), x, crossed.crossed_design(x, np.ones(n), g["rater"], g["item"]))
    counts, rows = np.bincount(found[0]).astype(float), np.column_stack([np.ones(len(found[1])), found[1]])
    found = (found[0], rows)
    return _Line(found, counts, None, crossed.crossed_design(None, np.ones(n), g["rater"], g["item"], found=found,
                                                            pattern_weight=np.ones(len(rows))))  # unit weights


def _slope(g: dict[str, np.ndarray], outcome: str, designs: dict[bytes, _Line | None]) -> dict[str, float]:
    """OLS slope per 10 trials with the two-way interval; ``designs`` holds the shared design of each
    subset already seen (both outcomes usually share the judgments, hence the design)."""
    key = g["_mask"].tobytes() if "_mask" in g else b""
    if key not in designs:
        designs[key] = _line(g)
    line, n = designs[key], len(g["position"])
    if line is None:
        return {**_EMPTY, "n": n}
    o = g[outcome]  # 0/1 (boolean)
    if line.found is None:
        assert line.x is not None
        beta = np.linalg.lstsq(line.x, o.astype(float), rcond=None)[0]
        resid = line.x @ beta
    else:  # weighted least squares on the per-position means: the same line
        code, rows = line.found
        beta = np.linalg.solve(rows.T @ (rows * line.counts[:, None]), rows.T @ np.bincount(code, o))
        resid = (rows @ beta)[code]
    np.subtract(o, resid, out=resid)  # o - fitted
    cov, dof = crossed.covariance(line.clusters, resid)
    low, high, p = models.t_interval(beta[1:2], np.sqrt(cov[1:2, 1]), dof[1:2])
    return {"slope_per_10_trials": float(beta[1]), "ci_low": float(low[0]), "ci_high": float(high[0]),
            "p_value": float(p[0]), "n": n}


def _subset(part: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    """The judgments with ``keep`` > 0 (no copy when all are kept); ``_mask`` identifies the subset."""
    mask = keep if keep.dtype == bool else keep > 0
    if mask.all():
        return part
    return {**{key: v[mask] for key, v in part.items()}, "_mask": np.packbits(mask)}


def position_slopes(df: pd.DataFrame) -> pd.DataFrame:
    """Per condition: slope of correct and of agree_with_ai on position, per 10 trials, with CI."""
    if POSITION not in df.columns or not len(df):
        return pd.DataFrame(columns=SLOPE_COLUMNS)
    with threadpool_limits(1, "blas"):  # small products (clusters x positions): BLAS threads only contend
        return pd.DataFrame(_slope_rows(df), columns=SLOPE_COLUMNS)


def _slope_rows(df: pd.DataFrame) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for cond, part in _by_condition(_frame(df)):
        designs: dict[bytes, _Line | None] = {}
        for outcome, column, keep in (("correct", "correct", "graded"), ("agree_with_ai", "agree", "has_ai")):
            try:
                fitted = _slope(_subset(part, part[keep]), column, designs)
            except np.linalg.LinAlgError:
                fitted = {**_EMPTY, "n": len(part["position"])}
            rows.append({"condition": cond, "outcome": outcome, **fitted})
    return rows
