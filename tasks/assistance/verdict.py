"""AI verdict and confidence: a cross-fitted, calibrated classifier over encoder features.

Features of a (claim, evidence) pair: ``[c, e, c*e, |c-e|, max sim, mean sim]`` where ``c``
is the claim embedding, ``e`` the mean embedding of the top-k evidence sentences, and the
sims are claim-sentence cosines over all of the item's sentences.

Cross-fitting: items are split into K stratified folds (seeded); the verdict of an item
in fold k comes from a model trained on the other K-1 folds only, so no item is ever
judged by a model that saw its gold label. Inside each training set, the L2 strength C
is chosen by 3-fold log-loss (grid search) and probabilities are Platt-calibrated by
``CalibratedClassifierCV(method="sigmoid", cv=3)``: everything is fitted on training
folds, nothing on the scored fold.

With more than two labels the same code fits a multinomial model; the verdict is the most
probable label and the confidence its probability.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: C values searched (inside each training set) for the logistic regression.
C_GRID = (0.0003, 0.001, 0.003, 0.01)
#: Number of equal-width confidence bins for ECE (docs/metrics.md: 10).
ECE_BINS = 10


def pair_features(claim: np.ndarray, evidence: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Feature rows for (claim, evidence) pairs.

    Args:
        claim: (n, d) claim embeddings.
        evidence: (n, d) evidence embeddings (zeros when an item has no sources).
        sims: (n, 2) per-item [max, mean] claim-sentence cosine.
    """
    return np.hstack([claim, evidence, claim * evidence, np.abs(claim - evidence), sims]).astype(np.float64)


class PriorModel:
    """Fallback when a training set holds a single label: Laplace-smoothed label rates."""

    def __init__(self, classes: Sequence[int], counts: Sequence[int]) -> None:
        self.classes_ = np.asarray(classes)
        counts_arr = np.asarray(counts, dtype=float) + 1.0
        self._proba = counts_arr / counts_arr.sum()

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.tile(self._proba, (len(x), 1))


def make_classifier(y: np.ndarray, seed: int, x: np.ndarray | None = None) -> Any:
    """An unfitted calibrated classifier suited to the training labels ``y``.

    With ``x`` given, C is first chosen on (x, y) by 3-fold log-loss; the calibrated
    classifier then refits with that C (3 Platt folds). Everything sees training data only.
    """
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # liblinear is ~10x faster than lbfgs on these wide, small problems but binary only.
    solver = "liblinear" if len(np.unique(y)) == 2 else "lbfgs"
    base = make_pipeline(StandardScaler(), LogisticRegression(C=0.003, solver=solver, max_iter=1000))
    smallest = min(int(np.sum(y == label)) for label in np.unique(y))
    if smallest < 3:  # too few items of some label to tune or calibrate inside the fold
        return base
    inner = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    if x is not None:
        search = GridSearchCV(
            base, {"logisticregression__C": list(C_GRID)}, cv=inner, scoring="neg_log_loss", refit=False
        )
        base = clone(base).set_params(**search.fit(x, y).best_params_)
    return CalibratedClassifierCV(base, method="sigmoid", cv=inner)


@dataclass
class CrossFit:
    """Cross-fitted predictions: ``proba[i]`` comes from ``models[fold_of[i]]``, which was
    trained on ``train_index[fold_of[i]]`` (never containing i)."""

    labels: list[str]
    proba: np.ndarray
    fold_of: np.ndarray
    models: list[Any] = field(default_factory=list)
    train_index: list[np.ndarray] = field(default_factory=list)
    train_rates: list[np.ndarray] = field(default_factory=list)  # per fold: label shares of its training set

    def base_rate(self, item_index: int) -> np.ndarray:
        """Label shares (n_labels,) of the training set of ``item_index``'s own model."""
        rates: np.ndarray = self.train_rates[int(self.fold_of[item_index])]
        return rates

    def predict_for(self, item_index: int, features: np.ndarray) -> np.ndarray:
        """Label probabilities (rows, n_labels) for extra feature rows of one item, from
        that item's own out-of-fold model (e.g. to score single quotes)."""
        return _full_proba(self.models[self.fold_of[item_index]], features, len(self.labels))


def _full_proba(model: Any, x: np.ndarray, n_labels: int) -> np.ndarray:
    out = np.zeros((len(x), n_labels))
    out[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(x)
    return out


def _fit(x: np.ndarray, y: np.ndarray, n_labels: int, seed: int) -> Any:
    present = np.unique(y)
    if len(present) < 2:
        return PriorModel(list(range(n_labels)), np.bincount(y, minlength=n_labels).tolist())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on tiny folds
        model = make_classifier(y, seed, x)
        model.fit(x, y)
    return model


def crossfit(
    features: np.ndarray, gold: Sequence[str], labels: Sequence[str], *, folds: int = 5, seed: int = 0
) -> CrossFit:
    """Out-of-fold calibrated label probabilities for every item.

    Raises:
        ValueError: a gold label outside ``labels``, or fewer than 2 items.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = list(labels)
    unknown = sorted(set(gold) - set(labels))
    if unknown:
        raise ValueError(f"gold labels {unknown} are not in the study's label set {labels}")
    n = len(gold)
    if n < 2:
        raise ValueError("cross-fitting needs at least 2 items")
    y = np.array([labels.index(g) for g in gold])
    k = max(2, min(folds, n, int(np.bincount(y).max())))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    result = CrossFit(labels, np.zeros((n, len(labels))), np.zeros(n, dtype=int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer than k members"
        splits = list(splitter.split(features, y))
    for fold, (train, test) in enumerate(splits):
        model = _fit(features[train], y[train], len(labels), seed)
        result.models.append(model)
        result.train_index.append(train)
        result.train_rates.append(np.bincount(y[train], minlength=len(labels)) / len(train))
        result.fold_of[test] = fold
        result.proba[test] = _full_proba(model, features[test], len(labels))
    return result


def verdict_metrics(gold: Sequence[str], predicted: Sequence[str], confidence: Sequence[float]) -> dict[str, Any]:
    """Accuracy, Brier and ECE of AI verdicts, plus majority-class rate and accuracy by bin.

    Brier here is ``mean((confidence - correct)^2)`` with confidence = P(AI label), and ECE
    uses 10 equal-width confidence bins (docs/metrics.md). ``by_bin`` lists the non-empty
    equal-width bins; ``by_quintile`` splits items into 5 equal-count confidence groups.
    """
    gold_arr, pred = np.asarray(gold), np.asarray(predicted)
    conf = np.asarray(confidence, dtype=float)
    n = len(gold_arr)
    if n == 0:
        raise ValueError("no verdicts to report on")
    correct = (gold_arr == pred).astype(float)
    _, counts = np.unique(gold_arr, return_counts=True)
    bin_ids = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    by_bin, ece = [], 0.0
    for b in range(ECE_BINS):
        mask = bin_ids == b
        if mask.any():
            gap = abs(correct[mask].mean() - conf[mask].mean())
            ece += mask.sum() / n * gap
            by_bin.append(_bin_row(b / ECE_BINS, (b + 1) / ECE_BINS, correct[mask], conf[mask]))
    return {
        "n": n,
        "accuracy": round(float(correct.mean()), 4),
        "majority_rate": round(float(counts.max() / n), 4),
        "brier": round(float(np.mean((conf - correct) ** 2)), 4),
        "ece": round(float(ece), 4),
        "mean_confidence": round(float(conf.mean()), 4),
        "by_bin": by_bin,
        "by_quintile": _quantile_rows(correct, conf, 5),
    }


def _bin_row(low: float, high: float, correct: np.ndarray, conf: np.ndarray) -> dict[str, Any]:
    return {
        "low": round(low, 4),
        "high": round(high, 4),
        "n": int(len(correct)),
        "accuracy": round(float(correct.mean()), 4),
        "mean_confidence": round(float(conf.mean()), 4),
    }


def _quantile_rows(correct: np.ndarray, conf: np.ndarray, groups: int) -> list[dict[str, Any]]:
    order = np.argsort(conf, kind="stable")
    rows = []
    for part in np.array_split(order, min(groups, len(order))):
        rows.append(_bin_row(float(conf[part].min()), float(conf[part].max()), correct[part], conf[part]))
    return rows
