"""Controlled AI verdicts, consultancy assignment and the quality gate (no encoder needed).

ECE here is computed by this file's own loop (10 equal-width bins, DESIGN formula), not by
the library's verdict_metrics.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tasks.assistance.consultancy import consultancy_assignments
from tasks.assistance.controlled import ControlledVerdict, controlled_verdicts
from tasks.assistance.quality import assistance_quality, format_quality
from tasks.importers import read_item_bank
from tasks.items import Item

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_items.jsonl"
LABELS = ["correct", "incorrect"]


def ece(correct: list[bool], confidence: list[float]) -> float:
    n, total = len(correct), 0.0
    for b in range(10):
        members = [i for i, c in enumerate(confidence) if min(int(c * 10), 9) == b]
        if members:
            acc = sum(correct[i] for i in members) / len(members)
            conf = sum(confidence[i] for i in members) / len(members)
            total += len(members) / n * abs(acc - conf)
    return total


def synthetic_bank(n: int, labels: list[str] = LABELS, seed: int = 0, practice: int = 0) -> list[Item]:
    rng = random.Random(seed)
    items = [Item(item_id=f"m{i:05d}", claim=f"claim {i}", gold_label=rng.choice(labels)) for i in range(n)]
    items += [Item(item_id=f"p{i}", claim=f"practice {i}", gold_label=labels[i % 2], role="practice") for i in range(practice)]
    return items


def demo_bank() -> list[Item]:
    return [it for it in read_item_bank(DEMO, "jsonl", labels=LABELS) if it.role != "attention_check"]


def _scored(items: list[Item], verdicts: dict[str, tuple[str, float]]) -> tuple[list[bool], list[float]]:
    return [verdicts[it.item_id][0] == it.gold_label for it in items], [verdicts[it.item_id][1] for it in items]


@pytest.mark.parametrize("accuracy", [0.55, 0.7, 0.85, 0.95])
@pytest.mark.parametrize("bank", ["demo", "synthetic"])
def test_exact_accuracy_on_main_items_and_calibrated_ece(accuracy: float, bank: str) -> None:
    items = demo_bank() if bank == "demo" else synthetic_bank(3000, practice=5)
    for seed in range(5):
        verdicts = controlled_verdicts(items, LABELS, ControlledVerdict(accuracy=accuracy), seed)
        main = [it for it in items if it.role == "main"]
        correct, conf = _scored(main, verdicts)
        assert sum(correct) == round(accuracy * len(main))
        practice = [it for it in items if it.role == "practice"]
        assert sum(_scored(practice, verdicts)[0]) == round(accuracy * len(practice))
        every_correct, every_conf = _scored(items, verdicts)
        assert ece(every_correct, every_conf) <= 0.05  # on the whole bank, practice included
        assert all(0.5 <= c <= 0.99 for c in conf)


def test_calibrated_confidence_is_informative() -> None:
    items = synthetic_bank(4000)
    correct, conf = _scored(items, controlled_verdicts(items, LABELS, ControlledVerdict(accuracy=0.8), 3))
    order = sorted(range(len(items)), key=lambda i: conf[i])
    low, high = order[: len(order) // 2], order[len(order) // 2 :]
    assert sum(correct[i] for i in high) / len(high) > sum(correct[i] for i in low) / len(low) + 0.1


@pytest.mark.parametrize(("calibration", "sign"), [("overconfident", 1), ("underconfident", -1)])
def test_miscalibrated_confidences_keep_accuracy_and_miss_it_in_the_stated_direction(calibration: str, sign: int) -> None:
    items = demo_bank()
    settings = ControlledVerdict(accuracy=0.85, calibration=calibration)  # type: ignore[arg-type]
    verdicts = controlled_verdicts(items, LABELS, settings, 1)
    main = [it for it in items if it.role == "main"]
    correct, conf = _scored(main, verdicts)
    assert sum(correct) == 54
    gap = sum(conf) / len(conf) - sum(correct) / len(correct)
    assert sign * gap > 0.05 and ece(correct, conf) > 0.05


def test_seeded_order_free_and_multi_label() -> None:
    items = synthetic_bank(200, labels=["a", "b", "c"], seed=4)
    settings = ControlledVerdict(accuracy=0.7)
    first = controlled_verdicts(items, ["a", "b", "c"], settings, 9)
    assert controlled_verdicts(list(reversed(items)), ["a", "b", "c"], settings, 9) == first
    assert controlled_verdicts(items, ["a", "b", "c"], settings, 10) != first
    assert controlled_verdicts(items, ["a", "b", "c"], settings.model_copy(update={"seed": 9}), 10) == first
    correct, conf = _scored(items, first)
    assert sum(correct) == 140 and min(conf) >= round(1 / 3, 4) and ece(correct, conf) <= 0.05
    wrong = [first[it.item_id][0] for it, ok in zip(items, correct, strict=True) if not ok]
    assert set(wrong) == {"a", "b", "c"}  # wrong labels are drawn among the others


@pytest.mark.parametrize("share", [0.0, 0.3, 0.5, 1.0])
def test_consultancy_assignment_is_exact_balanced_and_seeded(share: float) -> None:
    items = synthetic_bank(101, seed=2, practice=4)
    assigned = consultancy_assignments(items, LABELS, share, 5)
    main = [it for it in items if it.role == "main"]
    right = [assigned[it.item_id] == it.gold_label for it in main]
    assert sum(right) == round(share * len(main))
    for gold in LABELS:
        stratum = [r for r, it in zip(right, main, strict=True) if it.gold_label == gold]
        assert abs(sum(stratum) - share * len(stratum)) <= 1.0  # balanced over gold labels
    assert consultancy_assignments(list(reversed(items)), LABELS, share, 5) == assigned
    if 0 < share < 1:
        assert consultancy_assignments(items, LABELS, share, 6) != assigned
    with pytest.raises(ValueError, match="share"):
        consultancy_assignments(items, LABELS, 1.5, 5)


def _quote(verified: bool = True) -> dict[str, object]:
    return {"text": "x", "verified": verified}


def test_quality_gate_figures_match_a_hand_computation() -> None:
    gold = {"a": "correct", "b": "correct", "c": "correct", "d": "incorrect"}
    rows = [
        ("a", "verdict", {"label": "correct", "confidence": 0.9}),
        ("b", "verdict", {"label": "correct", "confidence": 0.7}),
        ("c", "verdict", {"label": "incorrect", "confidence": 0.6}),
        ("d", "verdict", {"label": "incorrect", "confidence": 0.8}),
        ("a", "evidence", {"quotes": [_quote(), _quote(False)]}),
        ("a", "debate", {"sides": [{"label": "correct", "quotes": [_quote()]}, {"label": "incorrect", "quotes": []}]}),
        ("b", "debate", {"sides": [{"label": "correct", "quotes": []}, {"label": "incorrect", "quotes": []}]}),
        ("a", "consultancy", {"label": "correct", "quotes": [], "assigned_correct": True}),
        ("z", "verdict", {"label": "correct", "confidence": 0.9}),  # not a main item: ignored
    ]
    report = assistance_quality(gold, rows)
    verdict = report["verdict"]
    assert verdict["n"] == 4 and verdict["accuracy"] == 0.75 and verdict["majority_rate"] == 0.75
    assert verdict["brier"] == round((0.1**2 + 0.3**2 + 0.6**2 + 0.2**2) / 4, 4)
    # bins: [0.6,0.7): c wrong 0.6 -> 0.6; [0.7,0.8): b right 0.7 -> 0.3; [0.8,0.9): d 0.2; [0.9,1]: a 0.1
    assert verdict["ece"] == round((0.6 + 0.3 + 0.2 + 0.1) / 4, 4)
    assert [row["n"] for row in verdict["reliability"]] == [1, 1, 1, 1]
    assert report["quotes"] == {"total": 3, "verified": 2, "verification_rate": round(2 / 3, 4)}
    # a: only the gold side ("correct") quotes -> revealing; b: neither side quotes -> not
    assert report["debate"] == {
        "sides": 4, "sides_without_support": 3, "debates_with_unsupported_side": 2, "revealing_debates": 1
    }
    assert report["consultancy"] == {
        "items": 1, "assigned_correct_share": 1.0, "without_support": 1, "without_support_when_wrong": 0
    }
    assert any("In 1 of 2 debates only the side arguing the right answer" in w for w in report["warnings"])
    assert any("majority rate" in w for w in report["warnings"])
    text = format_quality(report)
    assert "accuracy 0.750 vs majority rate 0.750" in text and "WARNING" in text


@pytest.mark.parametrize(("accuracy", "warned"), [(0.54, True), (0.549, True), (0.56, False), (0.85, False)])
def test_majority_warning_fires_within_five_points(accuracy: float, warned: bool) -> None:
    n = 1000
    gold = {f"i{i}": "correct" if i < n // 2 else "incorrect" for i in range(n)}
    right = round(accuracy * n)
    rows = [
        (item_id, "verdict", {"label": g if i < right else ("incorrect" if g == "correct" else "correct"), "confidence": 0.7})
        for i, (item_id, g) in enumerate(gold.items())
    ]
    report = assistance_quality(gold, rows)
    assert report["verdict"]["majority_rate"] == 0.5
    assert any("majority rate" in w for w in report["warnings"]) is warned
