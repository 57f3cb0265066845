"""Reliability-diagram table: accuracy against stated confidence, per condition and source.

For raters the pair is (p, [h == y]) over judgments with y, h and p; for the AI it is
(c, [a == y]) over judgments with y, a and c (one row per judgment, so an item counts
as often as it was judged). Confidences fall into 10 equal-width bins (p = 1 in the
last); each (condition, source, bin) with judgments gives n, mean_confidence = mean p
(or c) and accuracy = mean correctness.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import definitions as d
from analysis import schema as s

COLUMNS = ["condition", "source", "bin", "mean_confidence", "accuracy", "n"]
SOURCES = ("ai", "rater")  # sorted, as in the table


def reliability_table(df: pd.DataFrame) -> pd.DataFrame:
    """Reliability-diagram data: per condition, source (rater, ai) and 10 equal-width bins.

    Columns: condition, source, bin, mean_confidence, accuracy, n, sorted by condition,
    source and bin. Rater rows use (p, [h == y]); AI rows use (c, [a == y]) per judgment.
    Judgments without a condition are left out.
    """
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    if s.CONDITION in df.columns:
        cond, names = pd.factorize(df[s.CONDITION], sort=True)
    else:
        cond, names = np.zeros(len(df), dtype=np.int64), pd.Index(["all"])
    sums = np.zeros((3, len(names) * len(SOURCES) * d.N_BINS))  # n, sum of confidence, sum of correct
    for source, conf, right, ok in (
        ("ai", s.floats(df, s.AI_CONF), a == y, (y >= 0) & (a >= 0)),
        ("rater", s.floats(df, s.CONF), h == y, (y >= 0) & (h >= 0)),
    ):
        keep = ok & ~np.isnan(conf) & (cond >= 0)
        bins = np.clip(np.floor(conf[keep] * d.N_BINS), 0, d.N_BINS - 1).astype(np.int64)
        key = (cond[keep] * len(SOURCES) + SOURCES.index(source)) * d.N_BINS + bins
        for row, weights in enumerate((None, conf[keep], right[keep].astype(float))):
            sums[row] += np.bincount(key, weights, minlength=sums.shape[1])
    used = np.flatnonzero(sums[0] > 0)
    group, bin_ = np.divmod(used, d.N_BINS)
    return pd.DataFrame({
        "condition": np.asarray(names, dtype=object)[group // len(SOURCES)],
        "source": np.array(SOURCES, dtype=object)[group % len(SOURCES)],
        "bin": bin_.astype(int), "mean_confidence": sums[1, used] / sums[0, used],
        "accuracy": sums[2, used] / sums[0, used], "n": sums[0, used].astype(np.int64),
    }, columns=COLUMNS)
