"""Analyst dashboard (behind the experimenter secret).

Pick a study (or upload a tidy judgments CSV), set the exclusion rules, and read every
table and chart of ``analysis.analyze`` (laid out by :mod:`study.ui.dashboard_views`); download
the HTML report and the figures. All numbers come from the ``analysis`` package.
"""

from __future__ import annotations

import dataclasses
import io
import zlib

import altair as alt
import pandas as pd
import streamlit as st

import analysis
from analysis import AnalysisResult, ExclusionRules, schema
from study import service
from study.export import judgments_frame
from study.incidents import guarded
from study.models import RATER_STATUSES
from study.review import drop_excluded
from study.ui import dashboard_views as views
from study.ui.common import engine, require_admin

SOURCES = ("A study in this database", "Upload a judgments CSV")


@st.cache_data(show_spinner="Running the analysis (cluster bootstrap) ...", max_entries=8)
def run_analysis(df: pd.DataFrame, rules: ExclusionRules | None, n_boot: int, seed: int, k: int) -> AnalysisResult:
    """``analysis.analyze`` on a table (cached: the same inputs give the same result)."""
    return analysis.analyze(df, exclusions=rules, n_boot=n_boot, seed=seed, k=k)


@guarded(st.error)
def dashboard_page() -> None:
    """Entry point of the dashboard page."""
    st.title("Analyst dashboard")
    if not require_admin():
        return
    loaded = _data_source()
    if loaded is None:
        return
    label, df, defaults = loaded
    if df.empty:
        st.info(f"{label} has no judgments yet.")
        return
    rules = _exclusion_filters(label, defaults)
    with st.expander("Bootstrap and routing settings"):
        cols = st.columns(3)
        n_boot = int(cols[0].number_input("Bootstrap replicates", 100, 10_000, 1000, step=100, key="dash_n_boot"))
        seed = int(cols[1].number_input("Seed", 0, 2**31 - 1, 0, key="dash_seed"))
        k = int(cols[2].number_input("Cross-fitting folds", 2, 20, 5, key="dash_k"))
    note = None
    if rules is not None:  # the console review's exclusions switch off with the other rules
        df, note = drop_excluded(df)
    try:
        result = run_analysis(df, rules, n_boot, seed, k)
    except (ValueError, KeyError) as err:
        st.error(f"The analysis could not run on this table: {err}")
        return
    if note:
        result = dataclasses.replace(result, notes=[note, *result.notes])
    _results(label, result)


# --------------------------------------------------------------------------- inputs


def _data_source() -> tuple[str, pd.DataFrame, ExclusionRules] | None:
    source = st.radio("Data", SOURCES, horizontal=True, key="dash_source")
    if source == SOURCES[0]:
        names = [s.name for s in service.list_studies(engine())]
        if not names:
            st.info("No studies yet. Upload a judgments CSV instead, or create a study in the console.")
            return None
        name = st.selectbox("Study", names, key="dashboard_study")
        config = service.get_config(engine(), name)
        return f"study `{name}`", judgments_frame(engine(), name, config), config.exclusions
    upload = st.file_uploader("Tidy judgments CSV (one row per judgment; see codebook.csv)", type=["csv"],
                              key="dash_upload")
    if upload is None:
        st.caption(columns_caption())
        return None
    try:
        df = pd.read_csv(io.BytesIO(upload.getvalue()))
    except (ValueError, UnicodeDecodeError) as err:
        st.error(f"`{upload.name}` is not a readable CSV: {err}")
        return None
    return f"`{upload.name}`", df, ExclusionRules()


def columns_caption() -> str:
    """What the upload needs, from the tidy schema (:mod:`analysis.schema`)."""
    return (f"Columns used: {', '.join(schema.columns_used('required'))}, "
            f"and (optional) {', '.join(schema.columns_used('optional'))}. "
            "Every column is described in the export's codebook.csv.")


def _exclusion_filters(label: str, defaults: ExclusionRules) -> ExclusionRules | None:
    """Exclusion widgets, initialised from the study's config; None = no exclusions."""
    suffix = zlib.crc32(label.encode()) # new defaults when the data source changes
    with st.expander("Exclusions", expanded=True):
        apply = st.toggle("Apply exclusion rules (practice and attention-check rows are always left out)",
                          value=True, key=f"ex_apply_{suffix}")
        cols = st.columns(2)
        drop = cols[0].checkbox("Drop raters who failed attention checks", value=defaults.drop_failed_attention,
                                key=f"ex_drop_{suffix}", disabled=not apply)
        tolerated = cols[1].number_input("Attention failures tolerated", 0, 100, defaults.max_attention_failures,
                                         key=f"ex_tol_{suffix}", disabled=not apply)
        min_ms = cols[0].number_input("Drop judgments faster than (ms, 0 = keep all)", 0, 10**8,
                                      defaults.min_time_ms or 0, step=500, key=f"ex_min_{suffix}", disabled=not apply)
        max_ms = cols[1].number_input("Drop judgments slower than (ms, 0 = keep all)", 0, 10**9,
                                      defaults.max_time_ms or 0, step=10_000, key=f"ex_max_{suffix}",
                                      disabled=not apply)
        statuses = st.multiselect("Drop raters with status", list(RATER_STATUSES), default=[
            s for s in defaults.exclude_statuses if s in RATER_STATUSES], key=f"ex_status_{suffix}", disabled=not apply)
    if not apply:
        return None
    return ExclusionRules(drop_failed_attention=drop, max_attention_failures=int(tolerated),
                          min_time_ms=int(min_ms) or None, max_time_ms=int(max_ms) or None,
                          exclude_statuses=statuses)


# --------------------------------------------------------------------------- results


def _results(label: str, result: AnalysisResult) -> None:
    settings = result.settings
    cols = st.columns(4)
    cols[0].metric("Judgments analysed", settings.get("n_analysed_rows"))
    cols[1].metric("Input rows", settings.get("n_input_rows"))
    overall = result.metrics[result.metrics["condition"] == "overall"]
    cols[2].metric("Raters", int(overall["n_raters"].iloc[0]) if len(overall) else None)
    cols[3].metric("Items", int(overall["n_items"].iloc[0]) if len(overall) else None)
    st.caption(f"Analysis of {label}: {settings.get('n_boot')} cluster-bootstrap replicates over raters and items "
               f"({settings.get('bootstrap', 'exact')} weights), "
               f"seed {settings.get('seed')}, {settings.get('k')}-fold cross-fitted routing; intervals are "
               f"{settings.get('ci', 0.95):.0%}. Formulas: docs/metrics.md.")
    charts = result.charts()
    views.first_view(result, charts)
    views.downloads(result, charts)
    _detail_tabs(result, charts)


def _detail_tabs(result: AnalysisResult, charts: dict[str, alt.TopLevelMixin]) -> None:
    tabs = st.tabs(["Accuracy", "Reliance", "AI right / wrong", "RAIR / RSR", "Calibration", "Hybrid routing",
                    "Regression", "Notes"])
    metric_tabs = ((tabs[0], "accuracy", ["accuracy", "agreement_with_ai"]),
                   (tabs[1], "reliance", ["over_reliance", "under_reliance"]),
                   (tabs[2], "ai_split", ["accuracy_when_ai_correct", "accuracy_when_ai_wrong"]))
    for tab, name, names in metric_tabs:
        with tab:
            views.chart(charts.get(name), f"chart_{name}")
            views.table(views.metric_table(result.metrics, names), f"table_{name}")
    with tabs[3]:
        _rair_rsr(result, charts)
    with tabs[4]:
        views.chart(charts.get("reliability"), "chart_reliability")
        views.table(views.metric_table(result.metrics, ["rater_brier", "rater_ece", "ai_brier", "ai_ece"]),
                    "table_calibration")
        with st.expander("Reliability-diagram bins"):
            views.table(result.reliability, "table_reliability")
    with tabs[5]:
        _hybrid(result, charts)
    with tabs[6]:
        st.caption("Logistic models of correctness and agreement with the AI on condition (log-odds scale).")
        views.table(result.models, "table_models")
    with tabs[7]:
        views.notes(result)


def _rair_rsr(result: AnalysisResult, charts: dict[str, alt.TopLevelMixin]) -> None:
    if result.metrics[["rair", "rsr"]].notna().any().any():
        views.chart(charts.get("rair_rsr"), "chart_rair_rsr")
        views.table(views.metric_table(result.metrics, ["rair", "rsr", "switch_rate"]), "table_rair_rsr")
    else:
        st.info("RAIR and RSR need two-stage trials (an initial answer before the assistance); "
                "this table has none.")


def _hybrid(result: AnalysisResult, charts: dict[str, alt.TopLevelMixin]) -> None:
    st.caption("Route each judgment to the AI when its confidence is above a threshold T, else to the human. "
               "Lines: AI only, human only, oracle; diamond: the cross-fitted threshold. The panels share "
               "one accuracy scale.")
    views.chart(charts.get("hybrid"), "chart_hybrid")
    keep = ["condition", "n", "human_only", "ai_only", "oracle", "cv_threshold"]
    frame = views.interval_frame(result.hybrid, keep, ["cv_accuracy", "complementarity"])
    if "complementary" in result.hybrid.columns:
        frame["complementary"] = result.hybrid["complementary"].to_numpy()
    views.table(frame, "table_hybrid")
    with st.expander("Routing curve (every threshold)"):
        views.table(result.curve, "table_curve")
