"""Builds the content of each assistance kind for prepared items (used by pipeline).

:func:`prepare` does the batch work once for ALL items, in a canonical order (sorted by
item id): one encoder call for every claim, source sentence and imported quote, then
cross-fitting. Everything a record holds is then a pure function of (items, labels,
config, models), so which records are skipped or in which order items come does not
change any record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tasks.assistance.consultancy import consultancy_content
from tasks.assistance.debate import WriteTurn, debate_labels, debate_transcript, leaks, turn_prompt
from tasks.assistance.encoder import TextEncoder
from tasks.assistance.evidence import (
    Sentence,
    external_quote,
    item_sentences,
    normalise,
    quote_content,
    rank_sentences,
)
from tasks.assistance.generative import GenerativeWriter, derived_seed
from tasks.assistance.reasoning import reasoning_prompt, template_reasoning
from tasks.assistance.stance import favoured, ranked_for
from tasks.assistance.verdict import CrossFit, crossfit, pair_features
from tasks.items import Item
from tasks.stances import annotated_stance, annotation_spans, is_annotated


@dataclass
class ItemState:
    """Per-item results of the batch pass."""

    index: int  # row in the cross-fit arrays
    claim_vec: np.ndarray
    sentences: list[Sentence]
    sentence_vecs: np.ndarray
    sims: np.ndarray
    order: np.ndarray
    sim_summary: np.ndarray  # [max, mean] claim-sentence cosine
    imported_quote_vecs: np.ndarray


@dataclass
class Prepared:
    """Batch results for a set of items."""

    labels: list[str]
    states: dict[str, ItemState]
    fit: CrossFit
    k_quotes: int
    candidates: int


def _unique_texts(items: Sequence[Item]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item.claim, None)
        for sentence in item_sentences(item):
            seen.setdefault(sentence.text, None)
        for quote in item.ai_evidence or []:
            seen.setdefault(quote.text, None)
    return list(seen)


def _state(index: int, item: Item, vec: dict[str, np.ndarray], dim: int) -> ItemState:
    sentences = item_sentences(item)
    sentence_vecs = np.array([vec[s.text] for s in sentences], dtype=np.float32).reshape(len(sentences), dim)
    order, sims = rank_sentences(vec[item.claim], sentence_vecs)
    summary = np.array([sims.max(), sims.mean()] if len(sims) else [0.0, 0.0], dtype=np.float32)
    quote_vecs = np.array([vec[q.text] for q in item.ai_evidence or []], dtype=np.float32).reshape(-1, dim)
    return ItemState(index, vec[item.claim], sentences, sentence_vecs, sims, order, summary, quote_vecs)


def prepare(
    items: Sequence[Item],
    labels: Sequence[str],
    encoder: TextEncoder,
    *,
    k_quotes: int,
    candidates: int,
    folds: int,
    seed: int,
) -> Prepared:
    """Encode everything once, rank sentences, and cross-fit the verdict model."""
    canonical = sorted(items, key=lambda it: it.item_id)
    texts = _unique_texts(canonical)
    vec = dict(zip(texts, encoder.encode(texts), strict=True))
    states = {it.item_id: _state(i, it, vec, encoder.dim) for i, it in enumerate(canonical)}
    evidence = np.zeros((len(canonical), encoder.dim), dtype=np.float32)
    for it in canonical:
        st = states[it.item_id]
        if len(st.order):
            evidence[st.index] = st.sentence_vecs[st.order[:k_quotes]].mean(axis=0)
    claims = np.array([states[it.item_id].claim_vec for it in canonical])
    summaries = np.array([states[it.item_id].sim_summary for it in canonical])
    features = pair_features(claims, evidence, summaries)
    fit = crossfit(features, [it.gold_label for it in canonical], labels, folds=folds, seed=seed)
    return Prepared(list(labels), states, fit, k_quotes, candidates)


#: A factory giving the turn writer for one item (None = template turns).
TurnWriterFactory = Callable[[Item], WriteTurn | None]


@dataclass
class Plan:
    """What the builder needs besides the batch results: fixed verdicts and assignments."""

    controlled: dict[str, tuple[str, float]] | None = None  # item_id -> (label, confidence)
    consultancy: dict[str, str] = field(default_factory=dict)  # item_id -> assigned label
    rounds: int = 1
    turn_writer: TurnWriterFactory | None = None


class ContentBuilder:
    """Content (docs/architecture.md shapes) and generator names for one item's kinds."""

    def __init__(
        self, prepared: Prepared, writer: GenerativeWriter | None, seed: int, plan: Plan | None = None
    ) -> None:
        self.prepared = prepared
        self.writer = writer
        self.seed = seed
        self.plan = plan or Plan()

    def sentence_proba(self, item: Item, vecs: np.ndarray) -> np.ndarray:
        """P(label | claim, one row of ``vecs`` alone as evidence) from the item's out-of-fold model."""
        state = self.prepared.states[item.item_id]
        if len(vecs) == 0:
            return np.zeros((0, len(self.prepared.labels)))
        rows = pair_features(np.tile(state.claim_vec, (len(vecs), 1)), vecs, np.tile(state.sim_summary, (len(vecs), 1)))
        return self.prepared.fit.predict_for(state.index, rows)

    def lean(self, item: Item, vecs: np.ndarray) -> np.ndarray:
        """The model stance lean (rows x labels): P(label | claim, one sentence) - the label's
        share of the training set of the item's own out-of-fold model."""
        state = self.prepared.states[item.item_id]
        lean: np.ndarray = self.sentence_proba(item, vecs) - self.prepared.fit.base_rate(state.index)[None, :]
        return lean

    @staticmethod
    def stance_source(item: Item) -> str:
        """``annotations`` when the item bank annotates the item's stances, else ``model``."""
        return "annotations" if is_annotated(item) else "model"

    def stance_lean(self, item: Item, quotes: Sequence[dict[str, Any]], vecs: np.ndarray) -> np.ndarray:
        """The stance scorer's lean (rows x labels) for quote dicts: from the item's stance
        annotations when it has them (1 for the label a quote favours, else 0), else :meth:`lean`."""
        labels = self.prepared.labels
        if not is_annotated(item):
            return self.lean(item, vecs) if len(quotes) else np.zeros((0, len(labels)))
        spans = annotation_spans(item)
        out = np.zeros((len(quotes), len(labels)))
        for row, quote in enumerate(quotes):
            label = annotated_stance(spans, quote["source_index"], quote["start"], quote["end"])
            if label is not None:
                out[row, labels.index(label)] = 1.0
        return out

    def verdict(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"label", "confidence"}``: controlled, imported, or the cross-fitted model's."""
        if self.plan.controlled is not None:
            label, confidence = self.plan.controlled[item.item_id]
            return {"label": label, "confidence": confidence}, "controlled"
        if item.has_external_ai:
            return {"label": item.ai_label, "confidence": round(float(item.ai_confidence or 0.0), 4)}, "imported"
        proba = self.prepared.fit.proba[self.prepared.states[item.item_id].index]
        best = int(np.argmax(proba))
        return {"label": self.prepared.labels[best], "confidence": round(float(proba[best]), 4)}, "crossfit-logreg"

    def _top_quotes(self, item: Item) -> tuple[list[dict[str, Any]], str]:
        state = self.prepared.states[item.item_id]
        if item.ai_evidence is not None:
            return [external_quote(item, q) for q in item.ai_evidence], "imported"
        top = state.order[: self.prepared.k_quotes]
        quotes = [self._sentence_quote(item, state, int(j)) for j in top]
        return quotes, "embedding-rank"

    def evidence(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"quotes": [...]}``: imported ``ai_evidence`` (verified) or top-k by similarity."""
        quotes, generator = self._top_quotes(item)
        return {"quotes": quotes}, generator

    def candidates(self, item: Item) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Quote pool for reasoning/debate/consultancy (distinct texts) and its stance leans."""
        state = self.prepared.states[item.item_id]
        if item.ai_evidence is not None:
            quotes, vecs = [external_quote(item, q) for q in item.ai_evidence], state.imported_quote_vecs
        else:
            pool = [int(j) for j in state.order[: self.prepared.candidates]]
            quotes, vecs = [self._sentence_quote(item, state, j) for j in pool], state.sentence_vecs[pool]
        seen: set[str] = set()
        keep = []
        for j, quote in enumerate(quotes):
            key = normalise(quote["text"])
            if key not in seen:
                seen.add(key)
                keep.append(j)
        kept = [quotes[j] for j in keep]
        return kept, self.stance_lean(item, kept, vecs[keep])

    def _reasoning_quotes(self, item: Item, label: str) -> tuple[list[dict[str, Any]], list[str | None]]:
        """Supporting quotes (strongest first) plus the strongest opposing one; else the top ones."""
        labels, k = self.prepared.labels, self.prepared.k_quotes
        quotes, lean = self.candidates(item)
        stance = favoured(lean, labels)
        if item.ai_evidence is not None:
            return quotes, stance
        support = ranked_for(label, lean, labels, k)
        others = [j for j in range(len(quotes)) if stance[j] not in (None, label)]
        against = sorted(others, key=lambda j: (-round(float(lean[j].max()), 8), j))[:1]
        picked = (support[: k - len(against)] + against) if support else list(range(min(k, len(quotes))))
        return [quotes[j] for j in picked], [stance[j] for j in picked]

    def reasoning(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"label", "confidence", "reasoning", "quotes"}``."""
        verdict, verdict_generator = self.verdict(item)
        label = verdict["label"]
        if item.ai_reasoning is not None and verdict_generator == "imported":
            quotes, _ = self._top_quotes(item)
            return {**verdict, "quotes": quotes, "reasoning": item.ai_reasoning}, "imported"
        quotes, stances = self._reasoning_quotes(item, label)
        content = {**verdict, "quotes": quotes}
        if self.writer is not None:
            text = self.writer.write(
                reasoning_prompt(item.claim, label, quotes), derived_seed(self.seed, item.item_id, "reasoning")
            )
            if text and not leaks(text):
                return {**content, "reasoning": text}, "generative"
        text = template_reasoning(label, quotes, stances)
        return {**content, "reasoning": text}, "controlled" if verdict_generator == "controlled" else "template"

    def _turn_writer(self, item: Item) -> WriteTurn | None:
        if self.plan.turn_writer is not None:
            return self.plan.turn_writer(item)
        writer = self.writer
        if writer is None:
            return None

        def write(side: int, label: str, quotes: Sequence[dict[str, Any]], history: Sequence[dict[str, Any]]) -> str:
            seed = derived_seed(self.seed, item.item_id, "turn", str(side), str(len(history)))
            return writer.write(turn_prompt(item.claim, side, label, quotes, history), seed)

        return write

    def debate(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"sides": [{"label", "argument", "quotes"}, x2], "transcript": {"turns": [...]}, "rounds"}``."""
        if item.debate is not None:
            sides = [
                {"label": s.label, "argument": s.argument, "quotes": [external_quote(item, q) for q in s.quotes]}
                for s in item.debate.sides
            ]
            return {"sides": sides}, "imported"
        labels, state = self.prepared.labels, self.prepared.states[item.item_id]
        proba = np.array(self.prepared.fit.proba[state.index], dtype=float)
        if self.plan.controlled is not None:  # with more than two labels, the AI's own label is debated
            proba[labels.index(self.plan.controlled[item.item_id][0])] = 2.0
        pair = debate_labels(labels, proba)
        quotes, lean = self.candidates(item)
        k = self.prepared.k_quotes
        side_quotes = tuple([quotes[j] for j in ranked_for(label, lean, labels, k)] for label in pair)
        content, written = debate_transcript(pair, (side_quotes[0], side_quotes[1]), self.plan.rounds, self._turn_writer(item))
        return content, "generative" if written else "template"

    def consultancy(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"label", "argument", "quotes", "assigned_correct"}`` for the assigned label."""
        label = self.plan.consultancy[item.item_id]
        quotes, lean = self.candidates(item)
        picked = ranked_for(label, lean, self.prepared.labels, self.prepared.k_quotes)
        content, written = consultancy_content(label, item.gold_label, [quotes[j] for j in picked], self._turn_writer(item))
        return content, "generative" if written else "template"

    @staticmethod
    def _sentence_quote(item: Item, state: ItemState, j: int) -> dict[str, Any]:
        sentence = state.sentences[j]
        return quote_content(item, sentence.source_index, sentence.text, float(state.sims[j]))
