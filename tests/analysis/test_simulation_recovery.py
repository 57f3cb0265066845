"""Parameter recovery on simulated studies (tolerances stated per test)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import (
    RaterPolicy,
    SimItem,
    SimulationProfile,
    condition_metrics,
    item_effect,
    simulate_judgments,
    simulate_response,
)

R, P = 0.4, 0.7  # reliance and skill
PROFILE = SimulationProfile.from_dict({
    "ai": {"accuracy": 0.7},
    "conditions": {
        "none": {"skill": 0.65},
        "evidence": {"skill": 0.8},
        "reasoning": {"skill": P, "shows_ai_label": True, "reliance": R},
    },
})


@pytest.fixture(scope="module")
def metrics() -> dict[str, dict[str, float]]:
    df = simulate_judgments(240, 80, PROFILE, seed=12, two_stage=True)
    out = condition_metrics(df, n_boot=0).set_index("condition")
    ai_acc = float((df.drop_duplicates("item_id").eval("ai_label == gold_label")).mean())
    return {"m": out.to_dict("index"), "ai_acc": {"value": ai_acc}}


def test_over_reliance_formula(metrics: dict) -> None:
    # binary labels, no random effects: over_reliance -> r + (1 - r)(1 - p); 80 raters x ~24
    # AI-wrong items per condition -> SE ~ 0.011, tolerance 0.04.
    assert metrics["m"]["reasoning"]["over_reliance"] == pytest.approx(R + (1 - R) * (1 - P), abs=0.04)
    assert metrics["m"]["none"]["over_reliance"] == pytest.approx(1 - 0.65, abs=0.04)


def test_accuracy_by_condition(metrics: dict) -> None:
    # Unassisted conditions: accuracy -> skill. Reasoning: q*(r + (1-r)p) + (1-q)(1-r)p with q
    # the realised AI accuracy. Tolerance 0.03 (SE ~ 0.006 for 6,400 judgments).
    q = metrics["ai_acc"]["value"]
    assert metrics["m"]["none"]["accuracy"] == pytest.approx(0.65, abs=0.03)
    assert metrics["m"]["evidence"]["accuracy"] == pytest.approx(0.8, abs=0.03)
    expected = q * (R + (1 - R) * P) + (1 - q) * (1 - R) * P
    assert metrics["m"]["reasoning"]["accuracy"] == pytest.approx(expected, abs=0.03)


def test_rair_rsr_and_switching(metrics: dict) -> None:
    # Two-stage, initial_skill = skill: RAIR -> r, RSR -> 1 - r, no switching without the AI label.
    assert metrics["m"]["reasoning"]["rair"] == pytest.approx(R, abs=0.05)
    assert metrics["m"]["reasoning"]["rsr"] == pytest.approx(1 - R, abs=0.05)
    assert metrics["m"]["none"]["switch_rate"] == 0.0


def test_random_effects_shift_accuracy_toward_half() -> None:
    # With logit-normal variation the mean of expit(logit(.9) + w) falls below .9:
    # E over w ~ N(0, 1.0^2 + 1.0^2) computed by quadrature; tolerance 0.03.
    prof = SimulationProfile.from_dict({"rater_sd": 1.0, "item_sd": 1.0, "conditions": {"none": {"skill": 0.9}}})
    df = simulate_judgments(300, 150, prof, seed=3)
    x, w = np.polynomial.hermite_e.hermegauss(60)
    truth = float(np.sum(w / (1 + np.exp(-(np.log(9) + np.sqrt(2) * x)))) / np.sqrt(2 * np.pi))
    acc = condition_metrics(df, n_boot=0)["accuracy"].iloc[0]
    assert truth < 0.87
    assert acc == pytest.approx(truth, abs=0.03)


def test_single_judgment_policy_matches_formula() -> None:
    rng = np.random.default_rng(0)
    item = SimItem(item_id="x", gold_label="correct", ai_label="incorrect", ai_confidence=0.7)
    adopted = [simulate_response(rng, PROFILE, "reasoning", 0.0, item)[2] == "incorrect" for _ in range(4000)]
    assert np.mean(adopted) == pytest.approx(R + (1 - R) * (1 - P), abs=0.03)
    policy = RaterPolicy(PROFILE, "reasoning", np.random.default_rng(1), two_stage=True)
    h0, c0, h, c = policy.respond({"item_id": "y", "gold_label": "correct", "ai_label": "correct"})
    assert h0 in PROFILE.labels and h in PROFILE.labels
    assert c0 is not None and 0.5 <= c0 <= 1.0 and 0.5 <= c <= 1.0
    assert simulate_response(rng, PROFILE, "none", 0.0, item)[:2] == (None, None)


def test_item_effect_is_stable_and_scaled() -> None:
    prof = SimulationProfile(item_sd=0.8)
    assert item_effect(prof, "q1", 5) == item_effect(prof, "q1", 5)
    draws = np.array([item_effect(prof, f"q{i}", 5) for i in range(2000)])
    assert draws.std() == pytest.approx(0.8, rel=0.08)
    assert item_effect(SimulationProfile(), "q1", 5) == 0.0


def test_profile_from_yaml(tmp_path) -> None:
    text = "labels: [\"yes\", \"no\"]\nrater_sd: 0.3\nconditions:\n  reasoning: {skill: 0.6, shows_ai_label: true, reliance: 0.2}\n"
    path = tmp_path / "p.yaml"
    path.write_text(text)
    for source in (path, str(path), text):
        prof = SimulationProfile.from_yaml(source)
        assert prof.labels == ["yes", "no"] and prof.conditions["reasoning"].reliance == 0.2
    with pytest.raises(ValueError):
        SimulationProfile.from_dict({"conditions": {"none": {"skill": 1.5}}})
