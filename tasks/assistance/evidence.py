"""Evidence quotes: sentence splitting, similarity ranking and quote verification.

Verification itself (:func:`verify_quote`, :func:`normalise`) lives in :mod:`tasks.quotes`
and is re-exported here: a quote is *verified* when its normalised form is an exact,
word-aligned substring of its source; the offsets point into the ORIGINAL source text.
Unverified quotes keep ``verified=False`` and ``start``/``end`` = None: they are never
shown as verified.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tasks.items import Item, Quote
from tasks.quotes import QuoteCheck, normalise, normalise_with_map, verify_quote

__all__ = [
    "QuoteCheck",
    "Sentence",
    "external_quote",
    "item_sentences",
    "normalise",
    "normalise_with_map",
    "quote_content",
    "rank_sentences",
    "resolve_source",
    "split_sentences",
    "top_quotes",
    "verify_quote",
]

# Sentence end: . ! ? (optionally followed by closing quotes/brackets), then whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+")
_MIN_SENTENCE_CHARS = 3  # letters/digits a sentence needs to be a candidate quote
# Words whose final "." does not end a sentence (besides initials and dotted forms like "U.S.").
_ABBREVIATIONS = frozenset({"approx", "ca", "cf", "dr", "etc", "fig", "jr", "mr", "mrs", "ms", "no", "prof", "sr", "st", "vs"})
# Words that start a new sentence after a single capital and "." ("Ptolemy V. The decree").
_STARTERS = frozenset(
    ["a", "after", "an", "and", "as", "at", "before", "but", "by", "for", "from", "he", "her", "his", "however", "in", "it", "its", "on", "she", "since", "that", "the", "their", "there", "these", "they", "this", "those", "we", "when", "while"]
)


@dataclass(frozen=True)
class Sentence:
    """A candidate evidence sentence: a span of one of the item's sources."""

    source_index: int
    source_title: str
    text: str
    start: int
    end: int


def _ends_sentence(text: str, at: int, next_start: int) -> bool:
    """Whether the end punctuation just before ``at`` closes a sentence.

    Not after an initial ("L. L. Zamenhof", but "Ptolemy V. The" ends one), a dotted abbreviation ("e.g.", "U.S.",
    "a.m.") or a common short form ("Dr.", "etc."); not at a word's "." or a factorial
    "!" that lower-case text follows ("0! equals 1"). An ellipsis or a number before the
    mark always ends one.
    """
    body = text[:at].rstrip("\"'\u201d\u2019)]")
    word = body.rsplit(None, 1)[-1] if body.strip() else ""
    lower_next = next_start < len(text) and text[next_start].islower()
    if word.endswith("!") and word[:-1][-1:].isdigit() and lower_next:
        return False
    if not word.endswith("."):
        return True
    stem = word[:-1].lstrip("(\"'\u201c\u2018[")
    if not any(c.isalpha() for c in stem):  # an ellipsis or a number: a real end
        return True
    following = text[next_start:].split(None, 1)[:1]
    single_initial = len(stem) == 1 and stem.isupper() and not (following and following[0].casefold() in _STARTERS)
    return not (lower_next or single_initial or "." in stem or stem.casefold() in _ABBREVIATIONS)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of a text, stripped of surrounding whitespace.

    A sentence ends at ``.``, ``!`` or ``?`` (plus closing quotes or brackets) followed by
    whitespace, unless :func:`_ends_sentence` says the mark does not close one. A simple
    rule is enough for source passages: quotes are verified afterwards, so a bad split can
    only cost relevance, not honesty.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + len(match.group(0).rstrip())
        if _ends_sentence(text, end, match.end()):
            spans.append((start, end))
            start = match.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        # a span without words ("...", "[...]") could never verify as a quote: drop it
        if sum(c.isalnum() for c in text[a:b]) >= _MIN_SENTENCE_CHARS:
            out.append((a, b))
    return out


def item_sentences(item: Item) -> list[Sentence]:
    """Every candidate sentence of an item's sources, in source order."""
    return [
        Sentence(i, source.title, source.text[a:b], a, b)
        for i, source in enumerate(item.sources)
        for a, b in split_sentences(source.text)
    ]


def quote_content(item: Item, source_index: int, text: str, score: float | None) -> dict[str, Any]:
    """A quote dict as in docs/architecture.md, verified against its source."""
    source = item.sources[source_index]
    check = verify_quote(text, source.text)
    return {
        "text": text,
        "source_index": source_index,
        "source_title": source.title,
        "verified": check.verified,
        "start": check.start,
        "end": check.end,
        "score": None if score is None else round(float(score), 4),
    }


def resolve_source(item: Item, source: int | str) -> int | None:
    """Index of a quote's cited source (an index, or a title), None if it names none."""
    if isinstance(source, int):
        return source if 0 <= source < len(item.sources) else None
    for index, candidate in enumerate(item.sources):
        if candidate.title == source:
            return index
    return None


def external_quote(item: Item, quote: Quote) -> dict[str, Any]:
    """Verify a quote imported with the item (``Item.ai_evidence`` or a debate side).

    Checked against the cited source first, then against the others (the dict then names
    the source it was really found in). Not found anywhere: ``verified=False``.
    """
    cited = resolve_source(item, quote.source)
    order = ([cited] if cited is not None else []) + [i for i in range(len(item.sources)) if i != cited]
    for index in order:
        content = quote_content(item, index, quote.text, None)
        if content["verified"]:
            return content
    return {
        "text": quote.text,
        "source_index": cited if cited is not None else -1,
        "source_title": item.sources[cited].title if cited is not None else str(quote.source),
        "verified": False,
        "start": None,
        "end": None,
        "score": None,
    }


def rank_sentences(claim_vec: np.ndarray, sentence_vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sentence order by cosine similarity to the claim (best first; ties by position)."""
    sims = sentence_vecs @ claim_vec if len(sentence_vecs) else np.zeros(0, dtype=np.float32)
    order = np.lexsort((np.arange(len(sims)), -np.round(sims, 6)))
    return order, sims


def top_quotes(
    item: Item, sentences: Sequence[Sentence], sims: np.ndarray, order: np.ndarray, k: int
) -> list[dict[str, Any]]:
    """The k sentences most similar to the claim, as verified quote dicts."""
    return [quote_content(item, sentences[i].source_index, sentences[i].text, float(sims[i])) for i in order[:k]]
