"""Quote verification: is a passage, word for word, part of a source text?

A quote is *verified* when, after normalising case, whitespace and punctuation (as in
Khan et al. 2024's debate protocol), it is an exact substring of its source text that
starts and ends on word boundaries. The returned offsets point into the ORIGINAL source
text (``source_text[start:end]`` is the passage to highlight). Pure Python, so item-bank
validation can use it without loading the assistance stack.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

__all__ = ["QuoteCheck", "normalise", "normalise_with_map", "verify_quote"]

# Apostrophes join a word ("don't" == "dont"); every other punctuation mark separates words.
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc`\u00b4")


class QuoteCheck(NamedTuple):
    """Result of :func:`verify_quote`: (verified, start, end) in the original source."""

    verified: bool
    start: int | None
    end: int | None


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
