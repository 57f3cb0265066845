"""The AI quality panel of "Set up": is this AI worth studying, before launch?

Shows the quality gate of the study's stored assistance: AI accuracy against the
majority-class rate (a warning when it is within 5 points), Brier score, ECE, the
reliability curve, the quote verification rate and debate sides without support.

The numbers come from :func:`study.assist.quality_summary` (the quality gate of
``tasks.assistance.quality``, on the main items); this module only lays them out.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from study.assist import quality_summary
from study.ui.common import engine
from study.ui.console.base import show


def quality_report(db: Engine, name: str) -> dict[str, Any]:
    """The quality gate of the study's stored assistance ({} before any is stored)."""
    return quality_summary(db, name)


def render(name: str) -> None:
    """The panel (nothing but a hint before assistance is stored)."""
    report = quality_report(engine(), name)
    st.subheader("AI quality (before launch)")
    if not report:
        st.caption("Shown once assistance is stored: AI accuracy, calibration and quote verification.")
        return
    verdict, quotes, debate = report.get("verdict"), report["quotes"], report["debate"]
    top, bottom = st.columns(3), st.columns(3)  # two rows of three: no label is cut off at 1280 px
    if verdict is not None:
        top[0].metric("AI accuracy", f"{verdict['accuracy']:.1%}")
        top[1].metric("Majority rate", f"{verdict['majority_rate']:.1%}",
                      help="Accuracy of always giving the most common gold label.")
        top[2].metric("Brier", f"{verdict['brier']:.3f}", help="mean((confidence - correct)^2); lower is better.")
        bottom[0].metric("ECE", f"{verdict['ece']:.3f}", help="Expected calibration error over 10 confidence bins.")
    rate = quotes.get("verification_rate")
    bottom[1].metric("Quotes verified", "n/a" if rate is None else f"{rate:.1%}",
                     help=f"{quotes['verified']} of {quotes['total']} quotes found verbatim in the sources.")
    bottom[2].metric("Debate sides without support", f"{debate['sides_without_support']} of {debate['sides']}")
    for warning in report.get("warnings", []):
        st.warning(warning)
    if verdict is not None and verdict.get("reliability"):
        bins = pd.DataFrame(verdict["reliability"])
        st.altair_chart(_reliability_chart(bins), width="stretch")
        show(bins, "quality_bins")


def _reliability_chart(bins: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0]})).mark_line(color="gray", strokeDash=[4, 3]).encode(
        x=alt.X("x:Q", title="AI confidence", scale=alt.Scale(domain=[0, 1])), y=alt.Y("x:Q", title="AI accuracy"))
    points = alt.Chart(bins).mark_line(point=True).encode(
        x="mean_confidence:Q", y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
        tooltip=["low", "high", "n", "accuracy", "mean_confidence"])
    return alt.layer(diagonal, points).properties(height=260, title="Reliability of the AI verdict (dashed: perfect)")
