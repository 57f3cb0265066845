"""How an item's sources and AI assistance are drawn (part of :mod:`study.ui.item_view`).

All item and assistance text goes through :func:`study.ui.common.plain` or
:func:`study.ui.source_text.marked_source` (escaped HTML) or, inside markdown captions,
:func:`study.ui.common.md_escape`, so markdown and HTML in items are shown literally
and never interpreted. Opening a quote's source calls the ``on_expand`` callback it
is given (the rater page logs it; the preview gives none).

The assistance is drawn by its content's shape (docs/architecture.md), so a kind
stored later renders without changes here: ``sides``/``transcript`` is a debate,
``argument`` a consultancy, ``reasoning``/``label`` an assessment, ``quotes`` alone
evidence. What is shown follows the condition's ``show`` toggles (``item.show``).
Every quote shown gets a label (``1``, ``2`` ... or ``A1``, ``B1`` ... in a debate)
and is marked with it where it stands in the source passages on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import streamlit as st

from study.rater import ItemView
from study.ui.common import md_escape, plain
from study.ui.source_text import Mark, marked_source, paragraph_of

#: ``on_expand(assignment_id, quote, widget_key)``: a quote's source was opened or closed.
ExpandCallback = Callable[[int, str, str], None]
#: A quote with its label and colour (0: one voice / debater A, 1: debater B).
Labelled = tuple[dict[str, Any], str, int]


def panel_kind(content: dict[str, Any]) -> str:
    """Which panel draws this content, by its shape: debate, consultancy, reasoning or evidence."""
    if isinstance(content.get("sides"), list) or isinstance(content.get("transcript"), dict) or "turns" in content:
        return "debate"
    if "argument" in content:
        return "consultancy"
    if "reasoning" in content or "label" in content:
        return "reasoning"
    return "evidence"


def _turns(content: dict[str, Any]) -> list[dict[str, Any]]:
    """A debate's turns in order: its transcript, else one turn per side (imported debates)."""
    transcript = content.get("transcript")
    turns = transcript.get("turns") if isinstance(transcript, dict) else content.get("turns")
    if isinstance(turns, list) and turns:
        return [t for t in turns if isinstance(t, dict)]
    sides = _sides(content)
    return [{"side": i, "text": s.get("argument", ""), "quotes": s.get("quotes", [])}
            for i, s in enumerate(sides[:2]) if isinstance(s, dict)]


def _sides(content: dict[str, Any]) -> list[Any]:
    sides = content.get("sides")
    return sides if isinstance(sides, list) else []


def _side(turn: dict[str, Any]) -> int:
    return 1 if turn.get("side") == 1 else 0


def labelled_quotes(item: ItemView) -> list[Labelled]:
    """Every quote the item's assistance shows, labelled, in page order (none if quotes are hidden)."""
    content = item.assistance
    if content is None or item.assistance_kind == "none" or "quotes" not in item.show:
        return []
    if panel_kind(content) != "debate":
        return [(q, str(i + 1), 0) for i, q in enumerate(_quote_list(content.get("quotes")))]
    out: list[Labelled] = []
    count = [0, 0]
    for turn in _turns(content):
        side = _side(turn)
        for q in _quote_list(turn.get("quotes")):
            count[side] += 1
            out.append((q, f"{'AB'[side]}{count[side]}", side))
    return out


def _quote_list(value: Any) -> list[dict[str, Any]]:
    return [q for q in value if isinstance(q, dict)] if isinstance(value, list) else []


def quote_span(quote: dict[str, Any], source: str) -> tuple[int, int] | None:
    """Where a verified quote sits in its source: its offsets (from the verifier), else a verbatim search."""
    if not quote.get("verified"):
        return None
    start, end = quote.get("start"), quote.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(source):
        return start, end
    text = str(quote.get("text") or "")
    found = source.find(text) if text else -1
    return (found, found + len(text)) if found >= 0 else None


def source_marks(item: ItemView, quotes: list[Labelled]) -> dict[int, list[Mark]]:
    """The marks of ``quotes`` per source index."""
    marks: dict[int, list[Mark]] = {}
    for q, label, colour in quotes:
        idx = q.get("source_index")
        if isinstance(idx, int) and 0 <= idx < len(item.sources):
            span = quote_span(q, item.sources[idx]["text"])
            if span is not None:
                marks.setdefault(idx, []).append(Mark(span[0], span[1], label, colour))
    return marks


def sources(item: ItemView, marks: dict[int, list[Mark]] | None = None) -> None:
    """The item's sources, each in its own box, in paragraphs, with the shown quotes marked."""
    st.caption("Sources" + (" (the AI's quotes are highlighted, with their numbers)" if marks else ""))
    for i, src in enumerate(item.sources):
        with st.container(border=True, key=f"source_{i}"):
            if src.get("title"):
                st.html(plain(src["title"], css="font-weight: 600;"))
            st.html(marked_source(src["text"], (marks or {}).get(i, [])))


def _quotes(item: ItemView, quotes: list[Labelled], prefix: str, on_expand: ExpandCallback | None) -> None:
    if not quotes:
        st.caption("No quotes.")
    for i, (q, label, colour) in enumerate(quotes):
        with st.container(border=True):
            st.html(plain(f"[{label}] “{q.get('text', '')}”", css="font-style: italic;"))
            verified = bool(q.get("verified"))
            mark = "verified: appears word for word in the source" if verified else "NOT verified: not found word for word in the source"
            icon = ":green[:material/verified:]" if verified else ":orange[:material/warning:]"
            st.caption(f"{icon} {mark} · {md_escape(q.get('source_title') or 'source')}")
            idx = q.get("source_index")
            if not (isinstance(idx, int) and 0 <= idx < len(item.sources)):
                continue
            key = f"{prefix}_quote_{item.assignment_id}_{i}"
            # Without a callback (the preview) the expander still reruns, to send the paragraph.
            box = st.expander("Show in source", key=key, on_change=on_expand if on_expand is not None else "rerun",
                              args=(item.assignment_id, f"{prefix}{i}", key))
            if box.open:  # lazy: the paragraph is sent only when the rater opens it
                _in_source(box, item.sources[idx], q, label, colour)


def _in_source(box: Any, source: dict[str, Any], q: dict[str, Any], label: str, colour: int) -> None:
    """The quote's paragraph of its source, the quote marked (the whole source is on the page above)."""
    text = source["text"]
    span = quote_span(q, text)
    if span is None:
        box.html(marked_source(text))
        return
    box.caption(md_escape(source.get("title") or "Source"))
    box.html(marked_source(text, [Mark(span[0], span[1], label, colour)], span=paragraph_of(text, span[0])))


def assistance(item: ItemView, on_expand: ExpandCallback | None = None) -> None:
    """The item's AI assistance in its condition's form (nothing for ``none``)."""
    content = item.assistance
    if item.assistance_kind == "none" or content is None:
        return
    quotes = labelled_quotes(item)
    with st.container(key="assistance"):
        if item.warning:
            st.warning(md_escape(item.warning))
        kind = panel_kind(content)
        if kind == "debate":
            _debate(item, content, quotes, on_expand)
        elif kind == "consultancy":
            _consultancy(item, content, quotes, on_expand)
        elif kind == "reasoning":
            _reasoning(item, content, quotes, on_expand)
        else:
            st.subheader("AI-selected evidence")
            st.caption("Quotes an AI picked from the sources. The AI gives no verdict.")
            if "quotes" in item.show:
                _quotes(item, quotes, "ev", on_expand)


def _reasoning(item: ItemView, content: dict[str, Any], quotes: list[Labelled], on_expand: ExpandCallback | None) -> None:
    st.subheader("The AI's assessment")
    verdict = []
    if "label" in item.show and content.get("label") is not None:
        verdict.append(f"AI verdict: {content.get('label')}")
    if "confidence" in item.show and content.get("confidence") is not None:
        verdict.append(f"AI confidence: {round(float(content.get('confidence') or 0) * 100)}%")
    with st.container(border=True):
        if verdict:
            st.html(plain(" · ".join(verdict), css="font-weight: 600;"))
        if "reasoning" in item.show:
            st.html(plain(content.get("reasoning", "")))
    if "quotes" in item.show:
        st.caption("The AI's evidence")
        _quotes(item, quotes, "rs", on_expand)


def _consultancy(item: ItemView, content: dict[str, Any], quotes: list[Labelled], on_expand: ExpandCallback | None) -> None:
    # `assigned_correct` (whether the consultant argues the right answer) is never shown.
    st.subheader("An AI consultant's argument")
    st.caption("The AI argues for one answer. It may be arguing for the wrong one; decide for yourself.")
    with st.container(border=True, key="consultant"):
        st.html(plain(f"The AI argues: {content.get('label')}", css="font-weight: 600;"))
        if "reasoning" in item.show:
            st.html(plain(content.get("argument", "")))
    if "quotes" in item.show:
        _quotes(item, quotes, "cs", on_expand)


def _by_turn(content: dict[str, Any], quotes: list[Labelled]) -> Iterator[tuple[int, dict[str, Any], list[Labelled]]]:
    """Each turn with its labelled quotes (``quotes`` is in turn order, see :func:`labelled_quotes`)."""
    at = 0
    for n, turn in enumerate(_turns(content)):
        count = len(_quote_list(turn.get("quotes"))) if quotes else 0
        yield n, turn, quotes[at:at + count]
        at += count


def _debate(item: ItemView, content: dict[str, Any], quotes: list[Labelled], on_expand: ExpandCallback | None) -> None:
    st.subheader("Two AI debaters")
    st.caption("Each debater argues one answer. Neither is known to be right; decide for yourself.")
    sides = _sides(content)
    cols = st.columns(2)
    for i, (col, side) in enumerate(zip(cols, sides[:2], strict=False)):
        with col, st.container(border=True, key=f"debater_{'ab'[i]}"):
            st.html(plain(f"Debater {'AB'[i]} argues: {side.get('label')}", css="font-weight: 600;"))
    for n, turn, turn_quotes in _by_turn(content, quotes):
        who = _side(turn)
        with st.container(border=True, key=f"turn_{n}"):
            st.caption(f"Debater {'AB'[who]}" + (f" · turn {n // 2 + 1}" if len(_turns(content)) > 2 else ""))
            if "reasoning" in item.show:
                st.html(plain(turn.get("text", ""), css=f"border-left: 4px solid {('#f59e0b', '#3b82f6')[who]}; "
                                                          "padding-left: 0.6em;"))
            if "quotes" in item.show:
                _quotes(item, turn_quotes, f"db{who}t{n}", on_expand)
