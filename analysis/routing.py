"""Confidence-based hybrid routing on per-item sums (vectorised over bootstrap replicates).

Routing rule, per judgment: routed(T) = a if c > T else h, where c is the AI
confidence of the judgment's item (an item with missing c always goes to the human).
Everything here works on per-item weighted sums (the curve: one row per weighting;
the cross-fitting: item-major, one column per replicate):

- ``N[j]`` = weighted number of judgments of item j,
- ``H[j]`` = weighted number of those with h == y (human correct),
- ``A[j]`` = ``N[j] * [a_j == y_j]`` (AI correct).

So #correct(T) = sum_{j: c_j > T} A_j + sum_{j: c_j <= T} H_j, and
accuracy(T) = #correct(T) / sum_j N_j, share_ai(T) = sum_{j: c_j > T} N_j / sum_j N_j.
Candidate thresholds are 0 (route everything with c > 0 to the AI) and every distinct
c; T = max(c) is the "route all to humans" point (share_ai = 0).

Bootstrap weights are integers, so all sums are exact integers in float64 and ties
between thresholds are exact; ties go to the largest T (fewest judgments to the AI).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def candidates(c: np.ndarray) -> np.ndarray:
    """Sorted candidate thresholds: 0 and every distinct non-missing c."""
    return np.unique(np.concatenate([[0.0], c[~np.isnan(c)]]))


def cum_by_threshold(d: np.ndarray, pos: np.ndarray, n_cands: int) -> np.ndarray:
    """``out[b, k] = sum_{j: pos_j <= k} d[b, j]``, shape (B, n_cands), exact for integer d."""
    order = np.argsort(pos, kind="stable")
    running = np.cumsum(d[:, order], axis=1)
    last = np.searchsorted(pos[order], np.arange(n_cands), side="right") - 1
    picked = running[:, np.clip(last, 0, None)] if running.shape[1] else np.zeros((d.shape[0], n_cands))
    return np.where(last >= 0, picked, 0.0)


def curve(h: np.ndarray, n: np.ndarray, a: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, ...]:
    """The routing curve for one weighting (1-D per-item sums).

    Returns (thresholds, share_ai, accuracy), one entry per candidate threshold.
    """
    cands = candidates(c)
    known = ~np.isnan(c)
    pos = np.searchsorted(cands, c[known])
    total = n.sum()
    to_human_gain = cum_by_threshold((h - a)[None, known], pos, len(cands))[0]
    base = a[known].sum() + h[~known].sum()
    n_human = cum_by_threshold(n[None, known], pos, len(cands))[0] + n[~known].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return cands, (total - n_human) / total, (base + to_human_gain) / total


def _cumulative(d: np.ndarray) -> np.ndarray:
    """Running sums down the rows of ``d`` (m, B) with a leading row of zeros: out[p] = sum_{i < p} d[i]."""
    out = np.empty((d.shape[0] + 1, d.shape[1]), dtype=d.dtype)
    out[0] = 0
    np.cumsum(d, axis=0, out=out[1:])
    return out


@dataclass(frozen=True)
class FoldPlan:
    """One fold f of a fold split: its items and the training candidates, precomputed from c alone."""

    fold: int
    held: np.ndarray  # positions (in the c-sorted known items) of fold f's items
    cands: np.ndarray  # candidate thresholds: 0 and the training items' distinct c (empty: no training c)
    at_all: np.ndarray  # per candidate: #(known items with c <= T)
    at_fold: np.ndarray  # per candidate: #(fold-f items with c <= T)


@dataclass(frozen=True)
class SplitPlan:
    """Cross-fitting over one fold split of the items (``plan``), reused for every replicate."""

    order: np.ndarray  # items with known c, sorted by c (stable)
    unknown: np.ndarray  # (n_items,) bool: items without c, always routed to the human
    folds: tuple[FoldPlan, ...]  # the folds that hold at least one item
    fold_of: np.ndarray  # (m,) index into ``folds`` of each c-sorted known item
    rank: np.ndarray  # (m,) rank of each c-sorted known item within its fold
    k: int


def plan(c: np.ndarray, fold: np.ndarray, k: int) -> SplitPlan:
    """The cross-fitting plan of items with confidences ``c`` and folds ``fold`` (0..k-1)."""
    known = ~np.isnan(c)
    order = np.flatnonzero(known)[np.argsort(c[known], kind="stable")]
    c_sorted, fold_sorted = c[order], fold[order]
    folds: list[FoldPlan] = []
    fold_of, rank = np.zeros(len(order), dtype=np.int64), np.zeros(len(order), dtype=np.int64)
    for f in range(k):
        if not (fold == f).any():
            continue
        held = np.flatnonzero(fold_sorted == f)
        fold_of[held], rank[held] = len(folds), np.arange(len(held))
        train = c_sorted[fold_sorted != f]
        cands = candidates(train) if len(train) else np.zeros(0)
        folds.append(FoldPlan(f, held, cands, np.searchsorted(c_sorted, cands, side="right"),
                              np.searchsorted(c_sorted[held], cands, side="right")))
    return SplitPlan(order, ~known, tuple(folds), fold_of, rank, k)


def crossfit(h: np.ndarray, n: np.ndarray, a: np.ndarray, split: SplitPlan) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """K-fold cross-fitted routing over items, on item-major per-item sums ``h, n, a`` (n_items, B).

    For fold f, the threshold T_f is chosen on the items of the other folds only: among 0
    and their distinct c, the T maximising their #correct sum_{train, c <= T} (H - A)
    (ties -> largest T; +inf when no training item has a c). T_f is applied to fold f's
    items: item j goes to the AI iff c_j > T_{fold(j)}. Items are sorted by c once
    (``plan``); the training sum at T is the running sum over all items with c <= T minus
    that over fold f's items. The sums may be float32 when every sum is an integer below
    2^24 (then exact, ``analysis.slot_sums``).

    Returns the thresholds (B, k) (NaN for an empty fold) and, per replicate,
    cv_accuracy = (sum_{to AI} A + sum_{to human} H) / sum N;
    human_slice_share = sum_{to human} N / sum N; in that slice
    human_slice_human_accuracy = sum H / sum N and human_slice_ai_accuracy = sum A / sum N.
    """
    n_rep = h.shape[1]
    d = h - a
    d_sorted = d[split.order]
    cum_all = _cumulative(d_sorted)
    thresholds = np.full((n_rep, split.k), np.nan)
    cut = np.zeros((len(split.folds), n_rep), dtype=np.int64)  # per fold: #items with c <= T_f (to the human)
    for i, fp in enumerate(split.folds):
        if not len(fp.cands):  # no training item has a c: everything to the human
            thresholds[:, fp.fold], cut[i] = np.inf, len(fp.held)
            continue
        gain = cum_all[fp.at_all]
        gain -= _cumulative(d_sorted[fp.held])[fp.at_fold]
        best = len(fp.cands) - 1 - np.argmax(gain[::-1], axis=0)
        thresholds[:, fp.fold], cut[i] = fp.cands[best], fp.at_fold[best]
    human = np.ones(h.shape, dtype=h.dtype)  # items without c always go to the human
    human[split.order] = split.rank[:, None] < cut[split.fold_of]
    h_slice, n_slice, d_slice = (np.einsum("jb,jb->b", x, human).astype(float) for x in (h, n, d))
    total, a_total = n.sum(axis=0).astype(float), a.sum(axis=0).astype(float)
    a_slice = h_slice - d_slice
    with np.errstate(invalid="ignore", divide="ignore"):
        return thresholds, {
            "cv_accuracy": (a_total - a_slice + h_slice) / total,
            "human_slice_share": n_slice / total,
            "human_slice_human_accuracy": h_slice / n_slice,
            "human_slice_ai_accuracy": a_slice / n_slice,
        }


def assign_folds(n_items: int, k: int, seed: int) -> np.ndarray:
    """Fold (0..k-1) of each of ``n_items`` items (sorted by item id), balanced and seeded."""
    rng = np.random.default_rng(seed)
    fold = np.empty(n_items, dtype=np.int64)
    fold[rng.permutation(n_items)] = np.arange(n_items) % max(k, 1)
    return fold
