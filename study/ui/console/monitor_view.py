"""Monitor: live numbers of a running study (``study.monitor``), and the study links."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import altair as alt
import pandas as pd
import streamlit as st

from study import monitor, service
from study.ui.common import engine
from study.ui.console.base import ConsoleState, show

#: Auto-refresh choices of the live monitor (label -> seconds; None = off).
REFRESH = {"off": None, "5 s": 5, "15 s": 15, "60 s": 60}


def render(state: ConsoleState, name: str) -> None:
    choice = st.segmented_control("Auto-refresh", list(REFRESH), default="15 s", key="monitor_refresh")
    every = REFRESH.get(choice or "off")
    st.fragment(run_every=timedelta(seconds=every) if every else None)(_monitor_body)(name)
    _links(name)


def _ratings_chart(items: pd.DataFrame, conditions: list[str]) -> alt.FacetChart:
    bars = alt.Chart().mark_bar().encode(
        x=alt.X("item_id:N", title="items", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("ratings:Q", title="ratings"),
        color=alt.Color("condition:N", legend=None, sort=conditions),
        tooltip=["condition", "item_id", "ratings", "target"],
    )
    target = alt.Chart().mark_rule(color="black", strokeDash=[4, 3]).encode(y="max(target):Q")
    return alt.layer(bars, target, data=items).properties(height=110, width=150).facet(
        column=alt.Column("condition:N", title="ratings per item (dashed: target)", sort=conditions))


def _monitor_body(name: str) -> None:
    snap = monitor.snapshot(engine(), name)
    totals = snap.raters[["started", "in_progress", "completed", "dropped", "failed_attention", "excluded"]].sum()
    cols = st.columns(5)
    cols[0].metric("Raters started", int(totals["started"]))
    cols[1].metric("In progress", int(totals["in_progress"]))
    cols[2].metric("Completed", int(totals["completed"]))
    cols[3].metric("Ratings", snap.judgments)
    cols[4].metric("Ratings done", f"{snap.share_done:.0%}")
    st.caption(f"Study `{snap.study}` is {snap.status}. Updated {snap.taken_at:%H:%M:%S} UTC.")
    st.write("**Raters per condition**")
    show(snap.raters, "monitor_raters")
    st.write("**Ratings per item against the target** (main items; practice and attention checks left out)")
    show(snap.progress, "monitor_progress",
         column_config={"share_done": st.column_config.ProgressColumn("share_done", min_value=0, max_value=1,
                                                                      format="percent", width="small"),
                        "median_time_s": st.column_config.NumberColumn("median_time_s", format="%.1f")})
    if len(snap.items):
        st.altair_chart(_ratings_chart(snap.items, list(snap.raters["condition"])), width="content")
    st.write("**Condition balance**")
    show(snap.balance, "monitor_balance",
         column_config={c: st.column_config.NumberColumn(c, format="%.2f") for c in ("share", "expected_share", "deviation")})
    st.write("**Attention checks**")
    show(snap.attention, "monitor_attention")
    st.write("**Recent activity**")
    show(snap.activity, "monitor_activity", column_config={"time": st.column_config.DatetimeColumn("time", width="medium")})
    with st.expander("Ratings per item (table)"):
        show(snap.items, "monitor_items")


def _base_url() -> str:
    try:
        parts = urlsplit(st.context.url or "")
    except Exception:  # noqa: BLE001 - no browser context (tests, bare mode)
        parts = urlsplit("")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "http://localhost:8501"


def _links(name: str) -> None:
    st.subheader("Study links")
    base = st.text_input("Public address of this app", value=_base_url(), key="links_base")
    completion = service.get_config(engine(), name).completion.redirect_url
    links = monitor.study_links(name, base, completion)
    st.write("Plain link (replace `RATER_ID` by each rater's id):")
    st.code(links.plain, language=None)
    st.write("Prolific study URL (Prolific fills in the placeholders):")
    st.code(links.prolific, language=None)
    if links.completion:
        st.write("Raters are sent back to:")
        st.code(links.completion, language=None)
