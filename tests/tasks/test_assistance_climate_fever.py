"""The assistance pipeline on real text: Climate-FEVER SUPPORTS/REFUTES claims.

Skips when ../shared/datasets/climate-fever.jsonl is absent (a clone without it passes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.assistance import KINDS, AssistanceConfig, Encoder, generate_assistance, normalise, verdict_report
from tasks.importers import read_item_bank
from tasks.items import Item

DATASET = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "climate-fever.jsonl"
GOLD = {"SUPPORTS": "correct", "REFUTES": "incorrect"}
LABELS = ["correct", "incorrect"]


def climate_fever_items(limit: int) -> list[Item]:
    """The first ``limit`` SUPPORTS/REFUTES claims, through the official adapter."""
    if not DATASET.exists():
        pytest.skip(f"Climate-FEVER dataset not found at {DATASET} (expected in ../shared/datasets)")
    return list(read_item_bank(DATASET, "climate-fever", labels=LABELS))[:limit]


def test_real_model_assistance_on_climate_fever() -> None:
    items = climate_fever_items(30)
    config = AssistanceConfig(folds=3, seed=3)
    encoder = Encoder()
    records = list(generate_assistance(items, LABELS, config, encoder=encoder))
    assert len(records) == len(KINDS) * len(items)
    by_id = {it.item_id: it for it in items}
    for record in records:
        quotes = record.content.get("quotes", []) + [q for s in record.content.get("sides", []) for q in s["quotes"]]
        for quote in quotes:  # every generated quote is a verified span of its source
            text = by_id[record.item_id].sources[quote["source_index"]].text
            assert quote["verified"] and normalise(text[quote["start"] : quote["end"]]) == normalise(quote["text"])
    evidence = [r for r in records if r.kind == "evidence"]
    # the top-ranked quote is at least as similar to the claim as the others
    assert all(r.content["quotes"][0]["score"] >= r.content["quotes"][-1]["score"] for r in evidence)
    assert {r.model for r in records} == {encoder.model}
    report = verdict_report(items, records)
    assert report["n"] == 30 and 0.0 <= report["ece"] <= 1.0


def test_hashing_stand_in_runs_on_climate_fever_and_is_reproducible() -> None:
    items = climate_fever_items(120)
    config = AssistanceConfig(encoder="hashing", folds=3)
    first = [r.content_hash for r in generate_assistance(items, LABELS, config)]
    second = [r.content_hash for r in generate_assistance(items, LABELS, config)]
    assert first == second and len(set(first)) > 300


def test_debate_and_consultancy_quote_only_sentences_labelled_for_their_side() -> None:
    import json

    items = climate_fever_items(80)
    raw = {f"cf-{r['claim_id']}": r for r in map(json.loads, DATASET.read_text(encoding="utf-8").splitlines()) if r}
    human = {"SUPPORTS": "correct", "REFUTES": "incorrect", "NOT_ENOUGH_INFO": None}
    config = AssistanceConfig(encoder="hashing", folds=3, seed=1)
    records = list(generate_assistance(items, LABELS, config, kinds=["debate", "consultancy"]))
    quoted = 0
    for record in records:
        sides = record.content["sides"] if record.kind == "debate" else [record.content]
        labels = [human[e["evidence_label"]] for e in raw[record.item_id]["evidences"]]
        for side in sides:
            for quote in side["quotes"]:  # each source is one evidence sentence, in order
                assert labels[quote["source_index"]] == side["label"], (record.item_id, quote["text"])
                quoted += 1
            if not side["quotes"]:
                assert side["label"] not in labels  # no sentence of the item is labelled for this side
        assert record.parameters["stance_source"] == "annotations"
    assert quoted > 80
