"""How an item's sources and AI assistance are drawn (rater page and console preview).

All item and assistance text goes through :func:`study.ui.common.plain` (escaped HTML)
or, inside markdown captions, :func:`md_escape`, so markdown and HTML in items are
shown literally and never interpreted.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import streamlit as st

from study import rater
from study.rater import ItemView
from study.ui.common import engine, plain

if TYPE_CHECKING:
    from study.ui.rater import RaterSession

#: A second click this soon after a recorded submission is a double click, not a new answer.
DOUBLE_CLICK_S = 2.0


def sources(item: ItemView) -> None:
    st.caption("Sources")
    for src in item.sources:
        with st.container(border=True):
            if src.get("title"):
                st.html(plain(src["title"], css="font-weight: 600;"))
            st.html(plain(src["text"]))


def _log_expand(session: RaterSession, assignment_id: int, index: str, key: str) -> None:
    # A resent page state (double click) can replay an expansion: log each one once a moment.
    if not session.token:  # the console's preview renders this page without a rater
        return
    if st.session_state.get(key) and time.monotonic() - session.expanded.get(key, -1e9) > DOUBLE_CLICK_S:
        session.expanded[key] = time.monotonic()
        rater.log_event(engine(), session.token, "quote_expand", {"quote": index}, assignment_id)


def _quote_span(quote: dict[str, Any], source: str) -> tuple[int, int] | None:
    """Where a verified quote sits in its source (offsets, else a verbatim search)."""
    if not quote.get("verified"):
        return None
    start, end = quote.get("start"), quote.get("end")
    if isinstance(start, int) and isinstance(end, int) and source[start:end] == quote.get("text"):
        return start, end
    found = source.find(str(quote.get("text") or "\0"))
    return (found, found + len(quote["text"])) if found >= 0 else None


def md_escape(text: str) -> str:
    """Item text inside a markdown element (captions): every markdown character literal."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\\\1", str(text))


def _quotes(session: RaterSession, item: ItemView, quotes: list[dict[str, Any]], prefix: str) -> None:
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
            box = st.expander("Show in source", key=key, on_change=_log_expand,
                              args=(session, item.assignment_id, f"{prefix}{i}", key))
            if box.open:  # lazy: the source is sent only when the rater opens it
                text = item.sources[idx]["text"]
                box.html(plain(text, mark=_quote_span(q, text)))


def assistance(session: RaterSession, item: ItemView) -> None:
    content = item.assistance
    if item.assistance_kind == "none" or content is None:
        return
    with st.container(key="assistance"):
        if item.warning:
            st.warning(md_escape(item.warning))
        if item.assistance_kind == "evidence":
            st.subheader("AI-selected evidence")
            st.caption("Quotes an AI picked from the sources. The AI gives no verdict.")
            _quotes(session, item, content.get("quotes", []), "ev")
        elif item.assistance_kind == "reasoning":
            _reasoning(session, item, content)
        elif item.assistance_kind == "debate":
            _debate(session, item, content)


def _reasoning(session: RaterSession, item: ItemView, content: dict[str, Any]) -> None:
    st.subheader("The AI's assessment")
    pct = round(float(content.get("confidence") or 0) * 100)
    with st.container(border=True):
        st.html(plain(f"AI verdict: {content.get('label')} · AI confidence: {pct}%", css="font-weight: 600;"))
        st.html(plain(content.get("reasoning", "")))
    st.caption("The AI's evidence")
    _quotes(session, item, content.get("quotes", []), "rs")


def _debate(session: RaterSession, item: ItemView, content: dict[str, Any]) -> None:
    st.subheader("Two AI debaters")
    st.caption("Each debater argues one answer. Neither is known to be right; decide for yourself.")
    cols = st.columns(2)
    for i, (col, side) in enumerate(zip(cols, content.get("sides", []), strict=False)):
        with col, st.container(border=True, key=f"debater_{'ab'[i]}"):
            st.html(plain(f"Debater {'AB'[i]} argues: {side.get('label')}", css="font-weight: 600;"))
            st.html(plain(side.get("argument", "")))
            _quotes(session, item, side.get("quotes", []), f"db{i}")
