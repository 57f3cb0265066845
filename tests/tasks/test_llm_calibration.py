"""Cross-fitted Platt calibration of LLM verdict probabilities, on a simulated truth."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tasks.assistance.llm import platt_crossfit, platt_features
from tasks.assistance.llm.calibration import can_calibrate
from tasks.assistance.verdict import verdict_metrics

LABELS = ["correct", "incorrect"]


def _simulated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """True P(incorrect) = sigmoid(z); the raw LLM says sigmoid(3 z) (overconfident)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    truth = 1 / (1 + np.exp(-z))
    gold = ["incorrect" if u < p else "correct" for u, p in zip(rng.random(n), truth, strict=True)]
    raw_incorrect = 1 / (1 + np.exp(-3 * z))
    return np.column_stack([1 - raw_incorrect, raw_incorrect]), truth, gold


def _report(gold: list[str], proba: np.ndarray) -> dict[str, float]:
    predicted = [LABELS[i] for i in proba.argmax(axis=1)]
    return verdict_metrics(gold, predicted, proba.max(axis=1).tolist())


def test_platt_recovers_the_true_probabilities_of_an_overconfident_model() -> None:
    raw, truth, gold = _simulated(1500, seed=1)
    fit = platt_crossfit(raw, gold, LABELS, folds=5, seed=0)
    assert np.allclose(fit.proba.sum(axis=1), 1.0)
    assert np.mean(np.abs(fit.proba[:, 1] - truth)) < 0.04
    assert np.mean(np.abs(raw[:, 1] - truth)) > 0.1
    assert _report(gold, fit.proba)["ece"] < 0.04 < _report(gold, raw)["ece"]


def test_each_item_is_scored_by_a_scaler_fitted_without_it() -> None:
    raw, _, gold = _simulated(200, seed=2)
    fit = platt_crossfit(raw, gold, LABELS, folds=4, seed=3)
    y = np.array([LABELS.index(g) for g in gold])
    score = (np.log(raw[:, 1]) - np.log(raw[:, 0])).reshape(-1, 1)  # independent feature computation
    assert np.allclose(platt_features(raw), score)
    assert sorted(set(fit.fold_of.tolist())) == [0, 1, 2, 3]
    for fold, train in enumerate(fit.train_index):
        scored = np.flatnonzero(fit.fold_of == fold)
        assert not set(scored.tolist()) & set(train.tolist())
        expected = LogisticRegression(C=1.0, max_iter=1000).fit(score[train], y[train]).predict_proba(score[scored])
        assert fit.proba[scored] == pytest.approx(expected, abs=1e-6)


def test_seed_and_order_fix_the_folds() -> None:
    raw, _, gold = _simulated(100, seed=4)
    a = platt_crossfit(raw, gold, LABELS, seed=5)
    assert np.array_equal(a.proba, platt_crossfit(raw, gold, LABELS, seed=5).proba)
    assert not np.array_equal(a.fold_of, platt_crossfit(raw, gold, LABELS, seed=6).fold_of)


def test_three_labels_use_all_log_probabilities() -> None:
    rng = np.random.default_rng(7)
    labels = ["supports", "refutes", "nei"]
    raw = rng.dirichlet([1, 1, 1], size=90)
    gold = [labels[int(np.argmax(row + rng.normal(0, 0.2, 3)))] for row in raw]
    fit = platt_crossfit(raw, gold, labels, folds=3, seed=0)
    assert platt_features(raw).shape == (90, 3)
    assert np.allclose(fit.proba.sum(axis=1), 1.0)
    assert np.mean(fit.proba.argmax(axis=1) == [labels.index(g) for g in gold]) > 0.6


def test_calibration_needs_two_labels_with_two_items_each() -> None:
    assert can_calibrate(["correct", "correct", "incorrect", "incorrect"], LABELS)
    assert not can_calibrate(["correct", "correct", "correct", "incorrect"], LABELS)


def test_pipeline_config_refuses_a_controlled_verdict_with_an_llm() -> None:
    from pydantic import ValidationError

    from tasks.assistance import AssistanceConfig
    from tasks.assistance.controlled import ControlledVerdict
    from tasks.assistance.llm import LLMSettings

    llm = LLMSettings(backend="openai", base_url="http://127.0.0.1:8000/v1", model="m")
    with pytest.raises(ValidationError, match="set only one"):
        AssistanceConfig(llm=llm, verdict=ControlledVerdict())
    assert AssistanceConfig(llm=llm).llm == llm
