"""Debate transcripts and the write_turn hook (fast: hashing encoder on the demo bank)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tasks.assistance import AssistanceConfig, generate_assistance, normalise
from tasks.assistance.debate import WriteTurn, debate_transcript, leaks, template_turn
from tasks.importers import read_item_bank
from tasks.items import Item

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_items.jsonl"
LABELS = ["correct", "incorrect"]


def demo_items(n: int = 20) -> list[Item]:
    items = [it for it in read_item_bank(DEMO, "jsonl", labels=LABELS) if it.role == "main"]
    return items[:n]


def _quote(text: str) -> dict[str, Any]:
    return {"text": text, "source_index": 0, "source_title": "S", "verified": True, "start": 0, "end": 1, "score": 0.5}


def test_three_rounds_spread_quotes_over_turns_without_repeats() -> None:
    config = AssistanceConfig(encoder="hashing", folds=3, seed=2, debate_rounds=3, k_quotes=3)
    records = [r for r in generate_assistance(demo_items(), LABELS, config, kinds=["debate"])]
    assert {r.kind for r in records} == {"debate"} and len(records) == 20
    for record in records:
        turns = record.content["transcript"]["turns"]
        assert [t["side"] for t in turns] == [0, 1] * 3
        for side in (0, 1):
            own = [normalise(q["text"]) for t in turns if t["side"] == side for q in t["quotes"]]
            assert own == [normalise(q["text"]) for q in record.content["sides"][side]["quotes"]]
        assert all(not leaks(t["text"]) for t in turns)


def test_template_turns_say_plainly_when_a_side_has_nothing() -> None:
    assert template_turn(0, "correct", [], []) == (
        "The claim is correct. I found no passage in the sources that directly supports this answer."
    )
    history = [{"side": 0, "label": "correct", "text": "x", "quotes": [_quote("a")]}]
    assert "no further passage" in template_turn(0, "correct", [], history)
    history = [{"side": 0, "label": "correct", "text": "x", "quotes": []}]
    assert "still found no passage" in template_turn(0, "correct", [], history)
    text = template_turn(1, "incorrect", [_quote("a"), {**_quote("b"), "verified": False}], [])
    assert text.startswith("The claim is incorrect.") and "second passage could not be found" in text


def test_write_turn_hook_gets_history_and_leaking_text_is_replaced() -> None:
    calls: list[tuple[int, str, int, int]] = []

    def writer(side: int, label: str, quotes: Sequence[dict[str, Any]], history: Sequence[dict[str, Any]]) -> str:
        calls.append((side, label, len(quotes), len(history)))
        if len(history) == 1:
            return "I am 80% sure the model leans my way."  # leaks: must not be stored
        return f"Side {side + 1} argues for {label} after {len(history)} turns."

    sides = ([_quote("a"), _quote("b")], [_quote("c")])
    content, written = debate_transcript(("correct", "incorrect"), sides, 2, writer)
    assert written and [c[3] for c in calls] == [0, 1, 2, 3]
    texts = [t["text"] for t in content["transcript"]["turns"]]
    assert texts[0] == "Side 1 argues for correct after 0 turns."
    assert texts[1] == template_turn(1, "incorrect", [_quote("c")], content["transcript"]["turns"][:1])
    assert content["sides"][0]["argument"] == texts[0]


def test_turn_writer_factory_is_used_by_the_pipeline_for_debate_and_consultancy() -> None:
    seen: list[str] = []

    def factory(item: Item) -> WriteTurn:
        def write(side: int, label: str, quotes: Sequence[dict[str, Any]], history: Sequence[dict[str, Any]]) -> str:
            seen.append(item.item_id)
            return f"Written for {label}."

        return write

    config = AssistanceConfig(encoder="hashing", folds=3, seed=2)
    records = list(generate_assistance(demo_items(8), LABELS, config, kinds=["debate", "consultancy"], turn_writer=factory))
    assert all(r.generator == "generative" for r in records)
    assert records[0].content["sides"][0]["argument"] == "Written for correct."
    consult = [r for r in records if r.kind == "consultancy"]
    assert all(r.content["argument"] == f"Written for {r.content['label']}." for r in consult)
    assert len(set(seen)) == 8


def test_unknown_kinds_and_zero_rounds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown assistance kinds"):
        generate_assistance(demo_items(4), LABELS, AssistanceConfig(encoder="hashing"), kinds=["verdict", "oracle"])
    with pytest.raises(ValueError, match="at least one round"):
        debate_transcript(("correct", "incorrect"), ([], []), 0)


def test_with_three_labels_a_controlled_verdict_is_always_one_of_the_debated_labels() -> None:
    from tasks.assistance.controlled import ControlledVerdict

    labels = ["correct", "incorrect", "unclear"]
    items = [it.model_copy(update={"gold_label": "unclear"}) if i % 4 == 0 else it for i, it in enumerate(demo_items(24))]
    config = AssistanceConfig(encoder="hashing", folds=3, seed=2, verdict=ControlledVerdict(accuracy=0.5))
    records = {(r.item_id, r.kind): r for r in generate_assistance(items, labels, config, kinds=["verdict", "debate"])}
    for item in items:
        verdict = records[(item.item_id, "verdict")].content["label"]
        sides = [s["label"] for s in records[(item.item_id, "debate")].content["sides"]]
        assert verdict in sides and len(set(sides)) == 2
    assert sum(records[(it.item_id, "verdict")].content["label"] == it.gold_label for it in items) == 12
