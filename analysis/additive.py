"""The additive two-way bootstrap: replicate sums from rater and item sums (large studies).

The exact two-way bootstrap (:mod:`analysis.engine`) weights the judgment of rater r on
item j in replicate b by w = R[b, r] I[b, j], the product of how often r and j were
drawn. With R = 1 + rho and I = 1 + iota that is w = 1 + rho + iota + rho iota. The
additive bootstrap drops the product of the two deviations:

    w_add = R[b, r] + I[b, j] - 1,

so every term sum (``analysis.definitions``: sum over judgments of a row quantity times an
item factor) of replicate b is built from the sums of the term per rater (T_r) and per
item (T_j) and in total (T):

    T*_b = sum_r R[b, r] T_r + sum_j I[b, j] T_j - T.

Two dense matrix products per condition, (replicates x raters) and (replicates x items)
by (units x terms), replace the exact bootstrap's work per judgment and replicate. The
metrics are then the same functions of the replicate sums as in the exact bootstrap, with
the same multiplicities R and I (same seed), so all conditions still share the replicates.

Why it is valid: a sum S = sum_i x_i has, under the product weights with
multiplicities of variance 1, bootstrap variance ~ sum_r X_r^2 + sum_j X_j^2 + sum_i x_i^2
(X_r, X_j the rater and item sums of the centred x). The dropped part rho iota contributes
the last term; the additive weights give sum_r X_r^2 + sum_j X_j^2. The two-way
cluster-robust variance of Cameron, Gelbach and Miller (2011) is sum_r X_r^2 + sum_j X_j^2
- sum_i x_i^2 (each judgment's own part is counted in both cluster sums once too often),
so the additive bootstrap is conservative by one judgment-level part where the exact
product-weight bootstrap is conservative by two. The metrics are smooth functions of the
sums, so at the sample sizes this mode is for the nonlinearity is negligible; coverage is
measured in ``benchmarks/bench_coverage.py --bootstrap additive``.

Cross-fitted routing: each fold split's fold thresholds are those of the point estimate
(chosen on the other folds, unweighted), held fixed in the replicates, so the routed
accuracy of a replicate is a ratio of term sums too: with human_s(j) = 1 when item j goes to
the human in split s (c_j <= T_fold(j), or c_j missing),

    cv_accuracy = (A - A_h + H_h) / N,  human_slice_share = N_h / N,
    human_slice_human_accuracy = H_h / N_h,  human_slice_ai_accuracy = A_h / N_h,

H_h, N_h, A_h the sums of [h == y], graded and graded x [a == y] over judgments whose item
goes to the human, A and N over all. Replicate b uses split b mod n_splits, as the exact
bootstrap does. At a large sample the chosen thresholds hardly move, and the accuracy is
flat at an optimal threshold, so holding them fixed changes the interval only to second
order. Team complementarity uses the reference condition's sums of [h == y] and graded
over the items each other condition shares with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from analysis import definitions as d
from analysis import engine, parallel, routing, slot_sums
from analysis import schema as s

#: Studies with at least this many analysed judgments use the additive bootstrap by default.
AUTO_JUDGMENTS = 200_000
MODES = ("auto", "exact", "additive")
_EXACT32 = 2**24  # integers below this are exact in float32
_BLOCK = 125  # replicates per block: the converted weights of a block stay ~25 MB at 50,000 units (float32)


def chosen(mode: str, n_judgments: int) -> str:
    """``exact`` or ``additive``: ``auto`` is additive from ``AUTO_JUDGMENTS`` analysed judgments."""
    if mode not in MODES:
        raise ValueError(f"bootstrap must be one of {list(MODES)}, not {mode!r}")
    if mode == "auto":
        return "additive" if n_judgments >= AUTO_JUDGMENTS else "exact"
    return mode


@dataclass(frozen=True)
class Column:
    """One term: a 0/1 or continuous row quantity (``definitions.Q`` index) times an item vector."""

    quantity: int
    item_factor: np.ndarray  # (n_items,)


@dataclass(frozen=True)
class UnitSums:
    """The terms of one condition summed per rater (n_r, K), per item (n_i, K) and in total (K,).

    Columns ``n_base`` and on come in groups of ``group`` (one group per fold split); a
    replicate uses the first ``n_base`` columns and its split's group.
    """

    rater: np.ndarray
    item: np.ndarray
    total: np.ndarray
    n_base: int
    group: int = 3
    by_split: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Per split: (its columns, their rater and item sums in float32, largest column sums of |T|)."""
        r_abs, i_abs = np.abs(self.rater).sum(axis=0), np.abs(self.item).sum(axis=0)
        for start in range(self.n_base, self.rater.shape[1], self.group):
            cols = np.r_[0:self.n_base, start:start + self.group]
            self.by_split.append((cols, self.rater[:, cols].astype(np.float32), self.item[:, cols].astype(np.float32),
                                  r_abs[cols].max(initial=0.0), i_abs[cols].max(initial=0.0)))

    def products(self, rater_w: np.ndarray, item_w: np.ndarray, split: int) -> np.ndarray:
        """sum_r R[b, r] T_r + sum_j I[b, j] T_j - T (b, n_base + group) for multiplicities (b, n_r), (b, n_i).

        In float32 when every product and partial sum of the integer columns is an integer
        below 2^24 (then exact; the continuous columns round at a relative ~1e-7), else float64.
        """
        cols, rater32, item32, r_abs, i_abs = self.by_split[split]
        out: np.ndarray
        if max(float(r_abs) * float(rater_w.max(initial=0)), float(i_abs) * float(item_w.max(initial=0))) < _EXACT32:
            out = (rater_w.astype(np.float32) @ rater32).astype(float)
            out += item_w.astype(np.float32) @ item32
        else:
            out = rater_w.astype(float) @ self.rater[:, cols] + item_w.astype(float) @ self.item[:, cols]
        out -= self.total[cols]
        return out


def unit_sums(slots: slot_sums.SlotMatrix, columns: list[Column], n_base: int) -> UnitSums:
    """Per-rater and per-item sums of every column, from the condition's slot matrix.

    Binary quantity q, item vector g: T_r = sum_t bits[t, q] (M_t' g)_r and
    T_j = sum_t bits[t, q] rowsum(M_t)_j g_j, M_t the (items x raters) block of judgment type t.
    A continuous quantity is summed from its own slot rows (or its by-rater matrix).
    """
    n_i, n_r = slots.n_items, slots.matrix.shape[1]
    g = np.stack([c.item_factor for c in columns], axis=1)  # (n_i, K)
    binary = np.array([c.quantity in slot_sums.BINARY for c in columns])
    bit_of = np.array([slot_sums.BINARY.index(c.quantity) if b else 0 for c, b in zip(columns, binary, strict=True)])
    rater, item = np.zeros((n_r, len(columns))), np.zeros((n_i, len(columns)))
    counts = np.asarray(slots.matrix.sum(axis=1)).ravel()
    for t in range(slots.n_types):
        block = slots.matrix[t * n_i:(t + 1) * n_i]
        weight = slots.bits[t, bit_of] * binary  # (K,) 1 where the column's quantity is set for type t
        if weight.any():
            rater += np.asarray(block.T @ g) * weight
            item += counts[t * n_i:(t + 1) * n_i, None] * g * weight
    for slot, q in enumerate(slot_sums.CONTINUOUS):
        cols = [k for k, c in enumerate(columns) if c.quantity == q]
        if not cols:
            continue
        by_rater, by_item = _continuous(slots, slot, n_r)
        rater[:, cols] = np.asarray(by_rater @ g[:, cols])
        item[:, cols] = by_item[:, None] * g[:, cols]
    return UnitSums(rater, item, rater.sum(axis=0), n_base)


def _continuous(slots: slot_sums.SlotMatrix, s: int, n_r: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """(the values of continuous slot s as a (raters x items) matrix, their sums per item)."""
    n_i = slots.n_items
    if slots.cont is not None:  # (slots x raters, items)
        block = slots.cont[s * n_r:(s + 1) * n_r]
        return sp.csr_matrix(block), np.asarray(block.sum(axis=0)).ravel()
    block = slots.matrix[(slots.n_types + s) * n_i:(slots.n_types + s + 1) * n_i]  # (items, raters)
    return sp.csr_matrix(block.T), np.asarray(block.sum(axis=1)).ravel()


def human_items(cells: engine.Cells, split: int) -> tuple[np.ndarray, np.ndarray]:
    """(fold thresholds (k,) of the point estimate in ``split``, 1.0 for each item routed to the human)."""
    n = cells.item_n[:, None]
    thresholds, _ = routing.crossfit(cells.item_h[:, None], n, n * cells.ai_right[:, None], cells.plans[split])
    thr = thresholds[0]
    fold_thr = np.where(np.isnan(thr), np.inf, thr)[cells.folds[split]]
    with np.errstate(invalid="ignore"):
        return thr, (~(cells.ai_conf > fold_thr)).astype(float)


@dataclass(frozen=True)
class _Terms:
    """One condition's columns and their unit sums; where each statistic's terms are (column indices)."""

    sums: UnitSums  # columns: PAIRS, a_total, team; then H_h, N_h, A_h of each split
    thresholds: np.ndarray  # (n_splits, k) the point estimate's fold thresholds
    team: dict[str, tuple[int, int]]  # reference condition only: columns of sum [h == y], graded on shared items

    @property
    def a_total(self) -> int:  # column of sum graded x [a == y]
        return len(d.PAIRS)

    @property
    def routed(self) -> tuple[int, int, int]:  # columns of H_h, N_h, A_h in ``UnitSums.products``
        n = self.sums.n_base
        return n, n + 1, n + 2


def _terms(cells: engine.Cells, layout: engine.Layout) -> _Terms:
    """The columns a condition needs (module docstring) and their rater and item sums."""
    factors, q = cells.slots.factors, d.Q
    columns = [Column(qi, factors[f]) for qi, f in d.PAIRS]
    columns.append(Column(q["graded"], cells.ai_right))
    team: dict[str, tuple[int, int]] = {}
    if cells.condition == layout.reference:
        for condition, shared in layout.shared.items():
            team[condition] = (len(columns), len(columns) + 1)
            columns += [Column(q["correct"], shared), Column(q["graded"], shared)]
    n_base, thresholds = len(columns), []
    for split in range(layout.n_splits):
        thr, human = human_items(cells, split)
        thresholds.append(thr)
        columns += [Column(q["correct"], human), Column(q["graded"], human),
                    Column(q["graded"], human * cells.ai_right)]
    return _Terms(unit_sums(cells.slots, columns, n_base), np.array(thresholds), team)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _term_array(values: np.ndarray, terms: _Terms) -> np.ndarray:
    """The replicate term sums (b, Q, F) of ``definitions.evaluate`` from the column sums (b, K)."""
    sums = np.zeros((values.shape[0], len(d.ROW_QUANTITIES), len(d.ITEM_FACTORS)))
    for col, (qi, f) in enumerate(d.PAIRS):
        sums[:, qi, f] = values[:, col]
    return sums


def compute(layout: engine.Layout, rater_w: np.ndarray, item_w: np.ndarray, *, first_replicate: int = 0,
            threads: int | None = None) -> engine.Replicates:
    """Every statistic of ``engine.STAT_NAMES`` for each replicate (row of the multiplicities), additively."""
    n_rep, names = rater_w.shape[0], engine.STAT_NAMES
    out = engine.Replicates({c.condition: np.full((n_rep, len(names)), np.nan) for c in layout.cells},
                            {c.condition: np.full((n_rep, layout.k), np.nan) for c in layout.cells})
    out.stats[s.OVERALL] = np.full((n_rep, len(names)), np.nan)
    terms = {c.condition: _terms(c, layout) for c in layout.cells}
    split = (first_replicate + np.arange(n_rep)) % layout.n_splits  # replicate b uses split b mod n_splits
    blocks = [(sp, rows[i:i + _BLOCK]) for sp in range(layout.n_splits)
              for rows in [np.flatnonzero(split == sp)] for i in range(0, len(rows), _BLOCK)]
    with threadpool_limits(1, "blas"):  # threads over blocks instead
        parallel.run_each(lambda block: _block(layout, terms, rater_w, item_w, block, out), blocks, threads)
    return out


def _block(layout: engine.Layout, terms: dict[str, _Terms], rater_w: np.ndarray, item_w: np.ndarray,
           block: tuple[int, np.ndarray], out: engine.Replicates) -> None:
    """The statistics of one block of replicates (all of fold split ``split``), written into ``out``."""
    split, rows = block
    r_block, i_block = rater_w[rows], item_w[rows]
    values, sums_by = {}, []
    for cells in layout.cells:
        t = terms[cells.condition]
        v = t.sums.products(np.take(r_block, cells.raters, axis=1), np.take(i_block, cells.items, axis=1), split)
        values[cells.condition] = v
        sums = _term_array(v, t)
        sums_by.append(sums)
        target = out.stats[cells.condition]
        target[rows, :len(d.METRICS)] = np.stack([d.evaluate(m, sums) for m in d.METRICS], axis=1)
        target[rows, len(d.METRICS):len(d.METRICS) + len(engine.ROUTING_STATS)] = _routing(v, sums, t)
        out.thresholds[cells.condition][rows] = t.thresholds[split]
    if sums_by:
        out.stats[s.OVERALL][rows, :len(d.METRICS)] = np.stack(
            [d.evaluate(m, np.sum(sums_by, axis=0)) for m in d.METRICS], axis=1)
    _team(layout, terms, values, out, rows)


def _routing(v: np.ndarray, sums: np.ndarray, t: _Terms) -> np.ndarray:
    """``engine.ROUTING_STATS`` (b, 8) with the block's split's fixed thresholds (module docstring)."""
    human_only, ai_only, oracle = (d.evaluate(m, sums) for m in d.ROUTING_BASES)
    h_h, n_h, a_h = (v[:, col] for col in t.routed)
    a_all, n_all = v[:, t.a_total], sums[:, d.Q["graded"], d.F["all"]]
    cv = _ratio(a_all - a_h + h_h, n_all)
    return np.stack([human_only, ai_only, oracle, cv, cv - np.maximum(human_only, ai_only), _ratio(n_h, n_all),
                     _ratio(h_h, n_h), _ratio(a_h, n_h)], axis=1)


def _team(layout: engine.Layout, terms: dict[str, _Terms], values: dict[str, np.ndarray], out: engine.Replicates,
          rows: np.ndarray) -> None:
    """unassisted_accuracy (the reference's accuracy on the shared items) and team_complementarity."""
    ref = layout.reference
    if ref is None or ref not in values:
        return
    names = engine.STAT_NAMES
    for condition, (correct, graded) in terms[ref].team.items():
        if not layout.shared[condition].any():
            continue
        unassisted = _ratio(values[ref][:, correct], values[ref][:, graded])
        stats = out.stats[condition]
        stats[rows, names.index("unassisted_accuracy")] = unassisted
        stats[rows, names.index("team_complementarity")] = stats[rows, names.index("accuracy")] - np.maximum(
            unassisted, stats[rows, names.index("ai_only")])
