"""Evidence quotes: sentence splitting, similarity ranking and quote verification.

A quote is *verified* when, after normalising case, whitespace and punctuation (as in
Khan et al. 2024's debate protocol), it is an exact substring of its source text that
starts and ends on word boundaries. The returned offsets point into the ORIGINAL source
text (``source_text[start:end]`` is the passage to highlight). Unverified quotes keep
``verified=False`` and ``start``/``end`` = None: they are never shown as verified.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from tasks.items import Item, Quote

# Apostrophes join a word ("don't" == "dont"); every other punctuation mark separates words.
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc`\u00b4")
# Sentence end: . ! ? (optionally followed by closing quotes/brackets), then whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+")
_MIN_SENTENCE_CHARS = 3  # letters/digits a sentence needs to be a candidate quote


class QuoteCheck(NamedTuple):
    """Result of :func:`verify_quote`: (verified, start, end) in the original source."""

    verified: bool
    start: int | None
    end: int | None


@dataclass(frozen=True)
class Sentence:
    """A candidate evidence sentence: a span of one of the item's sources."""

    source_index: int
    source_title: str
    text: str
    start: int
    end: int


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """Normalised text (casefolded, NFKC, punctuation -> space, spaces collapsed) and,
    for each normalised character, the index of the original character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char in _APOSTROPHES:
            continue
        for piece in unicodedata.normalize("NFKC", char).casefold():
            if piece.isalnum():
                chars.append(piece)
                origin.append(index)
            elif piece not in _APOSTROPHES and chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return "".join(chars), origin


def normalise(text: str) -> str:
    """The normalised form used for quote verification (see :func:`normalise_with_map`)."""
    return normalise_with_map(text)[0]


def verify_quote(quote: str, source_text: str) -> QuoteCheck:
    """Check a quote against a source: verified iff its normalised form is an exact,
    word-aligned substring of the normalised source. Offsets index ``source_text``."""
    needle = normalise(quote)
    if not needle:
        return QuoteCheck(False, None, None)
    haystack, origin = normalise_with_map(source_text)
    at = f" {haystack} ".find(f" {needle} ")  # padding with spaces = word boundaries
    if at < 0:
        return QuoteCheck(False, None, None)
    return QuoteCheck(True, origin[at], origin[at + len(needle) - 1] + 1)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of a text, stripped of surrounding whitespace.

    A simple rule (end punctuation followed by whitespace) is enough for source passages;
    quotes are verified afterwards, so a bad split can only cost relevance, not honesty.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start() + len(match.group(0).rstrip())))
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
