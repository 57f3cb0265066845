"""Stance scorer agreement with human sentence labels (Climate-FEVER) and the demo's annotations.

For every item the pipeline's candidate sentences (the ones debate, consultancy and
reasoning quote from) are scored by two model stance scorers, with the item's own
out-of-fold verdict model and no annotation visible to it:

* ``pooled`` (the scorer before the stance annotations work):
  lean_L(s) = P(L | claim, s) - P(L | claim, the item's pooled top-k evidence)
* ``base-rate`` (the shipped model scorer):
  lean_L(s) = P(L | claim, s) - share of L in the training set of that model

A sentence favours the label with the largest lean above ``STANCE_MARGIN``. Human labels
come from the bank's stance annotations, located like quotes (Climate-FEVER:
``evidence_label`` SUPPORTS -> correct, REFUTES -> incorrect, NOT_ENOUGH_INFO -> none;
demo: data/demo_items.jsonl). Printed per scorer, as JSON:

* sentences: of the human-labelled (correct/incorrect) sentences, the share the scorer
  gives the same label (``agreement``); of the sentences the scorer gives a label, the
  share humans give the same label (``precision``), the other label (``opposite``) or no
  label (``no_label``);
* debate: the quotes each side would use (at most ``k_quotes`` favouring its label), the
  share humans label the same way / the opposite way / not at all, and sides left with
  no quote.

DISPUTED Climate-FEVER claims (no gold label, so never trained on; sentences of both
stances in one claim) are scored with the fold-0 model of the SUPPORTS/REFUTES run.

    python benchmarks/bench_stance.py [--bank climate|demo|both] [--seed 0] [--demo-seeds 0,1,...] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tasks.assistance import get_encoder  # noqa: E402
from tasks.assistance.content import ContentBuilder, prepare  # noqa: E402
from tasks.assistance.evidence import item_sentences, quote_content, rank_sentences  # noqa: E402
from tasks.assistance.stance import favoured, ranked_for  # noqa: E402
from tasks.assistance.verdict import pair_features  # noqa: E402
from tasks.importers import read_item_bank  # noqa: E402
from tasks.items import Item  # noqa: E402
from tasks.stances import annotated_stance, annotation_spans  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIMATE = ROOT.parent / "shared" / "datasets" / "climate-fever.jsonl"
DEMO = ROOT / "data" / "demo_items.jsonl"
LABELS = ["correct", "incorrect"]
K_QUOTES, CANDIDATES = 3, 10

#: One scored item: human label per candidate, then per scorer its lean matrix.
Scored = tuple[list[str | None], dict[str, np.ndarray]]


def strip(item: Item) -> Item:
    """The item without its stance annotations (what an unannotated bank would give)."""
    return item.model_copy(update={"sources": [s.model_copy(update={"stances": None}) for s in item.sources]})


def human_labels(item: Item, quotes: Sequence[dict[str, Any]]) -> list[str | None]:
    spans = annotation_spans(item)
    return [annotated_stance(spans, q["source_index"], q["start"], q["end"]) for q in quotes]


def score_bank(items: list[Item], encoder: Any, folds: int, seed: int) -> tuple[list[Scored], Any]:
    """Both scorers on every item's candidate pool (out-of-fold), with the human labels."""
    bare = [strip(it) for it in items]
    prepared = prepare(bare, LABELS, encoder, k_quotes=K_QUOTES, candidates=CANDIDATES, folds=folds, seed=seed)
    builder = ContentBuilder(prepared, None, seed)
    out: list[Scored] = []
    for item, plain in zip(items, bare, strict=True):
        state = prepared.states[item.item_id]
        quotes, shipped = builder.candidates(plain)
        vec = {s.text: v for s, v in zip(state.sentences, state.sentence_vecs, strict=True)}
        vecs = np.array([vec[q["text"]] for q in quotes]).reshape(len(quotes), -1)
        p = builder.sentence_proba(plain, vecs)
        leans = {"pooled": p - prepared.fit.proba[state.index], "base-rate": p - prepared.fit.base_rate(state.index)}
        assert np.allclose(leans["base-rate"], shipped)  # the benchmark scores what the pipeline ships
        out.append((human_labels(item, quotes), leans))
    return out, prepared


def score_disputed(path: Path, encoder: Any, prepared: Any) -> list[Scored]:
    """DISPUTED claims scored by the fold-0 model of the SUPPORTS/REFUTES run."""
    mapping = {"SUPPORTS": "correct", "REFUTES": "incorrect", "NOT_ENOUGH_INFO": None, "DISPUTED": "correct"}
    every = read_item_bank(path, "climate-fever", labels=LABELS, label_map=mapping)
    items = [it for it in every if it.metadata["claim_label"] == "DISPUTED"]  # gold_label is a placeholder
    model, rates = prepared.fit.models[0], prepared.fit.train_rates[0]
    out: list[Scored] = []
    for item in items:
        sentences = item_sentences(item)
        texts = [item.claim] + [s.text for s in sentences]
        vecs = encoder.encode(texts)
        claim, svecs = vecs[0], vecs[1:]
        order, sims = rank_sentences(claim, svecs)
        summary = np.array([sims.max(), sims.mean()])
        pool = [int(j) for j in order[:CANDIDATES]]
        quotes = [quote_content(item, sentences[j].source_index, sentences[j].text, None) for j in pool]
        pooled = pair_features(claim[None], svecs[order[:K_QUOTES]].mean(axis=0)[None], summary[None])
        rows = pair_features(np.tile(claim, (len(pool), 1)), svecs[pool], np.tile(summary, (len(pool), 1)))
        p = model.predict_proba(rows)
        leans = {"pooled": p - model.predict_proba(pooled), "base-rate": p - rates}
        out.append((human_labels(item, quotes), leans))
    return out


def agreement(scored: list[Scored], scorer: str) -> dict[str, Any]:
    """Sentence-level and debate-level agreement of one scorer with the human labels."""
    sentences: Counter[tuple[str | None, str | None]] = Counter()
    quotes: Counter[str] = Counter()
    bare_sides = 0
    for human, leans in scored:
        lean = leans[scorer]
        sentences.update(zip(human, favoured(lean, LABELS), strict=True))
        for label in LABELS:
            picked = ranked_for(label, lean, LABELS, K_QUOTES)
            bare_sides += not picked
            quotes.update("agree" if human[j] == label else "no_label" if human[j] is None else "opposite" for j in picked)
    labelled = sum(n for (h, _), n in sentences.items() if h is not None)
    stated = sum(n for (_, s), n in sentences.items() if s is not None)
    same = sum(n for (h, s), n in sentences.items() if h is not None and h == s)
    opposite = sum(n for (h, s), n in sentences.items() if None not in (h, s) and h != s)
    n_quotes = sum(quotes.values())
    return {
        "sentences": {
            "n": sum(sentences.values()), "human_labelled": labelled, "scorer_labelled": stated,
            "agreement": round(same / max(labelled, 1), 3), "precision": round(same / max(stated, 1), 3),
            "opposite": round(opposite / max(stated, 1), 3),
            "no_label": round((stated - same - opposite) / max(stated, 1), 3),
        },
        "debate": {
            "sides": 2 * len(scored), "sides_without_quote": bare_sides, "quotes": n_quotes,
            **{k: round(quotes[k] / max(n_quotes, 1), 3) for k in ("agree", "opposite", "no_label")},
        },
    }


def report(scored: list[Scored]) -> dict[str, Any]:
    return {scorer: agreement(scored, scorer) for scorer in ("pooled", "base-rate")}


def pooled_over_seeds(items: list[Item], encoder: Any, folds: int, seeds: Sequence[int]) -> dict[str, Any]:
    """The demo is small: its figures pool the candidate sentences of several fold seeds."""
    scored: list[Scored] = []
    for seed in seeds:
        scored += score_bank(items, encoder, folds, seed)[0]
    return {"items": len(items), "seeds": list(seeds), **report(scored)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", choices=["climate", "demo", "both"], default="both")
    parser.add_argument("--dataset", type=Path, default=CLIMATE)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="fold seed of the Climate-FEVER run")
    parser.add_argument("--demo-seeds", default="0,1,2,3,4,5,6,7,8,9", help="fold seeds pooled for the demo")
    args = parser.parse_args()
    start = time.perf_counter()
    encoder = get_encoder("transformers")
    result: dict[str, Any] = {"load_average_1min": round(os.getloadavg()[0], 2)}
    if args.bank in ("climate", "both"):
        items = list(read_item_bank(args.dataset, "climate-fever", labels=LABELS))
        scored, prepared = score_bank(items, encoder, args.folds, args.seed)
        result["climate_fever_supports_refutes"] = {"items": len(items), **report(scored)}
        disputed = score_disputed(args.dataset, encoder, prepared)
        result["climate_fever_disputed"] = {"items": len(disputed), **report(disputed)}
    if args.bank in ("demo", "both"):
        demo = [it for it in read_item_bank(DEMO, "jsonl", labels=LABELS) if it.role == "main"]
        seeds = [int(x) for x in args.demo_seeds.split(",")]
        result["demo_main"] = pooled_over_seeds(demo, encoder, args.folds, seeds)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
