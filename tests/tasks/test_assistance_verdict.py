"""Cross-fitted verdict model and verdict metrics (tasks.assistance.verdict)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

import tasks.assistance.verdict as verdict_module
from tasks.assistance import crossfit, verdict_metrics


def _random_label_bank(n: int = 120, seed: int = 1) -> tuple[np.ndarray, list[str]]:
    """One private feature per item (+ noise) and coin-flip labels: the label of an item
    is only learnable from that item's own row, so only a leaky model can score well."""
    rng = np.random.default_rng(seed)
    features = np.hstack([np.eye(n) * 3.0, rng.normal(size=(n, 20))])
    gold = ["correct" if v else "incorrect" for v in rng.integers(0, 2, n)]
    return features, gold


def _accuracy(proba: np.ndarray, gold: list[str], labels: list[str]) -> float:
    predicted = np.array(labels)[proba.argmax(axis=1)]
    return float(np.mean(predicted == np.array(gold)))


def test_cross_fitted_accuracy_on_random_labels_is_chance() -> None:
    features, gold = _random_label_bank()
    fit = crossfit(features, gold, ["correct", "incorrect"], folds=5, seed=0)
    assert _accuracy(fit.proba, gold, ["correct", "incorrect"]) < 0.7


def test_the_chance_test_would_catch_a_leaky_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same bank, but the splitter leaks every item into its own training set."""
    real_split = StratifiedKFold.split

    def leaky_split(self, x, y, groups=None):  # type: ignore[no-untyped-def]
        for _train, test in real_split(self, x, y, groups):
            yield np.arange(len(y)), test

    monkeypatch.setattr(StratifiedKFold, "split", leaky_split)
    features, gold = _random_label_bank()
    fit = crossfit(features, gold, ["correct", "incorrect"], folds=5, seed=0)
    assert _accuracy(fit.proba, gold, ["correct", "incorrect"]) > 0.8


def test_no_model_is_trained_on_an_item_it_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 60
    features = np.hstack([np.arange(n, dtype=float)[:, None], rng.normal(size=(n, 5))])
    gold = ["a" if v else "b" for v in rng.integers(0, 2, n)]
    trained_on: list[set[int]] = []
    real_fit = verdict_module._fit

    def recording_fit(x: np.ndarray, y: np.ndarray, n_labels: int, seed: int):  # type: ignore[no-untyped-def]
        trained_on.append({int(v) for v in x[:, 0]})
        return real_fit(x, y, n_labels, seed)

    monkeypatch.setattr(verdict_module, "_fit", recording_fit)
    fit = crossfit(features, gold, ["a", "b"], folds=4, seed=0)
    assert len(trained_on) == 4
    for item in range(n):
        assert item not in trained_on[fit.fold_of[item]]
        assert item not in set(fit.train_index[fit.fold_of[item]])
    assert sorted(np.bincount(fit.fold_of).tolist()) == [15, 15, 15, 15]


def test_crossfit_is_deterministic_for_a_seed_and_changes_with_it() -> None:
    rng = np.random.default_rng(5)
    features = rng.normal(size=(80, 10))
    gold = ["a" if f > 0 else "b" for f in features[:, 0] + rng.normal(scale=0.5, size=80)]
    first = crossfit(features, gold, ["a", "b"], seed=7)
    again = crossfit(features, gold, ["a", "b"], seed=7)
    other = crossfit(features, gold, ["a", "b"], seed=8)
    assert np.array_equal(first.proba, again.proba) and np.array_equal(first.fold_of, again.fold_of)
    assert not np.array_equal(first.fold_of, other.fold_of)
    assert _accuracy(first.proba, gold, ["a", "b"]) > 0.75  # a learnable signal is learnt
    assert np.allclose(first.proba.sum(axis=1), 1.0)


def test_crossfit_multiclass_and_single_label_fold_fallback() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(30, 4))
    gold = ["x"] * 27 + ["y", "z", "y"]
    fit = crossfit(features, gold, ["x", "y", "z", "unused"], folds=3, seed=0)
    assert fit.proba.shape == (30, 4)
    assert np.allclose(fit.proba.sum(axis=1), 1.0)
    assert np.all(fit.proba[:, 3] <= 0.25)


def test_crossfit_rejects_unknown_gold_label() -> None:
    with pytest.raises(ValueError, match="not in the study's label set"):
        crossfit(np.zeros((4, 2)), ["a", "b", "c", "a"], ["a", "b"])


def test_verdict_metrics_against_hand_computed_values() -> None:
    gold = ["c", "c", "i", "i", "c"]
    predicted = ["c", "i", "i", "c", "c"]
    confidence = [0.95, 0.55, 0.75, 0.65, 0.91]
    report = verdict_metrics(gold, predicted, confidence)
    correct = np.array([1, 0, 1, 0, 1])
    assert report["accuracy"] == 0.6
    assert report["majority_rate"] == 0.6
    assert report["brier"] == pytest.approx(np.mean((np.array(confidence) - correct) ** 2), abs=1e-4)
    # bins: [0.5,0.6): 0.55 wrong; [0.6,0.7): 0.65 wrong; [0.7,0.8): 0.75 right; [0.9,1.0]: 0.95, 0.91 right
    ece = (0.55 + 0.65 + (1 - 0.75) + 2 * (1 - 0.93)) / 5
    assert report["ece"] == pytest.approx(ece, abs=1e-4)
    assert [row["n"] for row in report["by_bin"]] == [1, 1, 1, 2]
    assert report["by_bin"][-1] == {"low": 0.9, "high": 1.0, "n": 2, "accuracy": 1.0, "mean_confidence": 0.93}


def test_verdict_metrics_confidence_one_lands_in_the_last_bin() -> None:
    report = verdict_metrics(["a"], ["a"], [1.0])
    assert report["by_bin"][0]["low"] == 0.9 and report["ece"] == 0.0
