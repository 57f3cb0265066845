"""Debate, reasoning and consultancy say only what the stance scorer supports, and leak nothing.

Properties are checked on every item of the demo bank (real encoder, controlled AI as in
data/demo_study.yaml; every source sentence carries a stance annotation) and of a
Climate-FEVER slice imported without its sentence labels (real encoder, cross-fitted AI,
so the model scores every stance). The stance of each quote is recomputed here from the
primitives: on an annotated item, the label of the annotation whose text contains the
quote (or that the quote contains) in the quote's source; otherwise, with the encoder and
the item's out-of-fold model, lean = P(label | claim, quote alone) - the label's share of
that model's training items, favoured label = argmax lean when it exceeds the margin.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tasks.assistance import AssistanceConfig, AssistanceRecord, generate_assistance, get_encoder, normalise
from tasks.assistance.content import Prepared, prepare
from tasks.assistance.controlled import ControlledVerdict
from tasks.assistance.encoder import TextEncoder
from tasks.assistance.stance import STANCE_MARGIN
from tasks.assistance.verdict import pair_features
from tasks.importers import read_item_bank
from tasks.items import Item

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo_items.jsonl"
CLIMATE = ROOT.parent / "shared" / "datasets" / "climate-fever.jsonl"
LABELS = ["correct", "incorrect"]

#: Independent of the library's own LEAK pattern: numbers with %, confidence talk, model talk.
FORBIDDEN = re.compile(
    r"\d+(\.\d+)?\s*%|percent|probab|confiden|likel|chance|odds|\blean|model|classifier|similarity|cosine|score|\b0\.\d",
    re.IGNORECASE,
)


class Run:
    """Records of one pipeline run plus the batch results to recompute stances."""

    def __init__(self, items: list[Item], config: AssistanceConfig, encoder: TextEncoder) -> None:
        self.items = {it.item_id: it for it in items}
        self.encoder = encoder
        self.records = list(generate_assistance(items, LABELS, config, encoder=encoder))
        self.by = {(r.item_id, r.kind): r for r in self.records}
        self.prepared: Prepared = prepare(
            items, LABELS, encoder, k_quotes=config.k_quotes, candidates=config.candidates, folds=config.folds, seed=config.seed
        )
        texts = sorted({q["text"] for r in self.records for q in _all_quotes(r)})
        self.vecs = dict(zip(texts, encoder.encode(texts), strict=True))  # one batch, not one call per quote

    def favoured(self, item_id: str, quote: dict[str, Any]) -> str | None:
        item = self.items[item_id]
        if any(source.stances is not None for source in item.sources):
            return _annotated(item, quote)
        state = self.prepared.states[item_id]
        vec = self.vecs[quote["text"]][None, :]
        rows = pair_features(state.claim_vec[None, :], vec, state.sim_summary[None, :])
        fit = self.prepared.fit
        canonical = sorted(self.items.values(), key=lambda it: it.item_id)
        train_gold = [canonical[i].gold_label for i in fit.train_index[fit.fold_of[state.index]]]
        rates = np.array([train_gold.count(label) / len(train_gold) for label in LABELS])
        lean = fit.predict_for(state.index, rows)[0] - rates
        best = int(np.argmax(lean))
        return LABELS[best] if round(float(lean[best]), 8) > STANCE_MARGIN else None

    def of_kind(self, kind: str) -> list[AssistanceRecord]:
        return [r for r in self.records if r.kind == kind]


def _annotated(item: Item, quote: dict[str, Any]) -> str | None:
    """The label of the annotations in the quote's source that contain it or that it contains."""
    if quote["source_index"] < 0:
        return None
    text = normalise(quote["text"])
    named = {
        stance.label
        for stance in item.sources[quote["source_index"]].stances or []
        if stance.label is not None and (text in normalise(stance.text) or normalise(stance.text) in text)
    }
    return named.pop() if len(named) == 1 else None


@pytest.fixture(scope="module")
def demo_run() -> Run:
    items = [it for it in read_item_bank(DEMO, "jsonl", labels=LABELS) if it.role != "attention_check"]
    config = AssistanceConfig(seed=20261125, verdict=ControlledVerdict(accuracy=0.85), debate_rounds=2)
    return Run(items, config, get_encoder("transformers"))


@pytest.fixture(scope="module")
def climate_run() -> Run:
    if not CLIMATE.exists():
        pytest.skip(f"Climate-FEVER dataset not found at {CLIMATE}")
    items = list(read_item_bank(CLIMATE, "climate-fever", labels=LABELS, stances=False))[:40]
    return Run(items, AssistanceConfig(folds=3, seed=5), get_encoder("transformers"))


@pytest.fixture(params=["demo", "climate"])
def run(request: pytest.FixtureRequest) -> Run:
    return request.getfixturevalue(f"{request.param}_run")  # type: ignore[no-any-return]


def _all_quotes(record: AssistanceRecord) -> list[dict[str, Any]]:
    content = record.content
    if record.kind == "debate":
        return [q for side in content["sides"] for q in side["quotes"]]
    return list(content.get("quotes", []))


def _texts(quotes: list[dict[str, Any]]) -> list[str]:
    return [normalise(q["text"]) for q in quotes]


def test_debate_text_never_states_a_probability_confidence_or_lean(run: Run) -> None:
    for record in run.of_kind("debate"):
        texts = [s["argument"] for s in record.content["sides"]]
        texts += [t["text"] for t in record.content["transcript"]["turns"]]
        for text in texts:
            assert not FORBIDDEN.search(text), (record.item_id, text)


def test_every_debate_quote_favours_its_own_side_by_the_scorer(run: Run) -> None:
    checked = 0
    for record in run.of_kind("debate"):
        for side in record.content["sides"]:
            for quote in side["quotes"]:
                assert run.favoured(record.item_id, quote) == side["label"], (record.item_id, quote["text"])
                checked += 1
    assert checked >= len(run.of_kind("debate"))  # most debates quote something


def test_no_quote_appears_twice_within_or_across_sides_or_turns(run: Run) -> None:
    for record in run.of_kind("debate"):
        sides = record.content["sides"]
        all_quotes = _texts(sides[0]["quotes"]) + _texts(sides[1]["quotes"])
        assert len(all_quotes) == len(set(all_quotes)), record.item_id
        turns = record.content["transcript"]["turns"]
        turn_quotes = [t for turn in turns for t in _texts(turn["quotes"])]
        assert sorted(turn_quotes) == sorted(all_quotes)


def test_a_side_without_support_says_so_and_borrows_nothing(run: Run) -> None:
    bare = 0
    for record in run.of_kind("debate"):
        for side in record.content["sides"]:
            if not side["quotes"]:
                bare += 1
                assert "found no passage in the sources that directly supports" in side["argument"]
                assert '"' not in side["argument"].replace(f'"{side["label"]}"', "")  # quotes nothing
            else:
                assert "found no passage" not in side["argument"]
    assert bare < len(run.of_kind("debate"))  # not every debate is empty-handed


def test_transcript_alternates_sides_for_each_round(demo_run: Run) -> None:
    for record in demo_run.of_kind("debate"):
        turns = record.content["transcript"]["turns"]
        assert record.content["rounds"] == 2
        assert [t["side"] for t in turns] == [0, 1, 0, 1]
        assert [t["label"] for t in turns] == LABELS * 2
        assert turns[0]["text"] == record.content["sides"][0]["argument"]
        assert turns[2]["text"].startswith("In reply:")


def test_arguments_read_as_plain_sentences(run: Run) -> None:
    for record in run.of_kind("debate"):
        for turn in record.content["transcript"]["turns"]:
            text = turn["text"]
            assert text[0].isupper() and text.rstrip().endswith((".", ")"))
            assert not re.search(r"[{}\[\]_=]|\bNone\b", text)  # no template or data residue


_STANCE = re.compile(r"^(Quotes? [\d, and]+) (supports?|points the other way|favours? neither answer)")


def _quote_numbers(phrase: str) -> list[int]:
    return [int(n) - 1 for n in re.findall(r"\d+", phrase)]


def test_reasoning_stances_agree_with_the_scorer_and_show_no_internals(run: Run) -> None:
    stated_total = 0
    for record in run.of_kind("reasoning"):
        content = record.content
        text = content["reasoning"]
        assert not FORBIDDEN.search(text), text
        assert f"{content['confidence']:.0%}" not in text
        for line in text.splitlines()[1:]:
            match = _STANCE.match(line)
            if match is None or "could not be found" in line:
                continue
            for i in _quote_numbers(match.group(1)):
                truth = run.favoured(record.item_id, content["quotes"][i])
                stance = match.group(2)
                expected = content["label"] if stance.startswith("support") else None
                if stance.startswith("points"):
                    assert truth not in (None, content["label"]), line
                else:
                    assert truth == expected, (record.item_id, line, truth)
                stated_total += 1
        if content["quotes"] and "None of the passages" not in text:
            assert re.search(r"Quotes? [\d, and]+ supports?", text)
    assert stated_total > 0


def test_reasoning_explains_without_restating_its_quotes(run: Run) -> None:
    for record in run.of_kind("reasoning"):
        text = normalise(record.content["reasoning"])
        for quote in record.content["quotes"]:
            words = normalise(quote["text"]).split()
            windows = {" ".join(words[i : i + 6]) for i in range(max(0, len(words) - 5))}
            assert not any(w in text for w in windows), (record.item_id, quote["text"])
        assert len(record.content["reasoning"].splitlines()) >= 2  # a verdict and at least one explanation


def test_consultant_quotes_favour_the_assigned_label(run: Run) -> None:
    for record in run.of_kind("consultancy"):
        content = record.content
        assert not FORBIDDEN.search(content["argument"])
        assert content["assigned_correct"] == (content["label"] == run.items[record.item_id].gold_label)
        for quote in content["quotes"]:
            assert run.favoured(record.item_id, quote) == content["label"]
        if not content["quotes"]:
            assert "found no passage in the sources that directly supports" in content["argument"]


def test_controlled_verdict_drives_reasoning_and_says_nothing_of_a_model(demo_run: Run) -> None:
    main = [it for it in demo_run.items.values() if it.role == "main"]
    verdicts = {r.item_id: r for r in demo_run.of_kind("verdict")}
    right = sum(verdicts[it.item_id].content["label"] == it.gold_label for it in main)
    assert right == round(0.85 * len(main)) == 54
    for item_id, record in verdicts.items():
        assert record.generator == "controlled" and record.model == "controlled"
        reasoning = demo_run.by[(item_id, "reasoning")]
        assert reasoning.content["label"] == record.content["label"]
        assert reasoning.content["confidence"] == record.content["confidence"]
        assert reasoning.generator == "controlled"
    for record in demo_run.records:
        for text in _rater_texts(record):
            assert not re.search(r"model|classifier|trained|algorithm|generated", text, re.IGNORECASE), text


def _rater_texts(record: AssistanceRecord) -> list[str]:
    content = record.content
    if record.kind == "reasoning":
        return [content["reasoning"]]
    if record.kind == "consultancy":
        return [content["argument"]]
    if record.kind == "debate":
        return [t["text"] for t in content["transcript"]["turns"]]
    return []


def test_lake_baikal_debate_sides_quote_only_what_favours_them(demo_run: Run) -> None:
    sides = {s["label"]: [q["text"] for q in s["quotes"]] for s in demo_run.by[("demo-029", "debate")].content["sides"]}
    superior_by_area = "it is the largest freshwater lake in the world by area, more than twice the area of Lake Baikal"
    assert not any("Lake Superior" in t or superior_by_area in t for t in sides["correct"]), sides["correct"]
    assert any(superior_by_area in t for t in sides["incorrect"]), sides["incorrect"]
    assert sides["correct"] == ["Lake Baikal in southern Siberia is the deepest lake in the world, with a maximum depth of about 1,640 metres."]


def test_stance_source_is_recorded_and_background_sentences_are_never_argued(run: Run, request: pytest.FixtureRequest) -> None:
    expected = "annotations" if request.node.callspec.params["run"] == "demo" else "model"
    for record in run.records:
        if record.kind in ("reasoning", "debate", "consultancy"):
            assert record.parameters["stance_source"] == expected, record.item_id
        else:
            assert "stance_source" not in record.parameters
    if expected == "annotations":
        for record in run.of_kind("debate"):
            for side in record.content["sides"]:
                assert all(_annotated(run.items[record.item_id], q) is not None for q in side["quotes"])
