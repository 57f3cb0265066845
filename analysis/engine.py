"""The vectorised computation shared by point estimates and the cluster bootstrap.

Two-way cluster bootstrap (raters x items). Replicate b draws raters with
replacement (within strata: raters who saw the same set of conditions, so a
between-subjects design keeps its raters per condition) and, independently, items
with replacement from all items. A judgment of rater r on item j gets weight
w_b(r, j) = R[b, r] * I[b, j], the product of the two multiplicities (how often r
and j were drawn); judgments of undrawn raters or items get weight 0. Every metric
is then a ratio of weighted sums (``analysis.definitions``), and the point estimate
is the same computation with all weights 1. All conditions share the replicates, so
a difference between two conditions has its own joint replicate distribution. Large
studies (``run(bootstrap="auto")``, from ``analysis.additive.AUTO_JUDGMENTS`` judgments) use
the additive weights R[b, r] + I[b, j] - 1 instead (:mod:`analysis.additive`); the
computation below is the exact product-weight one.

Computation (exact, per condition, per block of replicates; ``analysis.slot_sums``).
Every metric term is sum_i w_i q_i f(item(i)) for a row quantity q and an item factor f,
and the item weight and item factor are constant within an item, so

    term[b, q, f] = sum_j f_j I[b, j] Y_q[j, b],   Y_q[j, b] = sum_{i in item j} q_i R[b, rater(i)].

Y for all quantities is one sparse (slot x item, rater) by dense (rater, replicate)
product: the 0/1 quantities enter through each judgment's *type* (its pattern of 0/1
quantities: one entry per judgment), the continuous ones (Brier, calibration gaps) as one
entry per nonzero value; when a condition has fewer raters than items the continuous
slots are summed by rater instead (a (slot x rater, item) product with I, then weighted
by R). Judgments of the same rater and item in the same slot are one entry. The per-item
weighted #correct H and #graded N that the routing needs are sums of the type rows. So a
block costs ~3 x judgments x replicates multiply-adds plus (slots x items x replicates)
for the item sums, against judgments x replicates x 41 terms when every judgment's
weight R[b, rater] * I[b, item] is formed. Counts are exact; large conditions run the
product in float32 when every count sum stays an integer below 2^24 (checked per block,
else float64), which changes the Brier and calibration sums of the replicates by a
relative ~1e-8 and never the point estimate (always float64). Memory is bounded by the
block size (``_BLOCK_ELEMENTS`` slot-by-item sums and ~1 MB of rater weights per block),
not by the number of replicates; the multiplicities are drawn once and kept as small
unsigned integers (B x (raters + items) bytes).

Cross-fitted routing is repeated over ``n_splits`` seeded fold splits of the items:
the point estimate of a routing statistic is the median over the splits; bootstrap
replicate b uses split b mod n_splits, so its intervals include the split-to-split
variation. Blocks hold replicates of one split; each split's plan (items sorted by c,
each fold's candidate thresholds) is computed once (``routing.plan``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis import definitions as d
from analysis import parallel, routing, slot_sums, units
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
_BLOCK_ELEMENTS = 2**22  # (slot, item) sums per block of replicates (at most 32 MB), bounds memory
_CACHE_FLOATS = 2**18  # a block's rater weights of one condition stay within ~1 MB (the sparse product reads them)
_N_METRICS = len(d.METRICS)
_N_ROUTING = len(ROUTING_STATS)


@dataclass(frozen=True)
class Cells:
    """One condition's judgments: the slot matrix and the item-level data, items sorted by code."""

    condition: str
    raters: np.ndarray  # global rater codes present, sorted, (n_r,)
    items: np.ndarray  # global item codes present, sorted, (n_i,)
    slots: slot_sums.SlotMatrix  # judgments by (slot, item) x rater
    item_h: np.ndarray  # (n_i,) unweighted #(h == y)
    item_n: np.ndarray  # (n_i,) unweighted #(y present)
    ai_right: np.ndarray  # (n_i,) 1.0 where a == y (both known)
    ai_conf: np.ndarray  # (n_i,) c, NaN when missing
    folds: np.ndarray  # (n_splits, n_i) cross-fitting fold of each item in each split
    n_rows: int
    plans: tuple[routing.SplitPlan, ...] = ()  # cross-fitting plan of each split


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
    #: Per condition other than the reference: 1.0 for each reference item it shares (team complementarity).
    shared: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Replicates:
    """Statistics per condition: ``stats[cond]`` (B, len(STAT_NAMES)), ``thresholds[cond]`` (B, k).

    ``split_stats[cond]`` (n_splits, len(ROUTING_STATS)) holds the routing statistics of
    every fold split (point estimate only).
    """

    stats: dict[str, np.ndarray]
    thresholds: dict[str, np.ndarray]
    split_stats: dict[str, np.ndarray] = field(default_factory=dict)


def _per_item(values: np.ndarray, item: np.ndarray, n_items: int, name: str, ids: np.ndarray) -> np.ndarray:
    """The single value of an item-level column per item (local codes ``item``); error if an item disagrees."""
    first = np.empty(n_items, dtype=np.int64)
    first[item[::-1]] = np.arange(len(item))[::-1]  # the first judgment of each item
    per_item: np.ndarray = values[first]
    back = per_item[item]
    differs = ~((back == values) | (pd.isna(back) & pd.isna(values)))
    if differs.any():
        raise ValueError(f"{name} differs between judgments of item {ids[item[np.flatnonzero(differs)[0]]]!r} "
                         "in one condition")
    return per_item


def _dense(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True)`` for non-negative integer codes, without sorting."""
    present = np.zeros(int(codes.max(initial=-1)) + 1, dtype=bool)
    present[codes] = True
    local = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present).astype(codes.dtype), local[codes]


def _cells(parts: d.RowParts, rater: np.ndarray, item: np.ndarray, level: dict[str, np.ndarray],
           item_ids: np.ndarray, folds_all: np.ndarray, condition: str, k: int) -> Cells:
    items, item_local = _dense(item)
    raters, rater_local = _dense(rater)
    ids = item_ids[items]
    right = _per_item(level["right"], item_local, len(items), "ai_label/gold_label", ids)
    known = _per_item(level["known"], item_local, len(items), "ai_label/gold_label", ids)
    conf = _per_item(level["conf"], item_local, len(items), s.AI_CONF, ids).astype(float)
    factors = d.item_factors(right.astype(bool), known.astype(bool), conf)
    slots = slot_sums.build(parts, rater_local, item_local, len(raters), len(items), factors)
    count = {q: np.bincount(item_local, weights=d.bit(parts, q), minlength=len(items)) for q in ("correct", "graded")}
    folds = folds_all[:, items]
    return Cells(condition=condition, raters=raters, items=items, slots=slots, item_h=count["correct"],
                 item_n=count["graded"], ai_right=right.astype(float), ai_conf=conf, folds=folds,
                 n_rows=len(rater), plans=tuple(routing.plan(conf, f, k) for f in folds))


def build_layout(df: pd.DataFrame, *, k: int = 5, seed: int = 0, n_splits: int = N_SPLITS,
                 reference: str | None = None) -> Layout:
    """Sort a prepared judgments table into per-condition slot matrices (see module docstring).

    Split s of the items into ``k`` folds is ``routing.assign_folds(n_items, k, seed + s)``.
    """
    notes: list[str] = []
    rater, rater_ids = units.codes(df, s.RATER, notes)
    item, item_ids = units.codes(df, s.ITEM, notes)
    cond, cond_names = units.condition_codes(df, notes)
    k_eff = max(1, min(k, len(item_ids)))
    splits = max(1, n_splits)
    folds_all = np.stack([routing.assign_folds(len(item_ids), k_eff, seed + sp) for sp in range(splits)])
    y, a, h0, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.INITIAL, s.FINAL))
    parts = d.row_parts(y, a, h0, h, s.floats(df, s.CONF))
    ungraded = int(len(df) - d.bit(parts, "graded").sum())
    if ungraded and s.GOLD in df.columns:
        notes.append(f"{ungraded} judgment(s) without gold_label left out of every gold-based metric")
    known = (y >= 0) & (a >= 0)
    by_cond = np.argsort(cond, kind="stable")  # each condition's judgments, in table order
    bounds = np.searchsorted(cond[by_cond], np.arange(len(cond_names) + 1))
    level = {"right": known & (a == y), "known": known, "conf": s.floats(df, s.AI_CONF)}
    cells = []
    for c in s.conditions_in(pd.DataFrame({s.CONDITION: cond_names}), reference):
        code = int(np.flatnonzero(cond_names == c)[0])
        m = by_cond[bounds[code]:bounds[code + 1]]
        cells.append(_cells(parts.take(m), rater[m], item[m], {key: v[m] for key, v in level.items()},
                            item_ids, folds_all, c, k_eff))
    return Layout(rater_ids, item_ids, units.strata(rater, cond, len(rater_ids)), tuple(cells), k_eff, splits,
                  reference, tuple(notes), _shared_items(cells, reference))


def _shared_items(cells: list[Cells], reference: str | None) -> dict[str, np.ndarray]:
    """For each condition other than the reference: which reference items it also has (0/1 per reference item)."""
    ref = next((c for c in cells if c.condition == reference), None)
    if ref is None:
        return {}
    return {c.condition: np.isin(ref.items, c.items).astype(float) for c in cells if c is not ref}


def draw_weights(layout: Layout, n_boot: int, seed: int, *, compact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicity matrices (R (B, n_raters), I (B, n_items)) of the two-way bootstrap
    (:func:`analysis.units.draw`: raters within their stratum, items from all items)."""
    return units.draw(layout.rater_stratum, len(layout.item_ids), n_boot, seed, compact=compact)


def item_sums(cells: Cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unweighted per-item (H, N, A): #correct human judgments, #graded judgments, #AI-correct."""
    return cells.item_h, cells.item_n, cells.item_n * cells.ai_right


def point_weights(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """All-ones weights: the point estimate."""
    return np.ones((1, len(layout.rater_ids))), np.ones((1, len(layout.item_ids)))


@dataclass
class _Block:
    """Per-condition per-item sums of one block of replicates, item-major (n_i, b)."""

    h: dict[str, np.ndarray] = field(default_factory=dict)
    n: dict[str, np.ndarray] = field(default_factory=dict)


def _blocks(layout: Layout, n_rep: int, all_splits: bool, first: int) -> list[tuple[int | None, np.ndarray]]:
    """Replicate index blocks, each within one fold split (None: the point estimate, every split)."""
    rows = max([1, *(c.slots.matrix.shape[0] for c in layout.cells)])
    raters = max([1, *(len(c.raters) for c in layout.cells)])
    width = max(1, min(_BLOCK_ELEMENTS // rows, max(8, _CACHE_FLOATS // raters)))
    if all_splits:
        return [(None, np.arange(n_rep)[i:i + width]) for i in range(0, n_rep, width)]
    split = (first + np.arange(n_rep)) % layout.n_splits
    out: list[tuple[int | None, np.ndarray]] = []
    for sp in range(layout.n_splits):
        idx = np.flatnonzero(split == sp)
        out += [(sp, idx[i:i + width]) for i in range(0, len(idx), width)]
    return out


def compute(layout: Layout, rater_w: np.ndarray, item_w: np.ndarray, *, all_splits: bool = False,
            first_replicate: int = 0, threads: int | None = None) -> Replicates:
    """All statistics for every weighting (row of the weight matrices), plus ``overall``.

    ``all_splits``: routing statistics are the median over every fold split (point
    estimate); otherwise replicate b uses split (first_replicate + b) mod n_splits.
    Blocks of replicates run on ``parallel.thread_count(threads)`` threads (same results;
    ``all_splits`` blocks, which also write the per-split table, run in order).
    """
    with threadpool_limits(1, "blas"):  # small memory-bound products: BLAS threads only contend
        return _compute(layout, rater_w, item_w, all_splits, first_replicate, threads)


def _compute(layout: Layout, rater_w: np.ndarray, item_w: np.ndarray, all_splits: bool,
             first_replicate: int, threads: int | None) -> Replicates:
    n_rep = rater_w.shape[0]
    out = Replicates({c.condition: np.full((n_rep, len(STAT_NAMES)), np.nan) for c in layout.cells},
                     {c.condition: np.full((n_rep, layout.k), np.nan) for c in layout.cells})
    out.stats[s.OVERALL] = np.full((n_rep, len(STAT_NAMES)), np.nan)
    if all_splits:
        out.split_stats = {c.condition: np.full((layout.n_splits, _N_ROUTING), np.nan) for c in layout.cells}

    parallel.run_each(lambda block: _block_stats(layout, rater_w, item_w, block, out),
                      _blocks(layout, n_rep, all_splits, first_replicate), 1 if all_splits else threads)
    return out


def _block_stats(layout: Layout, rater_w: np.ndarray, item_w: np.ndarray, block: tuple[int | None, np.ndarray],
                 out: Replicates) -> None:
    """Every statistic of one block of replicates (all within one fold split), written into ``out``."""
    split, rows = block
    sums_by: dict[str, np.ndarray] = {}
    per_item = _Block()
    rater_t, item_t = np.ascontiguousarray(rater_w[rows].T), np.ascontiguousarray(item_w[rows].T)
    for cells in layout.cells:
        sums, h, n = slot_sums.block_sums(cells.slots, rater_t[cells.raters], item_t[cells.items],
                                          allow_float32=split is not None)
        sums_by[cells.condition], per_item.h[cells.condition], per_item.n[cells.condition] = sums, h, n
        target = out.stats[cells.condition]
        target[rows, :_N_METRICS] = _metric_values(sums)
        routed, thr, per_split = _routing_values(cells, sums, h, n, layout, split)
        target[rows, _N_METRICS:_N_METRICS + _N_ROUTING], out.thresholds[cells.condition][rows] = routed, thr
        if per_split is not None:
            out.split_stats[cells.condition][:] = per_split
    if layout.cells:
        out.stats[s.OVERALL][rows, :_N_METRICS] = _metric_values(np.sum(list(sums_by.values()), axis=0))
    _team_values(layout, per_item, out, rows)


def _metric_values(sums: np.ndarray) -> np.ndarray:
    return np.stack([d.evaluate(m, sums) for m in d.METRICS], axis=1)


def _routed(cells: Cells, h: np.ndarray, n: np.ndarray, a: np.ndarray, split: int) -> tuple[np.ndarray, np.ndarray]:
    """(cv_accuracy, complementarity placeholder, human slice stats) (b, 5) and the thresholds (b, k)."""
    thr, values = routing.crossfit(h, n, a, cells.plans[split])
    names = ROUTING_STATS[3:]
    return np.stack([values.get(x, np.full(h.shape[1], np.nan)) for x in names], axis=1), thr


def _routing_values(cells: Cells, sums: np.ndarray, h: np.ndarray, n: np.ndarray, layout: Layout,
                    split: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Routing statistics (b, len(ROUTING_STATS)), fold thresholds (b, k), per-split values or None."""
    bases = {m.name: d.evaluate(m, sums) for m in d.ROUTING_BASES}
    a = n * cells.ai_right[:, None].astype(n.dtype)
    best = np.maximum(bases["human_only"], bases["ai_only"])
    per_split = None
    if split is None:  # point estimate: every split, median
        per = [_routed(cells, h, n, a, sp) for sp in range(layout.n_splits)]
        thr = per[0][1]
        stacked = np.stack([p[0] for p in per])  # (splits, b, stats)
        stacked[..., 1] = stacked[..., 0] - best[None, :]
        routed = np.median(stacked, axis=0)
        first = np.array([bases[x][0] for x in ROUTING_STATS[:3]])
        per_split = np.column_stack([np.tile(first, (layout.n_splits, 1)), stacked[:, 0, :]])
    else:
        routed, thr = _routed(cells, h, n, a, split)
        routed[:, 1] = routed[:, 0] - best
    out = np.concatenate([np.stack([bases[x] for x in ROUTING_STATS[:3]], axis=1), routed], axis=1)
    return out, thr, per_split


def _team_values(layout: Layout, block: _Block, out: Replicates, rows: np.ndarray) -> None:
    """unassisted_accuracy = reference accuracy on the condition's items; team_complementarity =
    accuracy - max(unassisted_accuracy, ai_only)."""
    ref = layout.reference
    if ref is None or ref not in block.h:
        return
    h, n = block.h[ref], block.n[ref]
    for condition, shared in layout.shared.items():
        if not shared.any():
            continue
        mask = shared.astype(h.dtype)  # exact sums: h and n are integers below 2^24 in float32
        with np.errstate(invalid="ignore", divide="ignore"):
            unassisted = (mask @ h).astype(float) / (mask @ n).astype(float)
        stats = out.stats[condition]
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
    bootstrap: str = "exact"  # "exact" (product weights) or "additive" (analysis.additive)


def run(df: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, k: int = 5, n_splits: int = N_SPLITS,
        reference: str | None = None, threads: int | None = None, bootstrap: str = "auto") -> Run:
    """Point estimates (weights 1) and ``n_boot`` two-way bootstrap replicates, seeded.

    The fold splits and the bootstrap draws both derive from ``seed``. The weights are
    drawn and used in chunks of replicates, so memory does not grow with ``n_boot``.
    ``bootstrap``: ``exact`` (product weights, this module), ``additive``
    (:mod:`analysis.additive`: the same multiplicities, R + I - 1) or ``auto`` (additive
    from ``analysis.additive.AUTO_JUDGMENTS`` judgments).
    """
    from analysis import additive  # it builds on this module's layout

    mode = additive.chosen(bootstrap, len(df))
    layout = build_layout(df, k=k, seed=seed, n_splits=n_splits, reference=reference)
    point = compute(layout, *point_weights(layout), all_splits=True, threads=threads)
    if n_boot <= 0:
        return Run(layout, point, Replicates({}, {}), n_boot, seed, mode)
    weights = draw_weights(layout, n_boot, seed, compact=True)
    boot = (additive.compute(layout, *weights, threads=threads) if mode == "additive"
            else compute(layout, *weights, threads=threads))
    return Run(layout, point, boot, n_boot, seed, mode)


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
