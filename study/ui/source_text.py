"""A source passage as readable, escaped HTML: paragraphs, with the AI's quotes marked.

Source text is data (it comes from the item bank), so every character of it is
HTML-escaped; the only markup added is ``<p>``, ``<mark>`` and ``<sup>`` around the
escaped text, with labels that are escaped too.

- **Paragraphs**: the text's own blank lines; a paragraph longer than
  :data:`LONG_PARAGRAPH` characters is further split after sentence ends into pieces of
  at least :data:`MIN_PIECE` characters.
- **Marks**: each quote span ``(start, end, label)`` is highlighted where it stands, and
  its label (e.g. ``A1``) follows it as a superscript. Overlapping spans keep the first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

__all__ = ["LONG_PARAGRAPH", "MIN_PIECE", "Mark", "marked_source", "paragraph_of", "paragraphs"]

#: Paragraphs longer than this are split after sentence ends.
LONG_PARAGRAPH = 600
#: The shortest piece such a split makes.
MIN_PIECE = 250
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[])")
_STYLES = ("background: #fde68a;", "background: #bfdbfe;")


class Mark(NamedTuple):
    """A highlighted span of the source: ``text[start:end]``, its label and colour (0 or 1)."""

    start: int
    end: int
    label: str
    colour: int = 0


@lru_cache(maxsize=4096)
def paragraphs(text: str) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` offsets of the text's paragraphs (cached: sources are immutable)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for gap in [*_BLANK_LINE.finditer(text), None]:
        end = gap.start() if gap is not None else len(text)
        spans.extend(_pieces(text, start, end))
        start = gap.end() if gap is not None else len(text)
    return tuple((a, b) for a, b in spans if text[a:b].strip())


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A paragraph, split after sentence ends when it is long."""
    if end - start <= LONG_PARAGRAPH:
        return [(start, end)]
    out, a = [], start
    for m in _SENTENCE_END.finditer(text, start, end):
        if m.start() - a >= MIN_PIECE and end - m.end() >= MIN_PIECE:
            out.append((a, m.start()))
            a = m.end()
    return [*out, (a, end)]


def paragraph_of(text: str, start: int) -> tuple[int, int]:
    """The paragraph holding offset ``start`` (the whole text if none does)."""
    return next(((a, b) for a, b in paragraphs(text) if a <= start < b), (0, len(text)))


def _clean(marks: Sequence[Mark], n: int) -> list[Mark]:
    out: list[Mark] = []
    for mark in sorted(marks, key=lambda k: (k.start, k.end)):
        if 0 <= mark.start < mark.end <= n and (not out or mark.start >= out[-1].end):
            out.append(mark)
    return out


def _segment(text: str, a: int, b: int, marks: list[Mark]) -> str:
    """Escaped ``text[a:b]`` with the parts of ``marks`` inside it highlighted."""
    parts, at = [], a
    for mark in marks:
        lo, hi = max(mark.start, a), min(mark.end, b)
        if lo >= hi:
            continue
        parts.append(html.escape(text[at:lo]))
        parts.append(f'<mark style="{_STYLES[mark.colour % 2]}">{html.escape(text[lo:hi])}</mark>')
        if hi == mark.end:
            parts.append(f"<sup><b>{html.escape(mark.label)}</b></sup>")
        at = hi
    parts.append(html.escape(text[at:b]))
    return "".join(parts)


def marked_source(text: str, marks: Sequence[Mark] = (), *, span: tuple[int, int] | None = None) -> str:
    """The text (or only ``text[span]``) as escaped HTML paragraphs with ``marks`` highlighted."""
    kept = _clean(marks, len(text))
    spans = paragraphs(text)
    if span is not None:
        spans = tuple((max(a, span[0]), min(b, span[1])) for a, b in spans if a < span[1] and b > span[0])
    body = "".join(f'<p style="margin: 0 0 0.6em 0; white-space: pre-wrap;">{_segment(text, a, b, kept)}</p>'
                   for a, b in spans)
    return f"<div>{body}</div>"
