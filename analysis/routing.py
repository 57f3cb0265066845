"""Confidence-based hybrid routing on per-item sums (vectorised over bootstrap replicates).

Routing rule, per judgment: routed(T) = a if c > T else h, where c is the AI
confidence of the judgment's item (an item with missing c always goes to the human).
Everything here works on per-item weighted sums, one row per replicate:

- ``N[b, j]`` = weighted number of judgments of item j,
- ``H[b, j]`` = weighted number of those with h == y (human correct),
- ``A[b, j]`` = ``N[b, j] * [a_j == y_j]`` (AI correct).

So #correct(T) = sum_{j: c_j > T} A_j + sum_{j: c_j <= T} H_j, and
accuracy(T) = #correct(T) / sum_j N_j, share_ai(T) = sum_{j: c_j > T} N_j / sum_j N_j.
Candidate thresholds are 0 (route everything with c > 0 to the AI) and every distinct
c; T = max(c) is the "route all to humans" point (share_ai = 0).

Bootstrap weights are integers, so all sums are exact integers in float64 and ties
between thresholds are exact; ties go to the largest T (fewest judgments to the AI).
"""

from __future__ import annotations

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


def best_threshold(h: np.ndarray, a: np.ndarray, c: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Threshold maximising #correct on the ``train`` items only, per replicate (B,).

    Candidates come from the training items' c alone, so nothing about the other items
    (not even their confidences) influences the choice. No training item -> +inf
    (everything to the human).
    """
    use = train & ~np.isnan(c)
    if not use.any():
        return np.full(h.shape[0], np.inf)
    cands = candidates(c[use])
    pos = np.searchsorted(cands, c[use])
    gain = cum_by_threshold((h - a)[:, use], pos, len(cands))
    best = len(cands) - 1 - np.argmax(gain[:, ::-1], axis=1)
    thresholds: np.ndarray = cands[best]
    return thresholds


def crossfit(
    h: np.ndarray, a: np.ndarray, c: np.ndarray, fold: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """K-fold cross-fitted routing over items.

    For fold f, the threshold T_f is chosen on the items of the other folds only
    (``best_threshold``) and applied to fold f's items: item j goes to the AI iff
    c_j > T_{fold(j)}.

    Returns (thresholds (B, k), to_ai (B, n_items) bool).
    """
    n_rep, n_items = h.shape
    thresholds = np.full((n_rep, k), np.nan)
    to_ai = np.zeros((n_rep, n_items), dtype=bool)
    with np.errstate(invalid="ignore"):
        for f in range(k):
            test = fold == f
            if not test.any():
                continue
            t = best_threshold(h, a, c, fold != f)
            thresholds[:, f] = t
            to_ai[:, test] = c[test][None, :] > t[:, None]
    return thresholds, to_ai


def routed_stats(h: np.ndarray, n: np.ndarray, a: np.ndarray, to_ai: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy of a routing (per replicate) and the slice routed to humans.

    cv_accuracy = (sum_{to AI} A + sum_{to human} H) / sum N;
    human_slice_share = sum_{to human} N / sum N; in that slice
    human_slice_human_accuracy = sum H / sum N and human_slice_ai_accuracy = sum A / sum N.
    """
    human = ~to_ai
    total = n.sum(axis=1)
    n_slice = (n * human).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "cv_accuracy": np.where(to_ai, a, h).sum(axis=1) / total,
            "human_slice_share": n_slice / total,
            "human_slice_human_accuracy": (h * human).sum(axis=1) / n_slice,
            "human_slice_ai_accuracy": (a * human).sum(axis=1) / n_slice,
        }


def assign_folds(n_items: int, k: int, seed: int) -> np.ndarray:
    """Fold (0..k-1) of each of ``n_items`` items (sorted by item id), balanced and seeded."""
    rng = np.random.default_rng(seed)
    fold = np.empty(n_items, dtype=np.int64)
    fold[rng.permutation(n_items)] = np.arange(n_items) % max(k, 1)
    return fold
