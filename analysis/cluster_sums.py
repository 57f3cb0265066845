"""Covariate patterns of a regression design: its distinct rows and each row's pattern.

A treatment-coded condition x ai_correct design has 2 x #conditions distinct rows, a
trial-position slope one per position. Sums over the judgments that depend on a judgment
only through its design row can then be taken per pattern: the logistic fit on
(successes, trials) per pattern (:func:`analysis.models.logistic_mle`) and the cluster
sums of the two-way covariance by (cluster, pattern) (:mod:`analysis.crossed_sums`).
:func:`patterns` returns None for designs with more than ``MAX_PATTERNS`` distinct rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_PATTERNS = 512  # more distinct design rows than this: per-judgment sums


def _dense_codes(groups: np.ndarray) -> tuple[np.ndarray, int]:
    """(0-based cluster code of each row, number of clusters); small non-negative integer labels by a lookup table."""
    if groups.dtype.kind in "iu" and len(groups) and groups.min() >= 0 and groups.max() < 4 * len(groups):
        present = np.zeros(int(groups.max()) + 1, dtype=bool)
        present[groups] = True
        lookup = np.cumsum(present) - 1
        return lookup[groups], int(present.sum())
    codes = pd.factorize(groups)[0]
    return codes, int(codes.max()) + 1 if len(codes) else 0


def patterns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(pattern code of each row, distinct rows) of a design matrix, or None with over ``MAX_PATTERNS`` rows."""
    max_patterns = MAX_PATTERNS
    if not len(x):
        return None
    code, n_codes = np.zeros(len(x), dtype=np.int64), 1
    for column in x.T:
        if ((column == 0.0) | (column == 1.0)).all():  # indicator columns (most of a treatment-coded design)
            col_code, n_values = column.astype(np.int64), 2
        else:
            col_code, uniques = pd.factorize(column, use_na_sentinel=False)
            n_values = len(uniques)
            if n_values > max_patterns:
                return None
        code, n_codes = code * n_values + col_code, n_codes * n_values
        if n_codes > max_patterns:  # keep the combined code small: renumber the combinations present
            code, kinds = pd.factorize(code)
            n_codes = len(kinds)
            if n_codes > max_patterns:
                return None
    present = np.bincount(code, minlength=n_codes) > 0  # renumber the combinations present: 0 .. P - 1
    code = (np.cumsum(present) - 1)[code]
    first = np.zeros(int(code.max()) + 1, dtype=np.int64)
    first[code[::-1]] = np.arange(len(code))[::-1]
    return code.astype(np.int64), x[first]
