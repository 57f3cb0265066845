"""Stance annotations decide quote stances when an item bank gives them (fast: hashing encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tasks.assistance import AssistanceConfig, AssistanceRecord, generate_assistance, normalise, split_sentences
from tasks.assistance.controlled import ControlledVerdict
from tasks.assistance.verdict import crossfit
from tasks.importers import read_item_bank
from tasks.items import Item, Quote, SentenceStance, Source
from tasks.stances import annotated_stance, annotation_spans, is_annotated, stance_problems

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_items.jsonl"
LABELS = ["correct", "incorrect"]
TEXT = "Greenland lost ice in 2019. Antarctica gained sea ice until 2014. Both are large."


def _item(stances: list[SentenceStance] | None, **extra: Any) -> Item:
    return Item(item_id="a", claim="Ice sheets are shrinking.", gold_label="correct",
                sources=[Source(title="Ice", text=TEXT, stances=stances)], **extra)


def test_a_passage_takes_the_one_label_of_the_annotations_it_overlaps() -> None:
    item = _item([SentenceStance(text="Greenland lost ice in 2019.", label="correct"),
                  SentenceStance(text="Antarctica gained sea ice", label="incorrect"),
                  SentenceStance(text="until 2014.", label=None)])
    spans = annotation_spans(item)
    assert [(s.start, s.end, s.label) for s in spans] == [(0, 26, "correct"), (28, 53, "incorrect"), (54, 64, None)]  # word spans, as for quotes
    assert annotated_stance(spans, 0, 0, 27) == "correct"
    assert annotated_stance(spans, 0, 10, 20) == "correct"  # part of an annotated passage
    assert annotated_stance(spans, 0, 28, 65) == "incorrect"  # a None annotation names no label
    assert annotated_stance(spans, 0, 0, 65) is None  # two different labels: favours neither
    assert annotated_stance(spans, 0, 66, len(TEXT)) is None  # not annotated
    assert annotated_stance(spans, 1, 0, 27) is None and annotated_stance(spans, 0, None, None) is None


def test_an_item_is_annotated_by_any_stance_list_even_an_empty_one() -> None:
    assert not is_annotated(_item(None))
    assert is_annotated(_item([]))


def test_stance_problems_name_each_field() -> None:
    item = _item([SentenceStance(text="Greenland lost ice", label="correct"),
                  SentenceStance(text="lost ice in 2019", label="incorrect"),
                  SentenceStance(text="Mars lost ice", label="maybe")])
    assert stance_problems(item, LABELS) == [
        ("sources.0.stances.1.text", "overlaps sources.0.stances.0 (annotate each passage once)"),
        ("sources.0.stances.2.text", "is not a passage of this source's text (copy it word for word)"),
        ("sources.0.stances.2.label", "'maybe' is not in the label set ['correct', 'incorrect']"),
    ]
    assert len(stance_problems(item)) == 2  # without a label set, labels are not checked


def test_the_pipeline_refuses_a_bad_annotation_before_any_work() -> None:
    good = _item([SentenceStance(text="Greenland lost ice in 2019.", label="correct")])
    bad = _item([SentenceStance(text="Greenland gained ice.", label="correct")]).model_copy(update={"item_id": "b"})
    with pytest.raises(ValueError, match=r"item 'b': sources\.0\.stances\.0\.text: is not a passage"):
        generate_assistance([good, bad], LABELS, AssistanceConfig(encoder="hashing"))


def _demo(strip: bool) -> list[Item]:
    items = [it for it in read_item_bank(DEMO, "jsonl", labels=LABELS) if it.role == "main"]
    if strip:
        items = [it.model_copy(update={"sources": [s.model_copy(update={"stances": None}) for s in it.sources]}) for it in items]
    return items


def _quote_labels(item: Item, quotes: list[dict[str, Any]]) -> list[str | None]:
    """Each quote's annotated label, found by normalised text (independent of the offsets)."""
    by_text = {normalise(s.text): s.label for src in item.sources for s in src.stances or []}
    return [by_text[normalise(q["text"])] for q in quotes]


def _debates(items: list[Item]) -> list[AssistanceRecord]:
    config = AssistanceConfig(encoder="hashing", folds=3, seed=4, verdict=ControlledVerdict(accuracy=0.8))
    return list(generate_assistance(items, LABELS, config, kinds=["debate", "reasoning"]))


def test_annotations_override_the_model_for_every_debate_quote() -> None:
    annotated, stripped = _demo(strip=False), _demo(strip=True)
    by_id = {it.item_id: it for it in annotated}
    records = _debates(annotated)
    for record in (r for r in records if r.kind == "debate"):
        item = by_id[record.item_id]
        for side in record.content["sides"]:
            assert set(_quote_labels(item, side["quotes"])) <= {side["label"]}, record.item_id
            favouring = {normalise(s.text) for src in item.sources for s in src.stances or [] if s.label == side["label"]}
            assert len(side["quotes"]) == min(3, len(favouring))  # every favouring sentence is a candidate here
    model_labels = [
        label
        for r in _debates(stripped)
        if r.kind == "debate"
        for side in r.content["sides"]
        for label in _quote_labels(by_id[r.item_id], side["quotes"]) if label != side["label"]
    ]
    assert model_labels  # without annotations the model quotes sentences the annotations disagree with


def test_reasoning_on_an_annotated_item_states_the_annotated_stances() -> None:
    item = Item(item_id="r", claim="Greenland gained ice in 2019.", gold_label="incorrect",
                sources=[Source(title="Ice", text=TEXT, stances=[
                    SentenceStance(text="Greenland lost ice in 2019.", label="incorrect"),
                    SentenceStance(text="Antarctica gained sea ice until 2014.", label="correct")])],
                ai_evidence=[Quote(text="greenland lost ice", source=0), Quote(text="Both are large.", source=0)])
    others = [_item(None).model_copy(update={"item_id": f"o{i}", "gold_label": LABELS[i % 2]}) for i in range(4)]
    records = list(generate_assistance([item, *others], LABELS, AssistanceConfig(encoder="hashing", folds=2),
                                       kinds=["reasoning"]))
    reasoning = next(r for r in records if r.item_id == "r")
    assert reasoning.parameters["stance_source"] == "annotations"
    text, label = reasoning.content["reasoning"], reasoning.content["label"]
    if label == "incorrect":
        assert "Quote 1 supports this verdict" in text
    else:
        assert 'Quote 1 points the other way, toward "incorrect"' in text
    assert "Quote 2 favours neither answer" in text  # an imported quote outside every annotation


def test_crossfit_records_the_label_shares_of_each_training_set() -> None:
    rng = np.random.default_rng(3)
    gold = [LABELS[int(g)] for g in rng.integers(0, 2, 40)]
    fit = crossfit(rng.normal(size=(40, 4)), gold, LABELS, folds=4, seed=1)
    for i in range(40):
        train = [gold[j] for j in fit.train_index[fit.fold_of[i]]]
        assert i not in fit.train_index[fit.fold_of[i]]
        assert np.allclose(fit.base_rate(i), [train.count(label) / len(train) for label in LABELS])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("created by L. L. Zamenhof. He published it.", ["created by L. L. Zamenhof.", "He published it."]),
        ("By convention, 0! equals 1. Next.", ["By convention, 0! equals 1.", "Next."]),
        ("It took effect at 11 a.m. that day. Then peace.", ["It took effect at 11 a.m. that day.", "Then peace."]),
        ("Made for King Ptolemy V. The decree has three scripts.", ["Made for King Ptolemy V.", "The decree has three scripts."]),
        ("See Dr. Smith, e.g. on Monday. Done.", ["See Dr. Smith, e.g. on Monday.", "Done."]),
        ("Warming of 1.5 degrees. 2007 was warm.", ["Warming of 1.5 degrees.", "2007 was warm."]),
    ],
)
def test_sentences_do_not_end_at_initials_abbreviations_or_factorials(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text)] == expected


def test_quality_gate_says_where_stances_come_from_and_warns_about_the_model() -> None:
    from tasks.assistance import assistance_quality, format_quality

    gold = {"a": "correct", "b": "incorrect", "c": "correct"}
    debate = {"sides": [{"label": "correct", "quotes": []}, {"label": "incorrect", "quotes": []}]}
    rows = [(i, "debate", debate) for i in gold]
    mixed = assistance_quality(gold, rows, annotated={"a", "b", "z"})
    assert mixed["stances"] == {"annotated_items": 2, "model_items": 1}
    assert any("Quote stances of 1 of 3 items come from the model scorer" in w for w in mixed["warnings"])
    assert "quote stances: from annotations on 2 items, from the model scorer on 1" in format_quality(mixed)
    complete = assistance_quality(gold, rows, annotated=set(gold))
    assert not any("model scorer" in w for w in complete["warnings"])
    evidence_only = assistance_quality(gold, [(i, "evidence", {"quotes": []}) for i in gold], annotated=set())
    assert not any("model scorer" in w for w in evidence_only["warnings"])  # no kind states a stance
    assert assistance_quality(gold, rows)["stances"] is None


def test_revealing_debates_are_those_where_only_the_gold_side_quotes() -> None:
    from tasks.assistance import assistance_quality

    def debate(correct: int, incorrect: int) -> dict[str, Any]:
        return {"sides": [{"label": "correct", "quotes": [{"verified": True}] * correct},
                          {"label": "incorrect", "quotes": [{"verified": True}] * incorrect}]}

    gold = {f"i{k}": "correct" for k in range(8)}
    shapes = [(1, 0), (2, 0), (0, 1), (1, 1), (0, 0), (1, 1), (1, 1), (1, 1)]  # revealing: the first two only
    report = assistance_quality(gold, [(f"i{k}", "debate", debate(*shape)) for k, shape in enumerate(shapes)])
    assert report["debate"]["revealing_debates"] == 2
    assert any("In 2 of 8 debates only the side arguing the right answer" in w for w in report["warnings"])  # 2 >= 0.25 * 8
    shapes[1] = (2, 2)
    report = assistance_quality(gold, [(f"i{k}", "debate", debate(*shape)) for k, shape in enumerate(shapes)])
    assert report["debate"]["revealing_debates"] == 1 and not any("debates only" in w for w in report["warnings"])
