"""The AI quality panel of "Set up": is this AI worth studying, before launch?

Shows the quality gate of the study's stored assistance: AI accuracy against the
majority-class rate (a warning when it is within 5 points), Brier score, ECE, the
reliability curve, the quote verification rate and debate sides without support.

The numbers come from ``study.assist.quality_summary`` (the quality gate of
``tasks.assistance.quality``). :func:`quality_report` is the one switch: where that
function is not available it computes the same report's fields here, from the stored
verdicts (:func:`tasks.assistance.verdict.verdict_metrics`) and quotes.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine, select

from study import models as m
from study.db import read_session
from study.service import _study
from study.ui.common import engine
from study.ui.console.base import show

#: Warn when AI accuracy is less than this far above the majority-class rate.
MAJORITY_MARGIN = 0.05


def quality_report(db: Engine, name: str) -> dict[str, Any]:
    """The quality gate of the study's stored assistance ({} before any is stored)."""
    try:
        from study.assist import quality_summary  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return _fallback_report(db, name)
    report: dict[str, Any] = quality_summary(db, name)
    return report


def _quotes(kind: str, content: dict[str, Any]) -> list[dict[str, Any]]:
    if kind == "debate":
        return [q for side in content.get("sides", []) for q in side.get("quotes", [])]
    return list(content.get("quotes", [])) if kind in ("evidence", "reasoning", "consultancy") else []


def _fallback_report(db: Engine, name: str) -> dict[str, Any]:
    """The quality gate's fields from the stored rows, on the main items (adapter)."""
    from tasks.assistance.verdict import verdict_metrics

    with read_session(db) as s:
        study = _study(s, name)
        rows = s.execute(select(m.Item.item_id, m.Item.gold_label, m.Assistance.kind, m.Assistance.content)
                         .join(m.Assistance, m.Assistance.item_pk == m.Item.id)
                         .where(m.Item.study_id == study.id, m.Item.role == "main")).all()
    if not rows:
        return {}
    verdicts = [(g, str(c["label"]), float(c["confidence"])) for _, g, k, c in rows if k == "verdict"]
    verdict = None
    if verdicts:
        verdict = verdict_metrics(*map(list, zip(*verdicts, strict=True)))
        verdict["reliability"] = verdict.pop("by_bin")
    quotes = [q for _, _, k, c in rows for q in _quotes(k, c)]
    sides = [side for _, _, k, c in rows if k == "debate" for side in c.get("sides", [])]
    n_ok = sum(bool(q.get("verified")) for q in quotes)
    report: dict[str, Any] = {
        "n_items": len({i for i, *_ in rows}), "verdict": verdict,
        "quotes": {"total": len(quotes), "verified": n_ok, "verification_rate": n_ok / len(quotes) if quotes else None},
        "debate": {"sides": len(sides), "sides_without_support": sum(not side.get("quotes") for side in sides)},
    }
    report["warnings"] = _warnings(report)
    return report


def _warnings(report: dict[str, Any]) -> list[str]:
    verdict = report["verdict"]
    if verdict is not None and verdict["accuracy"] < verdict["majority_rate"] + MAJORITY_MARGIN:
        return [f"AI accuracy {verdict['accuracy']:.3f} is within {MAJORITY_MARGIN * 100:.0f} points of the majority "
                f"rate {verdict['majority_rate']:.3f}: raters cannot gain from relying on this AI."]
    return []


def render(name: str) -> None:
    """The panel (nothing but a hint before assistance is stored)."""
    report = quality_report(engine(), name)
    st.subheader("AI quality (before launch)")
    if not report:
        st.caption("Shown once assistance is stored: AI accuracy, calibration and quote verification.")
        return
    verdict, quotes, debate = report.get("verdict"), report["quotes"], report["debate"]
    cols = st.columns(6)
    if verdict is not None:
        cols[0].metric("AI accuracy", f"{verdict['accuracy']:.1%}")
        cols[1].metric("Majority rate", f"{verdict['majority_rate']:.1%}",
                       help="Accuracy of always giving the most common gold label.")
        cols[2].metric("Brier", f"{verdict['brier']:.3f}", help="mean((confidence - correct)^2); lower is better.")
        cols[3].metric("ECE", f"{verdict['ece']:.3f}", help="Expected calibration error over 10 confidence bins.")
    rate = quotes.get("verification_rate")
    cols[4].metric("Quotes verified", "n/a" if rate is None else f"{rate:.1%}",
                   help=f"{quotes['verified']} of {quotes['total']} quotes found verbatim in the sources.")
    cols[5].metric("Debate sides without support", f"{debate['sides_without_support']} of {debate['sides']}")
    for warning in report.get("warnings", []):
        st.warning(warning)
    if verdict is not None and verdict.get("reliability"):
        bins = pd.DataFrame(verdict["reliability"])
        left, right = st.columns([3, 2])
        left.altair_chart(_reliability_chart(bins), width="stretch")
        with right:
            show(bins, "quality_bins")


def _reliability_chart(bins: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0]})).mark_line(color="gray", strokeDash=[4, 3]).encode(
        x=alt.X("x:Q", title="AI confidence", scale=alt.Scale(domain=[0, 1])), y=alt.Y("x:Q", title="AI accuracy"))
    points = alt.Chart(bins).mark_line(point=True).encode(
        x="mean_confidence:Q", y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
        tooltip=["low", "high", "n", "accuracy", "mean_confidence"])
    return alt.layer(diagonal, points).properties(height=260, title="Reliability of the AI verdict (dashed: perfect)")
