"""How an item's sources and AI assistance are drawn (part of :mod:`study.ui.item_view`).

All item and assistance text goes through :func:`study.ui.common.plain` (escaped HTML)
or, inside markdown captions, :func:`study.ui.common.md_escape`, so markdown and HTML
in items are shown literally and never interpreted. Opening a quote's source calls
the ``on_expand`` callback it is given (the rater page logs it; the preview gives none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from study.rater import ItemView
from study.ui.common import md_escape, plain

#: ``on_expand(assignment_id, quote, widget_key)``: a quote's source was opened or closed.
ExpandCallback = Callable[[int, str, str], None]


def sources(item: ItemView) -> None:
    """The item's sources, each in its own box."""
    st.caption("Sources")
    for src in item.sources:
        with st.container(border=True):
            if src.get("title"):
                st.html(plain(src["title"], css="font-weight: 600;"))
            st.html(plain(src["text"]))


def _quote_span(quote: dict[str, Any], source: str) -> tuple[int, int] | None:
    """Where a verified quote sits in its source (offsets, else a verbatim search)."""
    if not quote.get("verified"):
        return None
    start, end = quote.get("start"), quote.get("end")
    if isinstance(start, int) and isinstance(end, int) and source[start:end] == quote.get("text"):
        return start, end
    found = source.find(str(quote.get("text") or "\0"))
    return (found, found + len(quote["text"])) if found >= 0 else None


def _quotes(item: ItemView, quotes: list[dict[str, Any]], prefix: str, on_expand: ExpandCallback | None) -> None:
    if not quotes:
        st.caption("No quotes.")
    for i, q in enumerate(quotes):
        with st.container(border=True):
            st.html(plain(f"“{q.get('text', '')}”", css="font-style: italic;"))
            verified = bool(q.get("verified"))
            mark = "verified: appears word for word in the source" if verified else "NOT verified: not found word for word in the source"
            icon = ":green[:material/verified:]" if verified else ":orange[:material/warning:]"
            st.caption(f"{icon} {mark} · {md_escape(q.get('source_title') or 'source')}")
            idx = q.get("source_index")
            if not (isinstance(idx, int) and 0 <= idx < len(item.sources)):
                continue
            key = f"{prefix}_quote_{item.assignment_id}_{i}"
            # Without a callback (the preview) the expander still reruns, to send the source.
            box = st.expander("Show in source", key=key, on_change=on_expand if on_expand is not None else "rerun",
                              args=(item.assignment_id, f"{prefix}{i}", key))
            if box.open:  # lazy: the source is sent only when the rater opens it
                text = item.sources[idx]["text"]
                box.html(plain(text, mark=_quote_span(q, text)))


def assistance(item: ItemView, on_expand: ExpandCallback | None = None) -> None:
    """The item's AI assistance in its condition's form (nothing for ``none``)."""
    content = item.assistance
    if item.assistance_kind == "none" or content is None:
        return
    with st.container(key="assistance"):
        if item.warning:
            st.warning(md_escape(item.warning))
        if item.assistance_kind == "evidence":
            st.subheader("AI-selected evidence")
            st.caption("Quotes an AI picked from the sources. The AI gives no verdict.")
            _quotes(item, content.get("quotes", []), "ev", on_expand)
        elif item.assistance_kind == "reasoning":
            _reasoning(item, content, on_expand)
        elif item.assistance_kind == "debate":
            _debate(item, content, on_expand)


def _reasoning(item: ItemView, content: dict[str, Any], on_expand: ExpandCallback | None) -> None:
    st.subheader("The AI's assessment")
    pct = round(float(content.get("confidence") or 0) * 100)
    with st.container(border=True):
        st.html(plain(f"AI verdict: {content.get('label')} · AI confidence: {pct}%", css="font-weight: 600;"))
        st.html(plain(content.get("reasoning", "")))
    st.caption("The AI's evidence")
    _quotes(item, content.get("quotes", []), "rs", on_expand)


def _debate(item: ItemView, content: dict[str, Any], on_expand: ExpandCallback | None) -> None:
    st.subheader("Two AI debaters")
    st.caption("Each debater argues one answer. Neither is known to be right; decide for yourself.")
    cols = st.columns(2)
    for i, (col, side) in enumerate(zip(cols, content.get("sides", []), strict=False)):
        with col, st.container(border=True, key=f"debater_{'ab'[i]}"):
            st.html(plain(f"Debater {'AB'[i]} argues: {side.get('label')}", css="font-weight: 600;"))
            st.html(plain(side.get("argument", "")))
            _quotes(item, side.get("quotes", []), f"db{i}", on_expand)
