"""The vectorised computation shared by point estimates and the cluster bootstrap.

Two-way cluster bootstrap (raters x items). Replicate b draws raters with
replacement (within strata: raters who saw the same set of conditions, so a
between-subjects design keeps its raters per condition) and, independently, items
with replacement from all items. A judgment of rater r on item j gets weight
w_b(r, j) = R[b, r] * I[b, j], the product of the two multiplicities (how often r
and j were drawn); judgments of undrawn raters or items get weight 0. Every metric
is then a ratio of weighted sums (``analysis.definitions``), and the point estimate
is the same computation with all weights 1.

Vectorisation: judgments are summed once into a per-condition cell array
X[r, q, j] = sum of row quantity q over judgments of rater r on item j. For a block
of replicates, S[b, q, j] = I[b, j] * sum_r R[b, r] X[r, q, j] is one matrix product
(``R @ X``), and every metric term is S contracted with an item factor
(T[b, q, f] = sum_j S[b, q, j] F[f, j]). Cost ~ B x raters x items x quantities
multiply-adds per condition, done by BLAS in blocks of replicates.
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
STAT_NAMES: tuple[str, ...] = d.METRIC_NAMES + ROUTING_STATS
_BLOCK_ELEMENTS = 2**23  # floats per replicate block (~64 MB), bounds memory


@dataclass(frozen=True)
class Cells:
    """One condition's judgments summed per (rater, item) cell."""

    condition: str
    raters: np.ndarray  # global rater codes, (n_r,)
    items: np.ndarray  # global item codes, (n_i,)
    active: np.ndarray  # indices of the row quantities that are not all zero
    x: np.ndarray  # (n_r, len(active) * n_i): x[r, a * n_i + j]
    factors: np.ndarray  # (len(ITEM_FACTORS), n_i)
    ai_right: np.ndarray  # (n_i,) 1.0 where a == y (both known)
    ai_conf: np.ndarray  # (n_i,) c, NaN when missing
    fold: np.ndarray  # (n_i,) cross-fitting fold
    n_rows: int


@dataclass(frozen=True)
class Layout:
    """Everything the bootstrap needs, built once from a prepared table."""

    rater_ids: np.ndarray
    item_ids: np.ndarray
    rater_stratum: np.ndarray  # (n_raters,) stratum code
    cells: tuple[Cells, ...]
    k: int
    notes: tuple[str, ...] = field(default=())


@dataclass
class Replicates:
    """Statistics per condition: ``stats[cond]`` is (B, len(STAT_NAMES)), ``thresholds[cond]`` (B, k)."""

    stats: dict[str, np.ndarray]
    thresholds: dict[str, np.ndarray]


def _codes(df: pd.DataFrame, column: str, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if column not in df.columns:
        notes.append(f"column {column} missing: every judgment treated as its own {column[:-3]} cluster")
        return np.arange(len(df)), np.array([f"row{i}" for i in range(len(df))], dtype=object)
    codes, uniques = pd.factorize(df[column].astype("string").fillna("<missing>"), sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _per_item(values: np.ndarray, item: np.ndarray, n_items: int, name: str, ids: np.ndarray) -> np.ndarray:
    """The single value of an item-level column per item; a clear error if an item disagrees."""
    first = np.full(n_items, -1, dtype=np.int64)
    first[item[::-1]] = np.arange(len(item))[::-1]
    per_item = values[first]
    back = per_item[item]
    differs = ~((back == values) | (pd.isna(back) & pd.isna(values)))
    if differs.any():
        bad = ids[item[np.flatnonzero(differs)[0]]]
        raise ValueError(f"{name} differs between judgments of item {bad!r} in one condition")
    return per_item


def _cells(rq: np.ndarray, rater: np.ndarray, item: np.ndarray, item_level: dict[str, np.ndarray],
           item_ids: np.ndarray, fold_all: np.ndarray, condition: str) -> Cells:
    raters, r_loc = np.unique(rater, return_inverse=True)
    items, i_loc = np.unique(item, return_inverse=True)
    n_r, n_i = len(raters), len(items)
    ids = item_ids[items]
    right = _per_item(item_level["right"], i_loc, n_i, "ai_label/gold_label", ids)
    known = _per_item(item_level["known"], i_loc, n_i, "ai_label/gold_label", ids)
    conf = _per_item(item_level["conf"], i_loc, n_i, s.AI_CONF, ids)
    keep = {d.Q["one"], d.Q["correct"]}
    active = np.array(sorted(keep | set(np.flatnonzero(np.any(rq != 0, axis=0)).tolist())))
    # One bincount over (row, active quantity) pairs: x[r, a * n_i + j] += rq[row, a].
    index = (r_loc * (len(active) * n_i) + i_loc)[:, None] + (np.arange(len(active)) * n_i)[None, :]
    x = np.bincount(index.ravel(), weights=rq[:, active].ravel(), minlength=n_r * len(active) * n_i)
    return Cells(
        condition=condition, raters=raters, items=items, active=active,
        x=x.reshape(n_r, len(active) * n_i),
        factors=d.item_factors(right.astype(bool), known.astype(bool), conf.astype(float)),
        ai_right=right.astype(float), ai_conf=conf.astype(float),
        fold=fold_all[items], n_rows=len(rater),
    )


def _strata(rater: np.ndarray, cond: np.ndarray, n_raters: int) -> np.ndarray:
    pairs = pd.DataFrame({"r": rater, "c": cond}).drop_duplicates().sort_values(["r", "c"])
    keys = pairs.groupby("r")["c"].agg("|".join).reindex(range(n_raters), fill_value="")
    return pd.factorize(keys, sort=True)[0].astype(np.int64)


def build_layout(df: pd.DataFrame, *, k: int = 5, seed: int = 0) -> Layout:
    """Sum a prepared judgments table into per-condition cells (see module docstring)."""
    notes: list[str] = []
    rater, rater_ids = _codes(df, s.RATER, notes)
    item, item_ids = _codes(df, s.ITEM, notes)
    if s.CONDITION in df.columns:
        cond = df[s.CONDITION].astype("string").fillna("<missing>").to_numpy(dtype=object)
    else:
        notes.append("column condition missing: all judgments pooled as condition 'all'")
        cond = np.full(len(df), "all", dtype=object)
    k_eff = max(1, min(k, len(item_ids)))
    fold_all = routing.assign_folds(len(item_ids), k_eff, seed)
    rq = d.row_quantities(df)
    y, a = s.label_codes(df, (s.GOLD, s.AI_LABEL))
    known = (y >= 0) & (a >= 0)
    level = {"right": known & (a == y), "known": known, "conf": s.floats(df, s.AI_CONF)}
    cells = []
    for c in s.conditions_in(pd.DataFrame({s.CONDITION: cond})):
        m = cond == c
        rows = {key: v[m] for key, v in level.items()}
        cells.append(_cells(rq[m], rater[m], item[m], rows, item_ids, fold_all, c))
    return Layout(rater_ids, item_ids, _strata(rater, cond, len(rater_ids)), tuple(cells), k_eff, tuple(notes))


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
    draws = rng.integers(0, m, size=(n_boot, m)) + (np.arange(n_boot) * m)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * m).reshape(n_boot, m).astype(float)


def point_weights(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """All-ones weights: the point estimate."""
    return np.ones((1, len(layout.rater_ids))), np.ones((1, len(layout.item_ids)))


def compute(layout: Layout, rater_w: np.ndarray, item_w: np.ndarray) -> Replicates:
    """All statistics for every weighting (row of the weight matrices), plus ``overall``."""
    n_rep = rater_w.shape[0]
    stats: dict[str, np.ndarray] = {}
    thresholds: dict[str, np.ndarray] = {}
    total = np.zeros((n_rep, len(d.ROW_QUANTITIES), len(d.ITEM_FACTORS)))
    for cells in layout.cells:
        out = np.full((n_rep, len(STAT_NAMES)), np.nan)
        thr = np.full((n_rep, layout.k), np.nan)
        width = max(1, _BLOCK_ELEMENTS // max(1, cells.x.shape[1]))
        for start in range(0, n_rep, width):
            block = slice(start, min(n_rep, start + width))
            sums, h, n = _block_sums(cells, rater_w[block], item_w[block])
            total[block] += sums
            out[block, : len(d.METRICS)] = _metric_values(sums)
            out[block, len(d.METRICS):], thr[block] = _routing_values(cells, sums, h, n, layout.k)
        stats[cells.condition] = out
        thresholds[cells.condition] = thr
    overall = np.full((n_rep, len(STAT_NAMES)), np.nan)
    overall[:, : len(d.METRICS)] = _metric_values(total)
    stats[s.OVERALL] = overall
    return Replicates(stats, thresholds)


def _block_sums(cells: Cells, rater_w: np.ndarray, item_w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Term sums T (b, Q, F) and per-item human-correct H and count N (b, n_i)."""
    n_i = len(cells.items)
    iw = item_w[:, cells.items]
    s_act = (rater_w[:, cells.raters] @ cells.x).reshape(len(iw), len(cells.active), n_i) * iw[:, None, :]
    sums = np.zeros((len(iw), len(d.ROW_QUANTITIES), len(d.ITEM_FACTORS)))
    sums[:, cells.active] = s_act @ cells.factors.T
    where = {q: i for i, q in enumerate(cells.active.tolist())}
    return sums, s_act[:, where[d.Q["correct"]]], s_act[:, where[d.Q["one"]]]


def _metric_values(sums: np.ndarray) -> np.ndarray:
    return np.stack([d.evaluate(m, sums) for m in d.METRICS], axis=1)


def _routing_values(cells: Cells, sums: np.ndarray, h: np.ndarray, n: np.ndarray,
                    k: int) -> tuple[np.ndarray, np.ndarray]:
    bases = {m.name: d.evaluate(m, sums) for m in d.ROUTING_BASES}
    a = n * cells.ai_right[None, :]
    thr, to_ai = routing.crossfit(h, a, cells.ai_conf, cells.fold, k)
    routed = routing.routed_stats(h, n, a, to_ai)
    routed["complementarity"] = routed["cv_accuracy"] - np.maximum(bases["human_only"], bases["ai_only"])
    values = {**bases, **routed}
    return np.stack([values[name] for name in ROUTING_STATS], axis=1), thr


@dataclass(frozen=True)
class Run:
    """Point estimates and bootstrap replicates of one table."""

    layout: Layout
    point: Replicates
    boot: Replicates
    n_boot: int
    seed: int


def run(df: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, k: int = 5) -> Run:
    """Point estimates (weights 1) and ``n_boot`` two-way bootstrap replicates, seeded.

    The fold assignment and the bootstrap draws both derive from ``seed``.
    """
    layout = build_layout(df, k=k, seed=seed)
    point = compute(layout, *point_weights(layout))
    boot = compute(layout, *draw_weights(layout, n_boot, seed)) if n_boot > 0 else Replicates({}, {})
    return Run(layout, point, boot, n_boot, seed)


def interval(run_: Run, condition: str, name: str, ci: float = 0.95) -> tuple[float, float]:
    """Percentile interval of a statistic over the replicates (NaN replicates ignored)."""
    reps = run_.boot.stats.get(condition)
    if reps is None:
        return (float("nan"), float("nan"))
    col = reps[:, STAT_NAMES.index(name)]
    col = col[~np.isnan(col)]
    if col.size == 0:
        return (float("nan"), float("nan"))
    tail = 100.0 * (1.0 - ci) / 2.0
    low, high = np.percentile(col, [tail, 100.0 - tail])
    return (float(low), float(high))


def value(run_: Run, condition: str, name: str) -> float:
    """Point estimate of a statistic."""
    return float(run_.point.stats[condition][0, STAT_NAMES.index(name)])
