"""Altair charts of the analysis tables (each function returns an ``alt.Chart``-like object).

Inputs are the tidy tables of this package: ``condition_metrics`` output (``metrics``),
``hybrid_curve`` output (``curve``), ``hybrid_summary`` output (``summary``) and
``reliability_table`` output.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analysis import definitions as d
from analysis import schema as s


def _long(metrics: pd.DataFrame, names: list[str], overall: bool = False) -> pd.DataFrame:
    rows = metrics if overall else metrics[metrics["condition"] != s.OVERALL]
    frames = [pd.DataFrame({"condition": rows["condition"], "metric": n, "value": rows[n],
                            "ci_low": rows[f"{n}_ci_low"], "ci_high": rows[f"{n}_ci_high"]}) for n in names]
    return pd.concat(frames, ignore_index=True)


def _metric_points(metrics: pd.DataFrame, names: list[str], title: str) -> alt.LayerChart:
    data = _long(metrics, names)
    base = alt.Chart(data).encode(
        x=alt.X("condition:N", title="condition", sort=list(dict.fromkeys(data["condition"]))),
        xOffset="metric:N",
        color=alt.Color("metric:N", title="metric"),
    )
    points = base.mark_point(filled=True, size=70).encode(
        y=alt.Y("value:Q", title="proportion", scale=alt.Scale(domain=[0, 1])),
        tooltip=["condition", "metric", alt.Tooltip("value:Q", format=".3f"),
                 alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f")],
    )
    bars = base.mark_errorbar(ticks=True).encode(y=alt.Y("ci_low:Q", title="proportion"), y2="ci_high:Q")
    chart: alt.LayerChart = (points + bars).properties(title=title, width=320, height=220)
    return chart


def accuracy_chart(metrics: pd.DataFrame) -> alt.LayerChart:
    """Accuracy by condition with 95% cluster-bootstrap error bars."""
    return _metric_points(metrics, ["accuracy"], "Accuracy by condition")


def reliance_chart(metrics: pd.DataFrame) -> alt.LayerChart:
    """Over-reliance (h == a | a != y) and under-reliance (h != a | a == y) by condition."""
    return _metric_points(metrics, ["over_reliance", "under_reliance"], "Over- and under-reliance")


def ai_split_chart(metrics: pd.DataFrame) -> alt.LayerChart:
    """Accuracy when the AI is right vs when it is wrong, by condition."""
    return _metric_points(metrics, ["accuracy_when_ai_correct", "accuracy_when_ai_wrong"],
                          "Accuracy split by AI correctness")


def rair_rsr_chart(metrics: pd.DataFrame) -> alt.LayerChart:
    """RAIR and RSR (two-stage trials) by condition."""
    return _metric_points(metrics, ["rair", "rsr"], "Appropriate reliance (RAIR, RSR)")


def reliability_table(df: pd.DataFrame) -> pd.DataFrame:
    """Reliability-diagram data: per condition, source (rater, ai) and 10 equal-width bins.

    Columns: condition, source, bin, mean_confidence, accuracy, n. Rater rows use
    (p, [h == y]); AI rows use (c, [a == y]) per judgment.
    """
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    cond = df[s.CONDITION].to_numpy(dtype=object) if s.CONDITION in df.columns else np.full(len(df), "all")
    parts = []
    for source, conf, right, ok in (
        ("rater", s.floats(df, s.CONF), h == y, (y >= 0) & (h >= 0)),
        ("ai", s.floats(df, s.AI_CONF), a == y, (y >= 0) & (a >= 0)),
    ):
        keep = ok & ~np.isnan(conf)
        parts.append(pd.DataFrame({"condition": cond[keep], "source": source,
                                   "bin": np.clip(np.floor(conf[keep] * d.N_BINS), 0, d.N_BINS - 1).astype(int),
                                   "confidence": conf[keep], "correct": right[keep].astype(float)}))
    data = pd.concat(parts, ignore_index=True)
    out = data.groupby(["condition", "source", "bin"], as_index=False).agg(
        mean_confidence=("confidence", "mean"), accuracy=("correct", "mean"), n=("correct", "size"))
    return out


def reliability_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Reliability diagram: accuracy vs mean confidence per bin, raters and AI, with y = x."""
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})).mark_line(
        color="gray", strokeDash=[4, 4]).encode(x="x:Q", y="y:Q")
    lines = alt.Chart(table).mark_line(point=True).encode(
        x=alt.X("mean_confidence:Q", title="mean confidence", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("condition:N"), strokeDash=alt.StrokeDash("source:N"),
        tooltip=["condition", "source", "bin", "n", alt.Tooltip("accuracy:Q", format=".3f")],
    )
    chart: alt.LayerChart = (diagonal + lines).properties(title="Reliability diagram (raters and AI)", width=320,
                                                          height=320)
    return chart


def hybrid_chart(curve: pd.DataFrame, summary: pd.DataFrame) -> alt.HConcatChart:
    """Accuracy vs share routed to the AI per condition, with ai_only, human_only and
    oracle rules and the cross-fitted threshold (median fold threshold) marked."""
    panels = []
    for _, row in summary.iterrows():
        cond = row["condition"]
        c = curve[curve["condition"] == cond]
        line = alt.Chart(c).mark_line(point=True).encode(
            x=alt.X("share_ai:Q", title="share routed to AI", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("threshold:Q", format=".3f"), alt.Tooltip("share_ai:Q", format=".3f"),
                     alt.Tooltip("accuracy:Q", format=".3f")],
        )
        refs = pd.DataFrame({"rule": ["ai_only", "human_only", "oracle"],
                             "value": [row["ai_only"], row["human_only"], row["oracle"]]}).dropna()
        rules = alt.Chart(refs).mark_rule(strokeDash=[4, 3]).encode(y="value:Q", color=alt.Color("rule:N"))
        layers = [line, rules]
        if c.size and np.isfinite(row.get("cv_threshold", np.nan)):
            at = c.iloc[[int(np.argmin(np.abs(c["threshold"].to_numpy() - row["cv_threshold"])))]]
            layers.append(alt.Chart(at).mark_point(shape="diamond", size=160, color="black", filled=True)
                          .encode(x="share_ai:Q", y="accuracy:Q"))
        panels.append(alt.layer(*layers).properties(title=f"Hybrid routing: {cond}", width=240, height=220))
    return alt.hconcat(*panels)
