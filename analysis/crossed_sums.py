"""Sums over the rater, item and cell clusters of a regression design, by covariate pattern when it has few rows.

The two-way covariance (:mod:`analysis.crossed`) needs sums such as sum_{i in g} x_i v_i
over the clusters g of one kind, sum_i v_i x_i' M x_i, or sum_i v_i x_i' M m_c(i) with m_c
a per-rater or per-item vector. When the design has few distinct rows X_p (a
treatment-coded condition x ai_correct design has 2 x #conditions;
:func:`analysis.cluster_sums.patterns`), with p(i) the pattern of judgment i:

    sum_{i in g} x_i v_i = sum_p V_{g,p} X_p,   V_{g,p} = sum_{i in g, p(i) = p} v_i,

one bincount over the judgments instead of (judgments x p) arrays; the other sums likewise.
Designs with many distinct rows use the per-judgment sums (the same numbers, tested).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import sparse

from analysis import cluster_sums as patterns_mod
from analysis.cluster_sums import _dense_codes

KINDS = ("rater", "item", "cell")
SIGN = {"rater": 1.0, "item": 1.0, "cell": -1.0}  # V = V_rater + V_item - V_cell
COMPONENTS = ("phi", "rater", "item")  # the working model's pieces, in the order of its parameters


@dataclass(frozen=True)
class Crossed:
    """A design (x, working weights w) with its rater, item and cell (rater x item) clusterings.

    ``x`` is built from the patterns (x_i = X_{p(i)}) on first use when not given: the sums by
    pattern never need it. ``pattern_weight``: w_p when every weight is its pattern's (w_i = w_{p(i)}:
    a GLM on a design with few rows); then C_gp = w_p N_gp with N_gp the judgments of cluster g with
    pattern p, counted once for every weight."""

    given_x: np.ndarray | None
    weight: np.ndarray
    info: np.ndarray
    bread: np.ndarray
    codes: dict[str, np.ndarray]  # cluster code of each judgment, per kind ("obs": the judgment itself)
    sizes: dict[str, int]
    cell_rater: np.ndarray  # rater code of each cell
    cell_item: np.ndarray  # item code of each cell
    pattern: np.ndarray | None  # pattern of each judgment, or None (many distinct rows)
    rows: np.ndarray  # the distinct design rows (P x p); x itself without patterns
    pattern_weight: np.ndarray | None = None  # w_p with w_i = w_{p(i)}, or None
    _indicators: dict[str, sparse.csr_matrix] = field(default_factory=dict)  # shared by reweighted copies
    _keys: dict[str, np.ndarray] = field(default_factory=dict)  # likewise
    _tables: dict[str, np.ndarray] = field(default_factory=dict)  # of this weight only
    _built: dict[str, np.ndarray] = field(default_factory=dict)  # x when not given; shared by reweighted copies
    _last: dict[str, np.ndarray] = field(default_factory=dict)  # tables of the last vector summed (value_table)

    @property
    def x(self) -> np.ndarray:
        """The n x p design."""
        if self.given_x is not None:
            return self.given_x
        if "x" not in self._built:
            assert self.pattern is not None
            self._built["x"] = self.rows[self.pattern]
        return self._built["x"]

    def indicator(self, kind: str) -> sparse.csr_matrix:
        """G x n cluster membership (built on first use)."""
        if kind not in self._indicators:
            n = len(self.weight)
            self._indicators[kind] = sparse.csr_matrix(
                (np.ones(n), (self.codes[kind], np.arange(n))), shape=(self.sizes[kind], n))
        return self._indicators[kind]

    def key(self, kind: str) -> np.ndarray:
        """code * P + pattern of every judgment: its (cluster, pattern) pair (designs with patterns)."""
        if kind not in self._keys:
            assert self.pattern is not None
            key = self.codes[kind] * len(self.rows)
            key += self.pattern
            self._keys[kind] = key
        return self._keys[kind]

    def count_table(self, kind: str) -> np.ndarray:
        """G x P: N_gp, the judgments of cluster g with pattern p ("pattern": the P-vector of counts)."""
        name = f"count.{kind}"
        if name not in self._keys:
            assert self.pattern is not None
            size, n_p = (1, len(self.rows)) if kind == "pattern" else (self.sizes[kind], len(self.rows))
            code = self.pattern if kind == "pattern" else self.key(kind)
            self._keys[name] = np.bincount(code, minlength=size * n_p).reshape(size, n_p)  # integers
        return self._keys[name]

    def weight_table(self, kind: str) -> np.ndarray:
        """G x P: C_gp = sum of w_i over the judgments of cluster g with pattern p (designs with patterns)."""
        if kind not in self._tables:
            if self.pattern_weight is not None:
                self._tables[kind] = self.count_table(kind) * self.pattern_weight
            else:
                self._tables[kind] = self.value_table(kind, self.weight, keep=False)
        return self._tables[kind]

    def weight_sums(self, power: int = 1) -> np.ndarray:
        """P-vector sum_{i: p(i) = p} w_i^power (designs with patterns; summed judgment by judgment, as the
        degrees of freedom were before the counts)."""
        name = f"power.{power}"
        if name not in self._tables:
            assert self.pattern is not None
            if self.pattern_weight is not None and np.all(self.pattern_weight == 1.0):  # unit weights: counts, exact
                self._tables[name] = self.count_table("pattern")[0].astype(float)
            else:
                self._tables[name] = np.bincount(self.pattern, self.weight**power, minlength=len(self.rows))
        return self._tables[name]

    def cached(self, name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """A value of this design and weight, computed on first use."""
        if name not in self._tables:
            self._tables[name] = compute()
        return self._tables[name]

    def known_table(self, kind: str, v: np.ndarray) -> np.ndarray | None:
        """The kept table of v (:meth:`value_table`), or None."""
        return self._last[kind] if self._last.get("vector") is v and kind in self._last else None

    def value_table(self, kind: str, v: np.ndarray, keep: bool = True) -> np.ndarray:
        """G x P: sum of v_i over the judgments of cluster g with pattern p; the tables of the last
        vector (by identity) are kept (``keep``), so the sandwich and the moment equations share them."""
        known = self.known_table(kind, v) if keep else None
        if known is not None:
            return known
        size, n_p = self.sizes[kind], len(self.rows)
        table = np.bincount(self.key(kind), v, minlength=size * n_p).reshape(size, n_p)
        if keep:
            if self._last.get("vector") is not v:
                self._last.clear()
                self._last["vector"] = v
            self._last[kind] = table
        return table


def crossed_design(x: np.ndarray | None, weight: np.ndarray, rater: np.ndarray, item: np.ndarray,
                   like: Crossed | None = None, found: tuple[np.ndarray, np.ndarray] | None = None,
                   pattern_weight: np.ndarray | None = None) -> Crossed:
    """Cluster codes of a design; cells are the distinct (rater, item) pairs. ``like``: a Crossed of the
    same x, raters and items (another weight), whose codes and patterns are reused; ``found``: the
    patterns of x (:func:`analysis.cluster_sums.patterns`) when already known (then x may be None);
    ``pattern_weight``: w_p when weight = w_{p(i)} (the weight sums are then taken from counts)."""
    if like is not None:
        pattern_weight = pattern_weight if like.pattern is not None else None
        weight, info, tables = _weighted(like.x if like.pattern is None else None, like.pattern, like.rows, weight,
                                         pattern_weight)
        return replace(like, weight=weight, pattern_weight=pattern_weight, info=info, bread=np.linalg.inv(info),
                       _tables=tables, _last={})
    r, n_raters = dense_codes(np.asarray(rater))
    j, n_items = dense_codes(np.asarray(item))
    cell, cell_rater, cell_item = cell_codes(r, j, max(n_items, 1))
    codes = {"rater": r, "item": j, "cell": cell, "obs": cell if len(cell_rater) == len(r) else np.arange(len(r))}
    sizes = {"rater": n_raters, "item": n_items, "cell": len(cell_rater), "obs": len(r)}
    found = patterns_mod.patterns(x) if found is None and x is not None else found
    if found is not None and 2 * len(found[1]) <= len(r):
        pattern, rows = found
    else:
        x = found[1][found[0]] if x is None and found is not None else x
        assert x is not None
        pattern, rows = None, x
    pattern_weight = pattern_weight if pattern is not None else None
    weight, info, tables = _weighted(x, pattern, rows, weight, pattern_weight)
    return Crossed(x, weight, info, np.linalg.inv(info), codes, sizes, cell_rater, cell_item, pattern, rows,
                   pattern_weight, _tables=tables)


def _weighted(x: np.ndarray | None, pattern: np.ndarray | None, rows: np.ndarray, weight: np.ndarray,
              pattern_weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The weights w_i, the information B = X'WX = sum_p (sum_{p(i) = p} w_i) X_p X_p' and the first
    tables of this weight (the per-pattern sums of w, as :meth:`Crossed.weight_sums` keeps them)."""
    if pattern is None:
        assert x is not None
        return weight, x.T @ (x * weight[:, None]), {}
    if pattern_weight is not None and np.all(pattern_weight == 1.0):  # unit weights: the counts (exact)
        per = np.bincount(pattern, minlength=len(rows)).astype(float)
    else:
        per = np.bincount(pattern, weight, minlength=len(rows))  # summed judgment by judgment, not from counts
    return weight, (rows.T * per) @ rows, {"power.1": per}


def cell_codes(r: np.ndarray, j: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell code of each judgment, rater and item code of each cell) from 0-based rater and item codes.

    When every (rater, item) pair is distinct (checked on the sorted keys r * n_items + j) the
    cell of a judgment is the judgment itself; otherwise cells are numbered by first appearance."""
    key = r * n_items + j
    ordered = np.sort(key.astype(np.int32) if n_items * (int(r.max(initial=0)) + 1) < 2**31 else key)
    if not (ordered[1:] == ordered[:-1]).any():
        return np.arange(len(key)), r, j
    cell, n_cells = dense_codes(key)
    keys = np.zeros(n_cells, dtype=np.int64)
    keys[cell] = key
    return cell, keys // n_items, keys % n_items


def dense_codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """(0-based int64 code of each label, number of distinct labels); codes already 0 .. G - 1 with
    every value present are kept (one bincount instead of a lookup)."""
    if labels.dtype.kind in "iu" and len(labels) and labels.min() >= 0 and labels.max() < 4 * len(labels):
        counts = np.bincount(labels)
        if counts.all():
            return labels.astype(np.int64), len(counts)
    codes, size = _dense_codes(labels) if labels.dtype.kind in "iu" else _dense_codes(pd.factorize(labels)[0])
    return codes.astype(np.int64), size


def singletons(cd: Crossed, kind: str) -> bool:
    return cd.sizes[kind] == len(cd.weight)


def sums(cd: Crossed, kind: str, v: np.ndarray) -> np.ndarray:
    """Sums of v (a vector, or the rows of a matrix) over the clusters of one kind."""
    if kind == "obs":
        return v
    if v.ndim == 1:
        known = cd.known_table(kind, v)
        if known is not None:  # G x P table of v already summed: add up its rows
            out: np.ndarray = known.sum(axis=1)
            return out
        return np.bincount(cd.codes[kind], v, minlength=cd.sizes[kind])
    return np.asarray(cd.indicator(kind) @ v)


def xsums(cd: Crossed, kind: str, v: np.ndarray) -> np.ndarray:
    """G x p: sum_{i in g} x_i v_i for the clusters g of one kind."""
    if cd.pattern is None or kind == "obs":
        return sums(cd, kind, cd.x * v[:, None])
    table = cd.weight_table(kind) if v is cd.weight else cd.value_table(kind, v)
    out: np.ndarray = table @ cd.rows
    return out


def row_values(cd: Crossed, mat: np.ndarray) -> np.ndarray:
    """x_i' mat x_i for every judgment."""
    if cd.pattern is None:
        plain: np.ndarray = np.einsum("ij,jk,ik->i", cd.x, mat, cd.x)
        return plain
    out: np.ndarray = np.einsum("pj,jk,pk->p", cd.rows, mat, cd.rows)[cd.pattern]
    return out


def cross_values(cd: Crossed, kind: str, m_c: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """x_i' mat m_c(i) for every judgment, m_c one p-vector per cluster of ``kind`` (rows of m_c)."""
    if cd.pattern is None:
        plain: np.ndarray = np.einsum("ij,ij->i", cd.x @ mat, m_c[cd.codes[kind]])
        return plain
    out: np.ndarray = (m_c @ mat.T @ cd.rows.T)[cd.codes[kind], cd.pattern]
    return out


def weight_coefficient_sums(cd: Crossed, weight_power: int, power: int) -> np.ndarray:
    """p-vector sum_i (x_i' B^-1 e_k)^power w_i^weight_power (by pattern: sum_p (X_p' B^-1 e_k)^power sum_{p(i) = p} w_i^weight_power)."""
    if cd.pattern is None:
        return coefficient_sums(cd, cd.weight**weight_power, power)
    out: np.ndarray = ((cd.rows @ cd.bread) ** power).T @ cd.weight_sums(weight_power)
    return out


def coefficient_sums(cd: Crossed, f: np.ndarray, power: int = 2) -> np.ndarray:
    """p-vector sum_i (x_i' B^-1 e_k)^power f_i."""
    if cd.pattern is None:
        plain: np.ndarray = ((cd.x @ cd.bread) ** power).T @ f
        return plain
    out: np.ndarray = ((cd.rows @ cd.bread) ** power).T @ np.bincount(cd.pattern, f, minlength=len(cd.rows))
    return out


def quad_sum(cd: Crossed, kind: str, v: np.ndarray, mat: np.ndarray) -> float:
    """sum_g s_g' mat s_g with s_g = sum_{i in g} x_i v_i."""
    if kind == "obs" or singletons(cd, kind):
        return float(v**2 @ row_values(cd, mat))
    s_g = xsums(cd, kind, v)
    return float(np.sum((s_g @ mat) * s_g))


def outer_sum(cd: Crossed, kind: str, v: np.ndarray) -> np.ndarray:
    """p x p: sum_g s_g s_g' with s_g = sum_{i in g} x_i v_i."""
    if singletons(cd, kind):
        if cd.pattern is None:
            plain: np.ndarray = cd.x.T @ (cd.x * (v**2)[:, None])
            return plain
        out: np.ndarray = (cd.rows.T * np.bincount(cd.pattern, v**2, minlength=len(cd.rows))) @ cd.rows
        return out
    s_g = xsums(cd, kind, v)
    meat: np.ndarray = s_g.T @ s_g
    return meat


def blocks(cd: Crossed, kind: str, v: np.ndarray, rows: np.ndarray,
           partner: tuple[str, np.ndarray] | None = None) -> np.ndarray:
    """G' x p x p: sum_{i in g} v_i x_i y_i' over the clusters g holding ``rows``, y_i = x_i, or
    y_i = m_c(i) with ``partner`` = (kind c, m_c)."""
    if len(rows) == len(cd.weight):  # every cluster: the codes are already 0 .. G - 1
        codes, size, first = cd.codes[kind], cd.sizes[kind], np.arange(cd.sizes[kind])
    else:
        codes, labels = pd.factorize(cd.codes[kind][rows])
        size, first = len(labels), np.asarray(labels)
    weights, n_p = v[rows], len(cd.rows)
    if partner is not None and partner[0] == kind:  # m_c(i) is the cluster's own: (sum v_i x_i) m_g'
        own: np.ndarray = _row_sums(cd, codes, size, weights, rows)[:, :, None] * partner[1][first][:, None, :]
        return own
    if cd.pattern is None:
        ind = sparse.csr_matrix((weights, (codes, np.arange(len(codes)))), shape=(size, len(codes)))
        y = cd.x[rows] if partner is None else partner[1][cd.codes[partner[0]][rows]]
        stacked: np.ndarray = np.stack([np.asarray(ind @ (cd.x[rows, a : a + 1] * y)) for a in range(cd.x.shape[1])], 1)
        return stacked
    key = codes * n_p + cd.pattern[rows]
    if partner is None:
        table = np.bincount(key, weights, minlength=size * n_p).reshape(size, n_p)
        paired: np.ndarray = np.einsum("gp,pa,pb->gab", table, cd.rows, cd.rows)
        return paired
    m_i = partner[1][cd.codes[partner[0]][rows]]
    summed = np.stack([np.bincount(key, weights * m_i[:, b], minlength=size * n_p) for b in range(m_i.shape[1])], 1)
    out: np.ndarray = np.einsum("gpb,pa->gab", summed.reshape(size, n_p, -1), cd.rows)
    return out


def _row_sums(cd: Crossed, codes: np.ndarray, size: int, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """size x p: sum of weights_i x_i per code, for the judgments ``rows``."""
    if cd.pattern is None:
        return np.asarray(sparse.csr_matrix((weights, (codes, np.arange(len(codes)))), shape=(size, len(codes)))
                          @ cd.x[rows])
    n_p = len(cd.rows)
    out: np.ndarray = np.bincount(codes * n_p + cd.pattern[rows], weights, minlength=size * n_p).reshape(size, n_p) @ cd.rows
    return out
