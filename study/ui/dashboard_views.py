"""What the analyst dashboard shows of one :class:`analysis.AnalysisResult`.

The first view answers the study's question (the overview chart, team complementarity,
contrasts with Holm-adjusted p-values); tabs hold every other table and chart; the
downloads give the HTML report and each figure as PNG or SVG. Every number comes from
the ``analysis`` package; this module only lays it out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import altair as alt
import pandas as pd
import streamlit as st

import analysis
from analysis import AnalysisResult

_CI = ("_ci_low", "_ci_high")
#: Figures offered for download, by chart name, with their file stem.
FIGURES = {"overview": "Accuracy overview", "accuracy": "Accuracy", "reliance": "Over- and under-reliance",
           "ai_split": "Accuracy when the AI is right / wrong", "rair_rsr": "RAIR and RSR",
           "reliability": "Reliability diagram", "hybrid": "Hybrid routing"}
_P_COLUMNS = ("p_value", "p_holm")


def interval_frame(df: pd.DataFrame, keep: list[str], names: list[str]) -> pd.DataFrame:
    """``keep`` columns, then per name its estimate and one ``<name> 95% CI`` text column.

    Folding ``_ci_low`` / ``_ci_high`` into "[low, high]" halves the interval columns,
    so the tables fit the page instead of scrolling them out of sight.
    """
    out = df[[c for c in keep if c in df.columns]].copy()
    for name in names:
        out[name] = df[name]
        out[f"{name} 95% CI"] = [_interval(lo, hi) for lo, hi in zip(df[name + _CI[0]], df[name + _CI[1]], strict=True)]
    return out.reset_index(drop=True)


def _interval(lo: Any, hi: Any) -> str:
    return "" if pd.isna(lo) or pd.isna(hi) else f"[{lo:.3f}, {hi:.3f}]"


def _config(df: pd.DataFrame) -> dict[str, Any]:
    """Numbers with 3 decimals (p-values with 4), intervals and labels sized to fit."""
    config: dict[str, Any] = {}
    for col in df.columns:
        if col in _P_COLUMNS:
            config[col] = st.column_config.NumberColumn(col, format="%.4f", width="small")
        elif df[col].dtype.kind == "f":
            config[col] = st.column_config.NumberColumn(col, format="%.3f")
        elif col.endswith("95% CI"):
            config[col] = st.column_config.TextColumn(col, width="medium")
    return config


def table(df: pd.DataFrame, key: str) -> None:
    """A full-width table inside a keyed container (the key names it for tests and CSS)."""
    with st.container(key=key):
        st.dataframe(df, hide_index=True, column_config=_config(df), width="stretch")


def chart(spec: Any, key: str) -> None:
    """A chart at the page's width in a keyed container (theme=None: drawn as in the HTML report)."""
    if spec is not None:
        with st.container(key=key):
            st.altair_chart(spec, width="stretch", theme=None, key=f"{key}_spec")


def metric_table(metrics: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per condition: n, raters, items and each metric with its interval."""
    return interval_frame(metrics, ["condition", "n", "n_raters", "n_items"], names)


def first_view(result: AnalysisResult, charts: dict[str, alt.TopLevelMixin]) -> None:
    """The study's question: accuracy per condition, hybrid routing, the AI alone; team; contrasts."""
    data, ai_alone = analysis.overview_table(result.metrics, result.hybrid)
    if ai_alone == ai_alone:  # not NaN
        st.caption(f"Dashed line: the AI alone, {ai_alone:.3f} of the analysed judgments right. Orange: each "
                   "condition's hybrid accuracy (cross-fitted confidence routing between the AI and the raters).")
    chart(charts.get("overview"), "chart_overview")
    ref = result.settings.get("reference")
    # Full-width tables, one below the other: side by side they scroll their intervals out of view.
    with st.container():
        st.subheader("Team complementarity", anchor=False)
        if len(result.team):
            st.caption("assisted accuracy - max(reference accuracy on the same items, AI-alone accuracy); "
                       "above 0: the team beats both.")
            table(interval_frame(result.team, ["condition", "assisted_accuracy", "unassisted_accuracy",
                                               "ai_accuracy"], ["complementarity"]), "table_team")
        else:
            st.info("Not available: no reference condition (see the notes).")
    with st.container():
        st.subheader(f"Contrasts against {ref}" if ref else "Contrasts", anchor=False)
        if len(result.contrasts):
            st.caption("metric(condition) - metric(reference) with its 95% bootstrap interval; p_holm is "
                       "Holm-adjusted over every row.")
            shown = result.contrasts.rename(columns={"ci_low": "estimate_ci_low", "ci_high": "estimate_ci_high"})
            frame = interval_frame(shown, ["condition", "metric"], ["estimate"])
            table(frame.assign(p_value=shown["p_value"].to_numpy(), p_holm=shown["p_holm"].to_numpy()),
                  "table_contrasts")
        else:
            st.info("Not available: no reference condition (see the notes).")


def downloads(result: AnalysisResult, charts: dict[str, alt.TopLevelMixin]) -> None:
    """The HTML report, and one figure at a time as PNG or SVG (rendered when clicked)."""
    cols = st.columns([2, 3, 1, 1], vertical_alignment="bottom")
    cols[0].download_button("Download the HTML report", data=result.to_html, file_name="oversight-report.html",
                            mime="text/html", key="report_html", type="primary", on_click="ignore")
    names = [n for n in FIGURES if n in charts]
    name = cols[1].selectbox("Figure", names, format_func=FIGURES.__getitem__, key="figure_name")
    formats: tuple[tuple[Any, Literal["png", "svg"], str], ...] = (
        (cols[2], "png", "image/png"), (cols[3], "svg", "image/svg+xml"))
    for col, fmt, mime in formats:
        col.download_button(fmt.upper(), data=_figure(charts[name], fmt), file_name=f"{name}.{fmt}", mime=mime,
                            key=f"figure_{fmt}", on_click="ignore", icon=":material/download:")


def _figure(spec: alt.TopLevelMixin, fmt: Literal["png", "svg"]) -> Callable[[], bytes]:
    return lambda: analysis.figure_bytes(spec, fmt)


def notes(result: AnalysisResult) -> None:
    """The notes grouped by kind, each distinct message once with the conditions it covers."""
    grouped = analysis.group_notes(result.notes)
    if grouped.empty:
        st.write("No notes: every metric could be computed.")
        return
    st.caption(f"{len(result.notes)} notes, {len(grouped)} distinct.")
    with st.container(key="notes"):
        for kind, rows in grouped.groupby("kind", sort=False):
            st.markdown(f"**{kind}** ({int(rows['count'].sum())})")
            st.markdown("\n".join(_note_line(r) for r in rows.to_dict("records")))


def _note_line(row: dict[str, Any]) -> str:
    where = f" — in {row['conditions']}" if row["conditions"] else ""
    times = f" (x{row['count']})" if row["count"] > 1 and not row["conditions"] else ""
    return f"- {row['note']}{where}{times}"
