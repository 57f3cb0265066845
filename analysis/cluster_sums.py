"""Per-cluster sums of a regression's information and scores, computed by covariate pattern.

The two-way cluster-robust covariance of :mod:`analysis.models` needs, for every cluster G
of a clustering (raters, items, rater x item cells), B_G = sum_{i in G} w_i x_i x_i' and
s_G = sum_{i in G} x_i r_i (r_i = o_i - mu_i). When the design has few distinct rows
(the treatment-coded condition x ai_correct design has 2 x #conditions; a trial-position
slope one row per position), write X_p for the distinct rows and p(i) for the pattern of
judgment i. Then

    B_G = sum_p W_{G,p} X_p X_p',   W_{G,p} = sum_{i in G, p(i) = p} w_i,
    s_G = sum_p S_{G,p} X_p,        S_{G,p} = sum_{i in G, p(i) = p} r_i,

two bincounts over the judgments instead of p(p + 1)/2 + p weighted ones, and no
(judgments x p) arrays. For clusters of one judgment (the cell clustering when every
rater judges an item once) the jackknife term d_i = r_i B^-1 x_i / (1 - w_i x_i' B^-1 x_i)
depends on i only through p(i), w_i and r_i, so sum_i d_i d_i' = sum_p C_p v_p v_p' with
v_p = B^-1 X_p and C_p = sum_{p(i) = p} (r_i / (1 - w_i X_p' B^-1 X_p))^2. The sums of
q_ik = w_i (x_i' B^-1 e_k)^2 over a cluster (the degrees of freedom) are W_{G,p} (X_p' B^-1 e_k)^2
summed over p. These are the same numbers as the per-judgment sums, up to the order of
floating-point additions; :func:`by_pattern` returns None for designs with many distinct rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

MAX_PATTERNS = 512  # more distinct design rows than this: per-judgment sums


@dataclass
class PatternSums:
    """A design's distinct rows, each judgment's pattern, its weight w and residual r."""

    code: np.ndarray  # (n,) pattern of each judgment
    rows: np.ndarray  # (P, p) the distinct design rows
    weight: np.ndarray  # (n,)
    resid: np.ndarray  # (n,)
    _groups: list[tuple[np.ndarray, np.ndarray, int]] = field(default_factory=list)

    def group_codes(self, groups: np.ndarray) -> tuple[np.ndarray, int]:
        """(0-based code of each judgment's cluster, number of clusters), cached per clustering array."""
        for known, codes, n_groups in self._groups:
            if known is groups:
                return codes, n_groups
        codes, n_groups = _dense_codes(groups)
        self._groups.append((groups, codes, n_groups))
        return codes, n_groups

    def information(self) -> np.ndarray:
        """B = sum_i w_i x_i x_i'."""
        out: np.ndarray = (self.rows.T * np.bincount(self.code, self.weight, minlength=len(self.rows))) @ self.rows
        return out

    def _by_group(self, groups: np.ndarray, values: np.ndarray) -> np.ndarray:
        codes, n_groups = self.group_codes(groups)
        n_p = len(self.rows)
        out: np.ndarray = np.bincount(codes * n_p + self.code, values, minlength=n_groups * n_p).reshape(n_groups, n_p)
        return out

    def cluster_sums(self, groups: np.ndarray) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(B_G (G, p, p), s_G (G, p)) for the clusters ``groups`` (module docstring)."""
        p = self.rows.shape[1]
        outer = (self.rows[:, :, None] * self.rows[:, None, :]).reshape(len(self.rows), p * p)
        b_g: NDArray[np.float64] = (self._by_group(groups, self.weight) @ outer).reshape(-1, p, p)
        s_g: NDArray[np.float64] = self._by_group(groups, self.resid) @ self.rows
        return b_g, s_g

    def singleton_outer(self, info: np.ndarray) -> np.ndarray:
        """sum_i d_i d_i' over one-judgment clusters, d_i = r_i B^-1 x_i / (1 - leverage_i)."""
        v = self.rows @ np.linalg.inv(info)
        lev = self.weight * np.einsum("pk,pk->p", v, self.rows)[self.code]
        c2 = np.bincount(self.code, (self.resid / (1.0 - np.clip(lev, None, 1.0 - 1e-12))) ** 2,
                         minlength=len(self.rows))
        out: np.ndarray = (v.T * c2) @ v
        return out

    def square_sums(self, bread: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """sum_G (sum_{i in G} q_ik)^2 per coefficient k, q_ik = w_i (x_i' B^-1 e_k)^2."""
        u2 = (self.rows @ bread) ** 2
        if self.group_codes(groups)[1] == len(self.code):  # one judgment per cluster: sum_i q_ik^2
            singles: np.ndarray = np.bincount(self.code, self.weight**2, minlength=len(self.rows)) @ u2**2
            return singles
        q_g = self._by_group(groups, self.weight) @ u2
        out: np.ndarray = (q_g**2).sum(axis=0)
        return out

    def q_total(self, bread: np.ndarray) -> np.ndarray:
        """sum_i q_ik per coefficient k."""
        out: np.ndarray = np.bincount(self.code, self.weight, minlength=len(self.rows)) @ (self.rows @ bread) ** 2
        return out


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


def by_pattern(x: np.ndarray, resid: np.ndarray, weight: np.ndarray) -> PatternSums | None:
    """Pattern sums of a design with at most ``MAX_PATTERNS`` distinct rows (and fewer than half the rows)."""
    found = patterns(x)
    if found is None or 2 * len(found[1]) > len(x):
        return None
    return PatternSums(found[0], found[1], weight, resid)
