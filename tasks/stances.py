"""Stance annotations of an item bank: validation and lookup.

A source may list passages of its text with the label each favours
(``Source.stances``, :class:`tasks.items.SentenceStance`). An item is **annotated** when
any of its sources carries a ``stances`` list (even an empty one); for an annotated item
the annotations, not a model, decide which label every passage favours:

    stance(p) = L   if the annotated spans that overlap p (same source, shared characters)
                    name exactly one label L (spans annotated None are ignored)
              = None otherwise (no annotated span overlaps p, or they name different labels)

where a passage ``p`` (a source sentence or a verified quote) is located by its source
index and character offsets. An unverified quote has no location and favours no label.

Validation (:func:`stance_problems`) names each problem by field path: an annotation's
text must be a passage of its own source word for word (the quote rule of
:mod:`tasks.quotes`), two annotations of one source must not overlap, and a label must be
in the study's label set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tasks.items import Item
from tasks.quotes import verify_quote

__all__ = ["StanceSpan", "annotated_stance", "annotation_spans", "is_annotated", "stance_problems"]


@dataclass(frozen=True)
class StanceSpan:
    """One annotated passage: where it is in its source and the label it favours."""

    source_index: int
    start: int
    end: int
    label: str | None


def is_annotated(item: Item) -> bool:
    """True when any source of ``item`` carries stance annotations (even an empty list)."""
    return any(source.stances is not None for source in item.sources)


def annotation_spans(item: Item) -> list[StanceSpan]:
    """The located annotations of ``item`` (annotations that do not verify are left out)."""
    spans = []
    for index, source in enumerate(item.sources):
        for stance in source.stances or []:
            check = verify_quote(stance.text, source.text)
            if check.verified and check.start is not None and check.end is not None:
                spans.append(StanceSpan(index, check.start, check.end, stance.label))
    return spans


def annotated_stance(spans: Sequence[StanceSpan], source_index: int, start: int | None, end: int | None) -> str | None:
    """The label the passage ``[start, end)`` of source ``source_index`` favours (module docstring)."""
    if start is None or end is None:
        return None
    named = {
        s.label for s in spans if s.source_index == source_index and s.start < end and start < s.end and s.label is not None
    }
    return named.pop() if len(named) == 1 else None


def stance_problems(item: Item, labels: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(field path, problem)`` for every bad stance annotation of ``item``.

    Args:
        item: a validated item.
        labels: the study's label set; None skips the label check.
    """
    problems: list[tuple[str, str]] = []
    for i, source in enumerate(item.sources):
        placed: list[tuple[int, int, int]] = []  # (start, end, annotation index)
        for j, stance in enumerate(source.stances or []):
            field = f"sources.{i}.stances.{j}"
            check = verify_quote(stance.text, source.text)
            if not check.verified or check.start is None or check.end is None:
                problems.append((f"{field}.text", "is not a passage of this source's text (copy it word for word)"))
            else:
                clash = [k for a, b, k in placed if a < check.end and check.start < b]
                if clash:
                    problems.append((f"{field}.text", f"overlaps sources.{i}.stances.{clash[0]} (annotate each passage once)"))
                placed.append((check.start, check.end, j))
            if labels is not None and stance.label is not None and stance.label not in labels:
                problems.append((f"{field}.label", f"{stance.label!r} is not in the label set {list(labels)}"))
    return problems
