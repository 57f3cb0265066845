"""The vectorised computation shared by point estimates and the cluster bootstrap.

Two-way cluster bootstrap (raters x items). Replicate b draws raters with
replacement (within strata: raters who saw the same set of conditions, so a
between-subjects design keeps its raters per condition) and, independently, items
with replacement from all items. A judgment of rater r on item j gets weight
w_b(r, j) = R[b, r] * I[b, j], the product of the two multiplicities (how often r
and j were drawn); judgments of undrawn raters or items get weight 0. Every metric
is then a ratio of weighted sums (``analysis.definitions``), and the point estimate
is the same computation with all weights 1. All conditions share the replicates, so
a difference between two conditions has its own joint replicate distribution.

Vectorisation, per condition and per block of replicates. Dense path (a condition with
at most ``_DENSE_CELLS`` rater x quantity x item cells): judgments are summed once into
cells X[r, q, j]; S[b, q, j] = I[b, j] sum_r R[b, r] X[r, q, j] is one matrix product and
every metric term is S contracted with an item factor. Judgment path (larger, sparser
designs, where X would not fit in memory): the judgments are sorted by
item; W[b, i] = R[b, rater(i)] * I[b, item(i)] is built for the block, the metric sums
are one matrix product W @ G (G[i, p] = row quantity x item factor of judgment i for
every needed pair p, ``definitions.PAIRS``), and the per-item sums the routing needs
(H = weighted #correct, N = weighted #graded) are segment sums of W over each item's
judgments. Memory is bounded by the block size (``_BLOCK_ELEMENTS`` floats of W), not
by the number of replicates; cost ~ B x judgments x len(PAIRS).

Cross-fitted routing is repeated over ``n_splits`` seeded fold splits of the items:
the point estimate of a routing statistic is the median over the splits; bootstrap
replicate b uses split b mod n_splits, so its intervals include the split-to-split
variation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import definitions as d
from analysis import routing
from analysis import schema as s

ROUTING_STATS: tuple[str, ...] = (
    "human_only",
    "ai_only",
    "oracle",
    "cv_accuracy",
    "complementarity",
    "human_slice_share",
    "human_slice_human_accuracy",
    "human_slice_ai_accuracy",
)
#: Team complementarity (Jain et al.) of a condition against the reference condition.
TEAM_STATS: tuple[str, ...] = ("unassisted_accuracy", "team_complementarity")
STAT_NAMES: tuple[str, ...] = d.METRIC_NAMES + ROUTING_STATS + TEAM_STATS
N_SPLITS = 5
_BLOCK_ELEMENTS = 2**23  # floats of W per replicate block (~64 MB), bounds memory
_DENSE_CELLS = 2**24  # a condition with at most this many (rater, quantity, item) cells uses the dense path
_PAIR_Q = np.array([q for q, _ in d.PAIRS])
_PAIR_F = np.array([f for _, f in d.PAIRS])
_N_METRICS = len(d.METRICS)
_N_ROUTING = len(ROUTING_STATS)


@dataclass(frozen=True)
class Cells:
    """One condition's judgments, sorted by item."""

    condition: str
    raters: np.ndarray  # global rater codes present, (n_r,)
    items: np.ndarray  # global item codes present, sorted, (n_i,)
    row_rater: np.ndarray  # global rater code of each judgment (sorted by item), (n,)
    row_item: np.ndarray  # global item code of each judgment, (n,)
    starts: np.ndarray  # first judgment of each item, (n_i,)
    counts: np.ndarray  # judgments per item, (n_i,)
    features: np.ndarray  # (len(PAIRS), n): G transposed, for a fast (K x n) @ (n x b) product
    correct: np.ndarray  # (n,) 1.0 where h == y
    graded: np.ndarray  # (n,) 1.0 where y is present
    ai_right: np.ndarray  # (n_i,) 1.0 where a == y (both known)
    ai_conf: np.ndarray  # (n_i,) c, NaN when missing
    folds: np.ndarray  # (n_splits, n_i) cross-fitting fold of each item in each split
    n_rows: int
    factors: np.ndarray | None = None  # (len(ITEM_FACTORS), n_i), dense path only
    active: np.ndarray | None = None  # row quantities summed per cell, dense path only
    x: np.ndarray | None = None  # dense path: (n_r, len(active) * n_i) cell sums x[r, a * n_i + j]


@dataclass(frozen=True)
class Layout:
    """Everything the bootstrap needs, built once from a prepared table."""

    rater_ids: np.ndarray
    item_ids: np.ndarray
    rater_stratum: np.ndarray  # (n_raters,) stratum code
    cells: tuple[Cells, ...]
    k: int
    n_splits: int = N_SPLITS
    reference: str | None = None
    notes: tuple[str, ...] = field(default=())


@dataclass
class Replicates:
    """Statistics per condition: ``stats[cond]`` (B, len(STAT_NAMES)), ``thresholds[cond]`` (B, k).

    ``split_stats[cond]`` (n_splits, len(ROUTING_STATS)) holds the routing statistics of
    every fold split (point estimate only).
    """

    stats: dict[str, np.ndarray]
    thresholds: dict[str, np.ndarray]
    split_stats: dict[str, np.ndarray] = field(default_factory=dict)


def _codes(df: pd.DataFrame, column: str, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if column not in df.columns:
        notes.append(f"column {column} missing: every judgment treated as its own {column[:-3]} cluster")
        return np.arange(len(df)), np.array([f"row{i}" for i in range(len(df))], dtype=object)
    codes, uniques = pd.factorize(df[column].astype("string").fillna("<missing>"), sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _per_item(values: np.ndarray, item: np.ndarray, starts: np.ndarray, name: str, ids: np.ndarray) -> np.ndarray:
    """The single value of an item-level column per item (rows sorted by item); error if an item disagrees."""
    per_item: np.ndarray = values[starts]
    back = np.repeat(per_item, np.diff(np.append(starts, len(item))))
    differs = ~((back == values) | (pd.isna(back) & pd.isna(values)))
    if differs.any():
        bad = ids[item[np.flatnonzero(differs)[0]]]
        raise ValueError(f"{name} differs between judgments of item {bad!r} in one condition")
    return per_item


def _cells(rq: np.ndarray, rater: np.ndarray, item: np.ndarray, level: dict[str, np.ndarray],
           item_ids: np.ndarray, folds_all: np.ndarray, condition: str) -> Cells:
    order = np.argsort(item, kind="stable")
    rq, rater, item = rq[order], rater[order], item[order]
    level = {key: v[order] for key, v in level.items()}
    items, starts, counts = np.unique(item, return_index=True, return_counts=True)
    ids = item_ids[items]
    right = _per_item(level["right"], item, starts, "ai_label/gold_label", ids)
    known = _per_item(level["known"], item, starts, "ai_label/gold_label", ids)
    conf = _per_item(level["conf"], item, starts, s.AI_CONF, ids)
    factors = d.item_factors(right.astype(bool), known.astype(bool), conf.astype(float))
    item_local = np.repeat(np.arange(len(items)), counts)
    raters = np.unique(rater)
    active = np.array(sorted({d.Q["one"], d.Q["graded"], d.Q["correct"]}
                             | set(np.flatnonzero(np.any(rq != 0, axis=0)).tolist())))
    dense = len(raters) * len(active) * len(items) <= _DENSE_CELLS
    features = np.zeros((len(_PAIR_Q), 0)) if dense else rq[:, _PAIR_Q].T * factors[_PAIR_F][:, item_local]
    x = _dense_cells(rq[:, active], np.searchsorted(raters, rater), item_local, len(raters), len(items)) \
        if dense else None
    return Cells(
        condition=condition, raters=raters, items=items, row_rater=rater, row_item=item,
        starts=starts, counts=counts, features=np.ascontiguousarray(features), correct=rq[:, d.Q["correct"]].copy(),
        graded=rq[:, d.Q["graded"]].copy(), ai_right=right.astype(float), ai_conf=conf.astype(float),
        folds=folds_all[:, items], n_rows=len(rater), factors=factors if dense else None,
        active=active if dense else None, x=x,
    )


def _dense_cells(rq: np.ndarray, r_loc: np.ndarray, i_loc: np.ndarray, n_r: int, n_i: int) -> np.ndarray:
    """x[r, a * n_i + j] = sum of active row quantity a over judgments of rater r on item j."""
    n_a = rq.shape[1]
    cell = r_loc * n_i + i_loc
    x = np.empty((n_r, n_a, n_i))
    for a in range(n_a):  # one bincount per quantity: no (judgments x quantities) index array
        x[:, a, :] = np.bincount(cell, weights=rq[:, a], minlength=n_r * n_i).reshape(n_r, n_i)
    return x.reshape(n_r, n_a * n_i)


def _strata(rater: np.ndarray, cond: np.ndarray, n_raters: int) -> np.ndarray:
    """Stratum of each rater: the set of conditions it judged in (as a code)."""
    cond_code, _ = pd.factorize(cond, sort=True)
    pairs = np.unique(rater.astype(np.int64) * (int(cond_code.max(initial=0)) + 1) + cond_code)
    n_cond = int(cond_code.max(initial=0)) + 1
    members = np.zeros((n_raters, n_cond), dtype=bool)
    members[pairs // n_cond, pairs % n_cond] = True
    return np.unique(members, axis=0, return_inverse=True)[1].astype(np.int64).ravel()


def build_layout(df: pd.DataFrame, *, k: int = 5, seed: int = 0, n_splits: int = N_SPLITS,
                 reference: str | None = None) -> Layout:
    """Sort a prepared judgments table into per-condition cells (see module docstring).

    Split s of the items into ``k`` folds is ``routing.assign_folds(n_items, k, seed + s)``.
    """
    notes: list[str] = []
    rater, rater_ids = _codes(df, s.RATER, notes)
    item, item_ids = _codes(df, s.ITEM, notes)
    if s.CONDITION in df.columns:
        cond = df[s.CONDITION].astype("string").fillna("<missing>").to_numpy(dtype=object)
    else:
        notes.append("column condition missing: all judgments pooled as condition 'all'")
        cond = np.full(len(df), "all", dtype=object)
    k_eff = max(1, min(k, len(item_ids)))
    splits = max(1, n_splits)
    folds_all = np.stack([routing.assign_folds(len(item_ids), k_eff, seed + sp) for sp in range(splits)])
    rq = d.row_quantities(df)
    ungraded = int(len(df) - rq[:, d.Q["graded"]].sum())
    if ungraded and s.GOLD in df.columns:
        notes.append(f"{ungraded} judgment(s) without gold_label left out of every gold-based metric")
    y, a = s.label_codes(df, (s.GOLD, s.AI_LABEL))
    known = (y >= 0) & (a >= 0)
    level = {"right": known & (a == y), "known": known, "conf": s.floats(df, s.AI_CONF)}
    cells = []
    for c in s.conditions_in(pd.DataFrame({s.CONDITION: cond}), reference):
        m = cond == c
        cells.append(_cells(rq[m], rater[m], item[m], {key: v[m] for key, v in level.items()},
                            item_ids, folds_all, c))
    return Layout(rater_ids, item_ids, _strata(rater, cond, len(rater_ids)), tuple(cells), k_eff, splits,
                  reference, tuple(notes))


def draw_weights(layout: Layout, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicity matrices (R (B, n_raters), I (B, n_items)) of the two-way bootstrap.

    Raters are drawn with replacement within their stratum, items from all items.
    """
    rng = np.random.default_rng(seed)
    rater_w = np.zeros((n_boot, len(layout.rater_ids)))
    for stratum in range(int(layout.rater_stratum.max(initial=-1)) + 1):
        members = np.flatnonzero(layout.rater_stratum == stratum)
        rater_w[:, members] = _multiplicities(rng, n_boot, len(members))
    item_w = _multiplicities(rng, n_boot, len(layout.item_ids))
    return rater_w, item_w


def _multiplicities(rng: np.random.Generator, n_boot: int, m: int) -> np.ndarray:
    out = np.empty((n_boot, m))
    for b in range(n_boot):  # one row at a time: no (B x m) index array at scale
        out[b] = np.bincount(rng.integers(0, m, size=m), minlength=m)
    return out


def item_sums(cells: Cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unweighted per-item (H, N, A): #correct human judgments, #graded judgments, #AI-correct."""
    if not len(cells.starts):
        return np.zeros(0), np.zeros(0), np.zeros(0)
    h = np.add.reduceat(cells.correct, cells.starts)
    n = np.add.reduceat(cells.graded, cells.starts)
    return h, n, n * cells.ai_right


def point_weights(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """All-ones weights: the point estimate."""
    return np.ones((1, len(layout.rater_ids))), np.ones((1, len(layout.item_ids)))


@dataclass
class _Block:
    """Per-condition sums of one block of replicates."""

    sums: dict[str, np.ndarray] = field(default_factory=dict)  # (b, Q, F)
    h: dict[str, np.ndarray] = field(default_factory=dict)  # (b, n_i)
    n: dict[str, np.ndarray] = field(default_factory=dict)  # (b, n_i)


def _block_sums(cells: Cells, rater_t: np.ndarray, item_t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Term sums (b, Q, F) and per-item weighted #correct H and #graded N (b, n_i).

    ``rater_t`` (n_raters, b) and ``item_t`` (n_items, b) are the block's weights transposed,
    so W' (judgments x b) is built by row gathers.
    """
    n_rep = rater_t.shape[1]
    if cells.x is not None:
        return _dense_block_sums(cells, rater_t, item_t)
    w = np.take(rater_t, cells.row_rater, axis=0)
    w *= np.take(item_t, cells.row_item, axis=0)
    sums = np.zeros((n_rep, len(d.ROW_QUANTITIES), len(d.ITEM_FACTORS)))
    sums[:, _PAIR_Q, _PAIR_F] = (cells.features @ w).T
    if not len(cells.starts):
        empty = np.zeros((n_rep, 0))
        return sums, empty, empty
    n = np.add.reduceat(w * cells.graded[:, None], cells.starts, axis=0).T
    w *= cells.correct[:, None]
    h = np.add.reduceat(w, cells.starts, axis=0).T
    return sums, h, n


def _dense_block_sums(cells: Cells, rater_t: np.ndarray, item_t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Dense path: S[b, a, j] = I[b, j] sum_r R[b, r] x[r, a, j] by one matrix product, then T = S @ factors'."""
    if cells.x is None or cells.active is None or cells.factors is None:
        raise RuntimeError("dense block sums need the dense cells")
    n_i = len(cells.items)
    iw = item_t[cells.items].T
    s_act = (rater_t[cells.raters].T @ cells.x).reshape(len(iw), len(cells.active), n_i) * iw[:, None, :]
    sums = np.zeros((len(iw), len(d.ROW_QUANTITIES), len(d.ITEM_FACTORS)))
    sums[:, cells.active] = s_act @ cells.factors.T
    where = {q: i for i, q in enumerate(cells.active.tolist())}
    return sums, s_act[:, where[d.Q["correct"]]], s_act[:, where[d.Q["graded"]]]


def _width(cells: Cells) -> int:
    return cells.x.shape[1] if cells.x is not None else cells.n_rows


def compute(layout: Layout, rater_w: np.ndarray, item_w: np.ndarray, *, all_splits: bool = False,
            first_replicate: int = 0) -> Replicates:
    """All statistics for every weighting (row of the weight matrices), plus ``overall``.

    ``all_splits``: routing statistics are the median over every fold split (point
    estimate); otherwise replicate b uses split (first_replicate + b) mod n_splits.
    """
    n_rep = rater_w.shape[0]
    out = Replicates({c.condition: np.full((n_rep, len(STAT_NAMES)), np.nan) for c in layout.cells},
                     {c.condition: np.full((n_rep, layout.k), np.nan) for c in layout.cells})
    overall = np.full((n_rep, len(STAT_NAMES)), np.nan)
    if all_splits:
        out.split_stats = {c.condition: np.full((layout.n_splits, _N_ROUTING), np.nan) for c in layout.cells}
    width = max(1, _BLOCK_ELEMENTS // max([1, *(_width(c) for c in layout.cells)]))
    for start in range(0, n_rep, width):
        rows = slice(start, min(n_rep, start + width))
        block = _Block()
        rater_t, item_t = np.ascontiguousarray(rater_w[rows].T), np.ascontiguousarray(item_w[rows].T)
        for cells in layout.cells:
            sums, h, n = _block_sums(cells, rater_t, item_t)
            block.sums[cells.condition], block.h[cells.condition], block.n[cells.condition] = sums, h, n
            target = out.stats[cells.condition]
            target[rows, :_N_METRICS] = _metric_values(sums)
            split = None if all_splits else (first_replicate + np.arange(rows.start, rows.stop)) % layout.n_splits
            routed, thr, per_split = _routing_values(cells, sums, h, n, layout, split)
            target[rows, _N_METRICS:_N_METRICS + _N_ROUTING], out.thresholds[cells.condition][rows] = routed, thr
            if per_split is not None:
                out.split_stats[cells.condition][:] = per_split
        total = np.sum(list(block.sums.values()), axis=0) if block.sums else None
        if total is not None:
            overall[rows, :_N_METRICS] = _metric_values(total)
        _team_values(layout, block, out, rows)
    out.stats[s.OVERALL] = overall
    return out


def _metric_values(sums: np.ndarray) -> np.ndarray:
    return np.stack([d.evaluate(m, sums) for m in d.METRICS], axis=1)


def _routed(cells: Cells, h: np.ndarray, n: np.ndarray, a: np.ndarray, folds: np.ndarray,
            k: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    thr, to_ai = routing.crossfit(h, a, cells.ai_conf, folds, k)
    return routing.routed_stats(h, n, a, to_ai), thr


def _routing_values(cells: Cells, sums: np.ndarray, h: np.ndarray, n: np.ndarray, layout: Layout,
                    split: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Routing statistics (b, len(ROUTING_STATS)), fold thresholds (b, k), per-split values or None."""
    bases = {m.name: d.evaluate(m, sums) for m in d.ROUTING_BASES}
    a = n * cells.ai_right[None, :]
    names = ROUTING_STATS[3:]
    routed = np.full((len(h), len(names)), np.nan)
    thr = np.full((len(h), layout.k), np.nan)
    per_split = None
    if split is None:  # point estimate: every split, median
        per = []
        for sp in range(layout.n_splits):
            values, t = _routed(cells, h, n, a, cells.folds[sp], layout.k)
            per.append(np.stack([values.get(x, np.full(len(h), np.nan)) for x in names], axis=1))
            if sp == 0:
                thr = t
        stacked = np.stack(per)  # (splits, b, stats)
        stacked[..., 1] = stacked[..., 0] - np.maximum(bases["human_only"], bases["ai_only"])[None, :]
        routed = np.median(stacked, axis=0)
        first = np.array([bases[x][0] for x in ROUTING_STATS[:3]])
        per_split = np.column_stack([np.tile(first, (layout.n_splits, 1)), stacked[:, 0, :]])
    else:
        for sp in np.unique(split):
            m = split == sp
            values, t = _routed(cells, h[m], n[m], a[m], cells.folds[sp], layout.k)
            routed[m] = np.stack([values.get(x, np.full(int(m.sum()), np.nan)) for x in names], axis=1)
            thr[m] = t
        routed[:, 1] = routed[:, 0] - np.maximum(bases["human_only"], bases["ai_only"])
    out = np.concatenate([np.stack([bases[x] for x in ROUTING_STATS[:3]], axis=1), routed], axis=1)
    return out, thr, per_split


def _team_values(layout: Layout, block: _Block, out: Replicates, rows: slice) -> None:
    """unassisted_accuracy = reference accuracy on the condition's items; team_complementarity =
    accuracy - max(unassisted_accuracy, ai_only)."""
    ref = layout.reference
    ref_cells = next((c for c in layout.cells if c.condition == ref), None)
    if ref_cells is None:
        return
    for cells in layout.cells:
        if cells is ref_cells:
            continue
        shared, in_ref, _ = np.intersect1d(ref_cells.items, cells.items, return_indices=True)
        if not len(shared):
            continue
        h, n = block.h[ref_cells.condition], block.n[ref_cells.condition]
        with np.errstate(invalid="ignore", divide="ignore"):
            unassisted = h[:, in_ref].sum(axis=1) / n[:, in_ref].sum(axis=1)
        stats = out.stats[cells.condition]
        assisted = stats[rows, STAT_NAMES.index("accuracy")]
        ai = stats[rows, STAT_NAMES.index("ai_only")]
        stats[rows, STAT_NAMES.index("unassisted_accuracy")] = unassisted
        stats[rows, STAT_NAMES.index("team_complementarity")] = assisted - np.maximum(unassisted, ai)


@dataclass(frozen=True)
class Run:
    """Point estimates and bootstrap replicates of one table."""

    layout: Layout
    point: Replicates
    boot: Replicates
    n_boot: int
    seed: int


def run(df: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, k: int = 5, n_splits: int = N_SPLITS,
        reference: str | None = None) -> Run:
    """Point estimates (weights 1) and ``n_boot`` two-way bootstrap replicates, seeded.

    The fold splits and the bootstrap draws both derive from ``seed``. The weights are
    drawn and used in chunks of replicates, so memory does not grow with ``n_boot``.
    """
    layout = build_layout(df, k=k, seed=seed, n_splits=n_splits, reference=reference)
    point = compute(layout, *point_weights(layout), all_splits=True)
    boot = compute(layout, *draw_weights(layout, n_boot, seed)) if n_boot > 0 else Replicates({}, {})
    return Run(layout, point, boot, n_boot, seed)


def replicates(run_: Run, condition: str, name: str) -> np.ndarray:
    """The bootstrap replicates of one statistic (B,), NaN where undefined."""
    reps = run_.boot.stats.get(condition)
    if reps is None:
        return np.array([], dtype=float)
    return reps[:, STAT_NAMES.index(name)]


def percentile_interval(values: np.ndarray, ci: float = 0.95) -> tuple[float, float]:
    """Percentile interval of replicates (NaN replicates ignored)."""
    col = values[~np.isnan(values)]
    if col.size == 0:
        return (float("nan"), float("nan"))
    tail = 100.0 * (1.0 - ci) / 2.0
    low, high = np.percentile(col, [tail, 100.0 - tail])
    return (float(low), float(high))


def interval(run_: Run, condition: str, name: str, ci: float = 0.95) -> tuple[float, float]:
    """Percentile interval of a statistic over the replicates (NaN replicates ignored)."""
    return percentile_interval(replicates(run_, condition, name), ci)


def value(run_: Run, condition: str, name: str) -> float:
    """Point estimate of a statistic."""
    return float(run_.point.stats[condition][0, STAT_NAMES.index(name)])
