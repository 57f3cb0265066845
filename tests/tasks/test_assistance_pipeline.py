"""generate_assistance: content contract, provenance, determinism, resumability, imports."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from tasks.assistance import (
    KINDS,
    AssistanceConfig,
    AssistanceRecord,
    content_hash,
    generate_assistance,
    normalise,
    verdict_report,
)
from tasks.items import Debate, DebateSide, Item, Quote, Source

LABELS = ["correct", "incorrect"]
HASHING = AssistanceConfig(encoder="hashing", folds=3, seed=11)
TOPICS = ["sea level", "arctic ice", "co2 level", "ocean heat", "glacier mass", "snow cover"]


def assist_bank(n: int = 30) -> list[Item]:
    """Claims whose wording ('rising'/'falling') predicts the gold label, with sources."""
    rng = random.Random(0)
    items = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        true = rng.random() < 0.6
        text = (
            f"Measurements show the {topic} rising steadily since 1950. "
            f"Record {i} was set in {1900 + i}, a year of change. "
            f"Some writers claim the {topic} is falling; the data disagree."
        )
        items.append(
            Item(
                item_id=f"it-{i:03d}",
                claim=f"The {topic} is {'rising' if true else 'falling'} (record {i}).",
                gold_label="correct" if true else "incorrect",
                sources=[
                    Source(title=topic.title(), text=text),
                    Source(title="Other", text=f"Unrelated note number {i}."),
                ],
            )
        )
    return items


@pytest.fixture(scope="module")
def assist_records() -> list[AssistanceRecord]:
    return list(generate_assistance(assist_bank(), LABELS, HASHING))


def _check_quote(quote: dict, item: Item) -> None:
    assert set(quote) == {"text", "source_index", "source_title", "verified", "start", "end", "score"}
    source = item.sources[quote["source_index"]]
    assert quote["source_title"] == source.title
    assert quote["verified"] is True
    assert normalise(source.text[quote["start"] : quote["end"]]) == normalise(quote["text"])


def test_every_item_gets_every_kind_in_order_with_the_content_contract(assist_records: list[AssistanceRecord]) -> None:
    items = {it.item_id: it for it in assist_bank()}
    assert [(r.item_id, r.kind) for r in assist_records] == [(i, k) for i in items for k in KINDS]
    for record in assist_records:
        item, content = items[record.item_id], record.content
        if record.kind == "verdict":
            assert set(content) == {"label", "confidence"} and content["label"] in LABELS
            assert 0.5 <= content["confidence"] <= 1.0
        elif record.kind == "evidence":
            assert len(content["quotes"]) == 3
            for quote in content["quotes"]:
                _check_quote(quote, item)
        elif record.kind == "reasoning":
            assert set(content) == {"label", "confidence", "reasoning", "quotes"}
            assert content["label"] in content["reasoning"] and "%" not in content["reasoning"]
        elif record.kind == "consultancy":
            assert set(content) == {"label", "argument", "quotes", "assigned_correct"}
            assert content["assigned_correct"] == (content["label"] == item.gold_label)
            for quote in content["quotes"]:
                _check_quote(quote, item)
        else:
            sides = content["sides"]
            assert [t["side"] for t in content["transcript"]["turns"]] == [0, 1]
            assert [s["label"] for s in sides] == LABELS
            assert all(s["argument"] for s in sides)
            texts = [[q["text"] for q in s["quotes"]] for s in sides]
            assert not set(texts[0]) & set(texts[1])  # each side has its own quotes
            for side in sides:
                for quote in side["quotes"]:
                    _check_quote(quote, item)
        json.dumps(content, allow_nan=False)


def test_provenance_fields(assist_records: list[AssistanceRecord]) -> None:
    record = assist_records[0]
    assert record.content_hash == content_hash(record.content)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", record.content_hash)
    assert record.generator == "crossfit-logreg" and record.model == "hashing-bow-512"
    assert record.model_version.startswith("sha256:")
    assert record.seed == 11 and record.parameters["folds"] == 3 and record.parameters["encoder"] == "hashing"
    assert {"numpy", "scikit-learn", "torch", "transformers"} <= set(record.package_versions)
    assert {r.generator for r in assist_records} == {"crossfit-logreg", "embedding-rank", "template"}


def test_verdict_is_learnt_from_other_items(assist_records: list[AssistanceRecord]) -> None:
    report = verdict_report(assist_bank(), assist_records)
    assert report["n"] == 30 and report["accuracy"] >= 0.7  # 'rising'/'falling' is learnable
    assert report["accuracy"] > report["majority_rate"] and report["beats_majority"]
    assert set(report) >= {"accuracy", "brier", "ece", "majority_rate", "by_bin", "by_quintile"}


def test_same_seed_same_records_and_item_order_does_not_matter(assist_records: list[AssistanceRecord]) -> None:
    shuffled = assist_bank()
    random.Random(4).shuffle(shuffled)
    again = {(r.item_id, r.kind): r for r in generate_assistance(shuffled, LABELS, HASHING)}
    assert again == {(r.item_id, r.kind): r for r in assist_records}


def test_a_different_seed_changes_the_folds() -> None:
    other = list(generate_assistance(assist_bank(), LABELS, HASHING.model_copy(update={"seed": 12})))
    first = list(generate_assistance(assist_bank(), LABELS, HASHING))
    assert [r.content for r in other if r.kind == "verdict"] != [r.content for r in first if r.kind == "verdict"]


def test_resume_emits_exactly_the_missing_records(assist_records: list[AssistanceRecord]) -> None:
    rng = random.Random(2)
    skip = {(r.item_id, r.kind) for r in assist_records if rng.random() < 0.6}
    calls: list[tuple[int, int]] = []
    resumed = list(
        generate_assistance(assist_bank(), LABELS, HASHING, skip=skip, progress=lambda d, t: calls.append((d, t)))
    )
    assert resumed == [r for r in assist_records if (r.item_id, r.kind) not in skip]
    assert calls == [(i, 30) for i in range(1, 31)]


def test_everything_skipped_yields_nothing_without_loading_models() -> None:
    items = assist_bank(4)
    skip = {(it.item_id, kind) for it in items for kind in KINDS}
    config = AssistanceConfig(encoder_path="/does/not/exist")  # would fail if loaded
    assert list(generate_assistance(items, LABELS, config, skip=skip)) == []


def _imported_item() -> Item:
    return Item(
        item_id="ext-1",
        claim="Arctic ice is shrinking.",
        gold_label="correct",
        sources=[
            Source(title="Arctic", text="Arctic sea ice extent has declined since 1979."),
            Source(title="Other", text="Penguins live in the south."),
        ],
        ai_label="incorrect",
        ai_confidence=0.83,
        ai_reasoning="An LLM wrote this.",
        ai_evidence=[
            Quote(text="arctic sea ice extent has DECLINED", source="Arctic"),
            Quote(text="Ice grew in 2012", source=0),
        ],
        debate=Debate(
            sides=[
                DebateSide(
                    label="correct", argument="It shrank.", quotes=[Quote(text="declined since 1979", source=0)]
                ),
                DebateSide(
                    label="incorrect", argument="Penguins.", quotes=[Quote(text="polar bears thrive", source=1)]
                ),
            ]
        ),
        metadata={"ai_model": "some-llm", "ai_model_version": "2025-01"},
    )


def test_imported_ai_fields_are_used_and_their_quotes_verified() -> None:
    items = [*assist_bank(12), _imported_item()]
    records = {(r.item_id, r.kind): r for r in generate_assistance(items, LABELS, HASHING)}
    verdict = records[("ext-1", "verdict")]
    assert verdict.content == {"label": "incorrect", "confidence": 0.83}
    assert (verdict.generator, verdict.model, verdict.model_version) == ("imported", "some-llm", "2025-01")
    quotes = records[("ext-1", "evidence")].content["quotes"]
    assert [q["verified"] for q in quotes] == [True, False]  # the fabricated one is flagged
    assert items[-1].sources[0].text[quotes[0]["start"] : quotes[0]["end"]] == "Arctic sea ice extent has declined"
    reasoning = records[("ext-1", "reasoning")]
    assert reasoning.generator == "imported" and reasoning.content["reasoning"] == "An LLM wrote this."
    assert reasoning.content["label"] == "incorrect" and reasoning.content["quotes"] == quotes
    sides = records[("ext-1", "debate")].content["sides"]
    assert records[("ext-1", "debate")].generator == "imported"
    assert [s["argument"] for s in sides] == ["It shrank.", "Penguins."]
    assert [q["verified"] for s in sides for q in s["quotes"]] == [True, False]
    assert verdict_report([items[-1]])["accuracy"] == 0.0  # imported verdict, no records needed


def test_imported_verdict_without_reasoning_gets_a_template_that_says_so() -> None:
    item = _imported_item().model_copy(update={"ai_reasoning": None, "ai_evidence": None, "debate": None})
    records = {(r.item_id, r.kind): r for r in generate_assistance([*assist_bank(12), item], LABELS, HASHING)}
    reasoning = records[("ext-1", "reasoning")]
    assert reasoning.generator == "template"
    assert reasoning.content["reasoning"].startswith(f"Verdict: the claim is {item.ai_label}.")
    assert records[("ext-1", "evidence")].generator == "embedding-rank"


def test_three_labels_degrade_to_the_two_most_probable_for_debate() -> None:
    items = assist_bank(24)
    items = [it.model_copy(update={"gold_label": "unclear"}) if i % 5 == 0 else it for i, it in enumerate(items)]
    labels = ["correct", "incorrect", "unclear"]
    records = list(generate_assistance(items, labels, HASHING))
    for record in records:
        if record.kind == "debate":
            sides = [s["label"] for s in record.content["sides"]]
            assert len(sides) == 2 and len(set(sides)) == 2 and set(sides) <= set(labels)
        if record.kind == "verdict":
            assert record.content["label"] in labels


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gold_label": "maybe"}, "gold_label 'maybe' is not in"),
        ({"ai_label": "maybe", "ai_confidence": 0.7}, "ai_label 'maybe' is not in"),
        ({"ai_label": "correct"}, "must be given together"),
        ({"ai_reasoning": "text"}, "ai_reasoning needs ai_label"),
    ],
)
def test_inconsistent_items_fail_before_any_work(change: dict, message: str) -> None:
    items = assist_bank(6)
    items[2] = items[2].model_copy(update=change)
    with pytest.raises(ValueError, match=message):
        generate_assistance(items, LABELS, HASHING)  # raises eagerly, not on first next()


def test_duplicate_ids_and_bad_label_sets_fail() -> None:
    items = assist_bank(3)
    with pytest.raises(ValueError, match="duplicate item_id"):
        generate_assistance([*items, items[0]], LABELS, HASHING)
    with pytest.raises(ValueError, match="at least two distinct labels"):
        generate_assistance(items, ["correct"], HASHING)


def test_config_rejects_unknown_settings_and_every_setting_is_documented() -> None:
    with pytest.raises(ValueError):
        AssistanceConfig(k=3)  # type: ignore[call-arg]
    docs = (Path(__file__).resolve().parents[2] / "docs" / "assistance.md").read_text(encoding="utf-8")
    missing = [name for name in AssistanceConfig.model_fields if f"`{name}`" not in docs]
    assert not missing, f"settings not documented in docs/assistance.md: {missing}"


def test_item_without_sources_gets_empty_quotes_and_still_a_verdict() -> None:
    bare = Item(item_id="bare", claim="The sea level is rising (record 99).", gold_label="correct")
    records = {(r.item_id, r.kind): r for r in generate_assistance([*assist_bank(12), bare], LABELS, HASHING)}
    assert records[("bare", "evidence")].content == {"quotes": []}
    assert records[("bare", "verdict")].content["label"] in LABELS
    assert "No source passages" in records[("bare", "reasoning")].content["reasoning"]
    assert all(side["quotes"] == [] for side in records[("bare", "debate")].content["sides"])
    json.dumps(records[("bare", "debate")].to_dict(), allow_nan=False)
