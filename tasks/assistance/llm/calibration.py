"""LLM verdicts for a set of items, calibrated against gold by cross-fitted Platt scaling.

Raw scores: ``s = log p(label_2) - log p(label_1)`` for two labels, the vector of
``log p(label)`` for more (p clipped to [1e-6, 1]). Platt scaling is a logistic
regression of the gold label on ``s`` (``LogisticRegression(C=1.0)``, multinomial for
more labels). It is cross-fitted exactly like the embedding verdict model
(:func:`tasks.assistance.verdict.crossfit`): items in item-id order, ``StratifiedKFold``
with ``folds`` folds shuffled by ``seed``; the calibrated P(label) of an item in fold k
comes from the scaler fitted on the other folds only. A training set holding a single
label falls back to Laplace-smoothed label rates. Calibration is skipped (raw
probabilities kept) when ``calibrate`` is off or fewer than two labels have two items.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tasks.assistance.llm.client import LLM, VerdictAnswer
from tasks.assistance.verdict import PriorModel
from tasks.items import Item

#: Inverse L2 strength of the Platt logistic regression.
PLATT_C = 1.0
#: Probabilities are clipped to this floor before taking logs.
FLOOR = 1e-6


def platt_features(raw: np.ndarray) -> np.ndarray:
    """Score columns for Platt scaling: the log-odds of label 2 vs 1, or all log-probs."""
    logp = np.log(np.clip(np.asarray(raw, dtype=np.float64), FLOOR, 1.0))
    if logp.shape[1] == 2:
        return (logp[:, 1] - logp[:, 0]).reshape(-1, 1)
    return logp


@dataclass
class PlattFit:
    """Cross-fitted calibrated probabilities: ``proba[i]`` comes from ``models[fold_of[i]]``,
    fitted on ``train_index[fold_of[i]]`` (which never contains i)."""

    proba: np.ndarray
    fold_of: np.ndarray
    models: list[Any] = field(default_factory=list)
    train_index: list[np.ndarray] = field(default_factory=list)


def _fit_platt(x: np.ndarray, y: np.ndarray, n_labels: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return PriorModel(list(range(n_labels)), np.bincount(y, minlength=n_labels).tolist())
    return LogisticRegression(C=PLATT_C, max_iter=1000).fit(x, y)


def platt_crossfit(raw: np.ndarray, gold: Sequence[str], labels: Sequence[str], *, folds: int = 5, seed: int = 0) -> PlattFit:
    """Out-of-fold Platt-calibrated probabilities (rows in the order of ``raw``/``gold``)."""
    from sklearn.model_selection import StratifiedKFold

    labels = list(labels)
    y = np.array([labels.index(g) for g in gold])
    n = len(y)
    k = max(2, min(folds, n, int(np.bincount(y).max())))
    x = platt_features(raw)
    result = PlattFit(np.zeros((n, len(labels))), np.zeros(n, dtype=int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer than k members"
        splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y))
    for fold, (train, test) in enumerate(splits):
        model = _fit_platt(x[train], y[train], len(labels))
        result.models.append(model)
        result.train_index.append(train)
        result.fold_of[test] = fold
        out = np.zeros((len(test), len(labels)))
        out[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(x[test])
        result.proba[test] = out
    return result


def can_calibrate(gold: Sequence[str], labels: Sequence[str]) -> bool:
    """At least two labels with two or more gold items each."""
    return sum(1 for label in labels if list(gold).count(label) >= 2) >= 2


@dataclass
class LLMVerdicts:
    """Verdicts of ``item_ids`` (item-id order): raw and (maybe) calibrated P(label) rows."""

    item_ids: list[str]
    labels: list[str]
    raw: np.ndarray
    proba: np.ndarray
    answers: dict[str, VerdictAnswer]
    platt: PlattFit | None

    def row(self, item_id: str) -> np.ndarray:
        return np.asarray(self.proba[self.item_ids.index(item_id)])


def llm_verdicts(
    llm: LLM,
    items: Sequence[Item],
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    calibrate: bool = True,
    show_progress: bool | None = None,
) -> LLMVerdicts:
    """Ask the LLM about every item (cached; a tqdm bar runs on a terminal), then calibrate.

    ``show_progress``: True/False forces the bar on/off; None shows it on a terminal only.
    """
    from tqdm.auto import tqdm

    labels = list(labels)
    canonical = sorted(items, key=lambda it: it.item_id)
    answers: dict[str, VerdictAnswer] = {}
    disable = None if show_progress is None else not show_progress
    for item in tqdm(canonical, desc="LLM verdicts", unit="item", disable=disable):
        answers[item.item_id] = llm.verdict_answer(item, labels)
    raw = np.array([[answers[it.item_id].probs[label] for label in labels] for it in canonical]).reshape(-1, len(labels))
    gold = [it.gold_label for it in canonical]
    platt = None
    if calibrate and can_calibrate(gold, labels):
        platt = platt_crossfit(raw, gold, labels, folds=folds, seed=seed)
    proba = platt.proba if platt is not None else raw
    return LLMVerdicts([it.item_id for it in canonical], labels, raw, proba, answers, platt)
