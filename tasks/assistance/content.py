"""Builds the content of each assistance kind for prepared items (used by pipeline).

:func:`prepare` does the batch work once for ALL items, in a canonical order (sorted by
item id): one encoder call for every claim, source sentence and imported quote, then
cross-fitting. Everything a record holds is then a pure function of (items, labels,
config, models), so which records are skipped or in which order items come does not
change any record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tasks.assistance.debate import debate_labels, debate_prompt, side_argument, split_for_sides
from tasks.assistance.encoder import TextEncoder
from tasks.assistance.evidence import Sentence, external_quote, item_sentences, quote_content, rank_sentences
from tasks.assistance.generative import GenerativeWriter, derived_seed
from tasks.assistance.reasoning import reasoning_prompt, template_reasoning
from tasks.assistance.verdict import CrossFit, crossfit, pair_features
from tasks.items import Item


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


class ContentBuilder:
    """Content (docs/architecture.md shapes) and generator names for one item's kinds."""

    def __init__(self, prepared: Prepared, writer: GenerativeWriter | None, seed: int) -> None:
        self.prepared = prepared
        self.writer = writer
        self.seed = seed

    def _p(self, state: ItemState, vecs: np.ndarray) -> np.ndarray:
        """Label probabilities with each row of ``vecs`` alone as evidence (out-of-fold model)."""
        if len(vecs) == 0:
            return np.zeros((0, len(self.prepared.labels)))
        rows = pair_features(np.tile(state.claim_vec, (len(vecs), 1)), vecs, np.tile(state.sim_summary, (len(vecs), 1)))
        return self.prepared.fit.predict_for(state.index, rows)

    def verdict(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"label", "confidence"}``: imported when the item carries both AI fields."""
        if item.has_external_ai:
            return {"label": item.ai_label, "confidence": round(float(item.ai_confidence or 0.0), 4)}, "imported"
        proba = self.prepared.fit.proba[self.prepared.states[item.item_id].index]
        best = int(np.argmax(proba))
        return {"label": self.prepared.labels[best], "confidence": round(float(proba[best]), 4)}, "crossfit-logreg"

    def _quotes(self, item: Item) -> tuple[list[dict[str, Any]], np.ndarray, str]:
        state = self.prepared.states[item.item_id]
        if item.ai_evidence is not None:
            return [external_quote(item, q) for q in item.ai_evidence], state.imported_quote_vecs, "imported"
        top = state.order[: self.prepared.k_quotes]
        quotes = [
            quote_content(item, state.sentences[j].source_index, state.sentences[j].text, float(state.sims[j]))
            for j in top
        ]
        return quotes, state.sentence_vecs[top], "embedding-rank"

    def evidence(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"quotes": [...]}``: imported ``ai_evidence`` (verified) or top-k by similarity."""
        quotes, _, generator = self._quotes(item)
        return {"quotes": quotes}, generator

    def reasoning(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"label", "confidence", "reasoning", "quotes"}``."""
        verdict, verdict_generator = self.verdict(item)
        label, confidence = verdict["label"], verdict["confidence"]
        quotes, vecs, _ = self._quotes(item)
        content = {"label": label, "confidence": confidence, "quotes": quotes}
        if item.ai_reasoning is not None:
            return {**content, "reasoning": item.ai_reasoning}, "imported"
        if self.writer is not None:
            text = self.writer.write(
                reasoning_prompt(item.claim, label, confidence, quotes),
                derived_seed(self.seed, item.item_id, "reasoning"),
            )
            if text:
                return {**content, "reasoning": text}, "generative"
        state = self.prepared.states[item.item_id]
        p_label = self._p(state, vecs)[:, self.prepared.labels.index(label)]
        best_sim = max((q["score"] for q in quotes if q["score"] is not None), default=None)
        text = template_reasoning(
            label,
            confidence,
            quotes,
            [float(p) for p in p_label],
            best_sim=best_sim,
            imported=verdict_generator == "imported",
        )
        return {**content, "reasoning": text}, "template"

    def debate(self, item: Item) -> tuple[dict[str, Any], str]:
        """``{"sides": [{"label", "argument", "quotes"}, x2]}``."""
        if item.debate is not None:
            sides = [
                {"label": s.label, "argument": s.argument, "quotes": [external_quote(item, q) for q in s.quotes]}
                for s in item.debate.sides
            ]
            return {"sides": sides}, "imported"
        labels, state = self.prepared.labels, self.prepared.states[item.item_id]
        first, second = debate_labels(labels, self.prepared.fit.proba[state.index])
        candidates = state.order[: self.prepared.candidates]
        proba = self._p(state, state.sentence_vecs[candidates])
        p1, p2 = proba[:, labels.index(first)], proba[:, labels.index(second)]
        picks = split_for_sides(p1 - p2, self.prepared.k_quotes)
        sides, generated = [], False
        for label, picked, p_side in ((first, picks[0], p1), (second, picks[1], p2)):
            quotes = [self._candidate_quote(item, state, int(candidates[j])) for j in picked]
            argument = side_argument(label, quotes, [float(p_side[j]) for j in picked])
            if self.writer is not None:
                written = self.writer.write(
                    debate_prompt(item.claim, label, quotes), derived_seed(self.seed, item.item_id, "debate", label)
                )
                argument, generated = (written, True) if written else (argument, generated)
            sides.append({"label": label, "argument": argument, "quotes": quotes})
        return {"sides": sides}, "generative" if generated else "template"

    @staticmethod
    def _candidate_quote(item: Item, state: ItemState, j: int) -> dict[str, Any]:
        sentence = state.sentences[j]
        return quote_content(item, sentence.source_index, sentence.text, float(state.sims[j]))
