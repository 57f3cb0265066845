"""Altair charts of the analysis tables (each function returns an ``alt.Chart``-like object).

Inputs are the tidy tables of this package: ``condition_metrics`` output (``metrics``),
``hybrid_curve`` output (``curve``), ``hybrid_summary`` output (``summary``) and
``reliability_table`` output.

Every chart spans its container (``width="container"``; :func:`figure_bytes` gives it
:data:`FIGURE_WIDTH` px for a file). Conditions sit on the y axis with horizontal
intervals, so their labels are never rotated; panels shown side by side share one y
scale; each series has its own colour and a legend.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd

from analysis import schema as s


def _long(metrics: pd.DataFrame, names: list[str], overall: bool = False) -> pd.DataFrame:
    rows = metrics if overall else metrics[metrics["condition"] != s.OVERALL]
    frames = [pd.DataFrame({"condition": rows["condition"], "metric": n, "value": rows[n],
                            "ci_low": rows[f"{n}_ci_low"], "ci_high": rows[f"{n}_ci_high"]}) for n in names]
    return pd.concat(frames, ignore_index=True)


#: Width of a chart saved as PNG/SVG (on a page it takes the container's width).
FIGURE_WIDTH = 900
#: The series of the overview chart, in legend order, with their colours.
OVERVIEW_SERIES = ("raters (with their assistance)", "hybrid: cross-fitted routing", "AI alone")
OVERVIEW_COLOURS = ("#1f77b4", "#ff7f0e", "#444444")
#: The reference rules of the hybrid panels and their colours (the curve is blue).
HYBRID_RULES = ("ai_only", "human_only", "oracle")
HYBRID_COLOURS = ("#444444", "#2ca02c", "#d62728")


def _height(n_rows: int) -> int:
    """Total height for ``n_rows`` interval rows: on a page the chart is fitted to its
    container, so the height includes the title, legend and x axis (about 110 px)."""
    return 110 + max(110, 30 * n_rows)


def _condition_axis(order: list[str]) -> alt.Y:
    return alt.Y("condition:N", title="condition", sort=order, axis=alt.Axis(labelAngle=0, labelLimit=240))


def _ci_layers(base: alt.Chart, x_title: str) -> alt.LayerChart:
    """Point estimates and horizontal interval bars on a [0, 1] x axis."""
    points = base.mark_point(filled=True, size=80).encode(
        x=alt.X("value:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
        tooltip=["condition:N", alt.Tooltip("value:Q", format=".3f"),
                 alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f")],
    )
    bars = base.mark_errorbar(ticks=True).encode(x=alt.X("ci_low:Q", title=x_title), x2="ci_high:Q")
    layers: alt.LayerChart = points + bars
    return layers


def _metric_points(metrics: pd.DataFrame, names: list[str], title: str) -> alt.LayerChart:
    data = _long(metrics, names)
    order = list(dict.fromkeys(data["condition"]))
    base = alt.Chart(data).encode(
        y=_condition_axis(order), yOffset=alt.YOffset("metric:N", sort=names),
        color=alt.Color("metric:N", title="metric", sort=names, legend=alt.Legend(orient="top")),
    )
    chart: alt.LayerChart = _ci_layers(base, "proportion").properties(
        title=title, width="container", height=_height(len(order) * len(names)))
    return chart


def overview_table(metrics: pd.DataFrame, summary: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """The overview chart's data: (tidy rows, AI-alone accuracy).

    Rows: condition, series, value, ci_low, ci_high, with series ``raters`` (accuracy =
    mean(h == y) and its interval) and ``hybrid`` (cross-fitted routing accuracy
    ``cv_accuracy`` and its interval). AI alone = sum_c n_c * ai_only_c / sum_c n_c =
    mean(a == y) over every analysed judgment (NaN without a hybrid summary).
    """
    rows = metrics[metrics["condition"] != s.OVERALL]
    parts = [pd.DataFrame({"condition": rows["condition"], "series": OVERVIEW_SERIES[0], "value": rows["accuracy"],
                           "ci_low": rows["accuracy_ci_low"], "ci_high": rows["accuracy_ci_high"]})]
    ai_alone = float("nan")
    if len(summary):
        parts.append(pd.DataFrame({"condition": summary["condition"], "series": OVERVIEW_SERIES[1],
                                   "value": summary["cv_accuracy"], "ci_low": summary["cv_accuracy_ci_low"],
                                   "ci_high": summary["cv_accuracy_ci_high"]}))
        known = summary.dropna(subset=["ai_only"])
        if len(known) and known["n"].sum() > 0:
            ai_alone = float((known["ai_only"] * known["n"]).sum() / known["n"].sum())
    return pd.concat(parts, ignore_index=True).dropna(subset=["value"]), ai_alone


def overview_chart(metrics: pd.DataFrame, summary: pd.DataFrame) -> alt.LayerChart:
    """The study's question at a glance: accuracy per condition with 95% intervals, each
    condition's hybrid (cross-fitted routing) accuracy, and the AI alone drawn once."""
    data, ai_alone = overview_table(metrics, summary)
    order = list(dict.fromkeys(data["condition"]))
    colour = alt.Scale(domain=list(OVERVIEW_SERIES), range=list(OVERVIEW_COLOURS))
    legend = alt.Legend(title=None, orient="top", labelLimit=300)
    base = alt.Chart(data).encode(
        y=_condition_axis(order), yOffset=alt.YOffset("series:N", sort=list(OVERVIEW_SERIES)),
        color=alt.Color("series:N", scale=colour, legend=legend),
    )
    layers: list[Any] = [_ci_layers(base, "accuracy (share of judgments right)")]
    if np.isfinite(ai_alone):
        ai = pd.DataFrame({"series": [OVERVIEW_SERIES[2]], "value": [ai_alone]})
        layers.append(alt.Chart(ai).mark_rule(strokeDash=[6, 4], size=2).encode(
            x="value:Q", color=alt.Color("series:N", scale=colour, legend=legend),
            tooltip=[alt.Tooltip("value:Q", title="AI alone", format=".3f")]))
    chart: alt.LayerChart = alt.LayerChart(layer=layers).properties(
        title="Accuracy by condition: raters, hybrid routing and the AI alone (95% intervals)",
        width="container", height=_height(2 * len(order)))
    return chart


def figure_bytes(chart: alt.TopLevelMixin, fmt: Literal["png", "svg"], *, width: int = FIGURE_WIDTH,
                 scale: float = 2.0) -> bytes:
    """The chart as a PNG or SVG file (rendered offline by vl-convert).

    A ``width="container"`` chart has no width outside a page, so it is drawn ``width``
    px wide; ``scale`` multiplies the PNG's pixels (2 = sharp on print and HiDPI).
    """
    import vl_convert as vlc

    spec: dict[str, Any] = copy.deepcopy(chart.to_dict())
    if spec.get("width") == "container":
        spec["width"] = width
    if fmt == "png":
        png: bytes = vlc.vegalite_to_png(spec, scale=scale)
        return png
    if fmt == "svg":
        return str(vlc.vegalite_to_svg(spec)).encode()
    raise ValueError(f"figure format must be 'png' or 'svg', not {fmt!r}")


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
    chart: alt.LayerChart = (diagonal + lines).properties(title="Reliability diagram (raters and AI)",
                                                          width="container", height=320)
    return chart


def hybrid_table(curve: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The hybrid panels' data in one tidy table (``part`` says which layer a row feeds).

    part ``curve``: condition, threshold, share_ai, accuracy; part ``rule``: condition,
    rule (ai_only, human_only, oracle), value; part ``chosen``: the curve point nearest
    the cross-fitted threshold.
    """
    parts = [curve.assign(part="curve")[["part", "condition", "threshold", "share_ai", "accuracy"]]]
    for _, row in summary.iterrows():
        cond = row["condition"]
        parts.append(pd.DataFrame({"part": "rule", "condition": cond, "rule": ["ai_only", "human_only", "oracle"],
                                   "value": [row["ai_only"], row["human_only"], row["oracle"]]}).dropna())
        c = curve[curve["condition"] == cond]
        if c.size and np.isfinite(row.get("cv_threshold", np.nan)):
            at = c.iloc[[int(np.argmin(np.abs(c["threshold"].to_numpy() - row["cv_threshold"])))]]
            parts.append(at.assign(part="chosen")[["part", "condition", "threshold", "share_ai", "accuracy"]])
    return pd.concat(parts, ignore_index=True)


def hybrid_chart(curve: pd.DataFrame, summary: pd.DataFrame, columns: int = 2) -> alt.FacetChart:
    """Accuracy vs share routed to the AI, one panel per condition (``columns`` a row, one
    shared y scale), with ai_only, human_only and oracle rules and the cross-fitted
    threshold (median fold threshold) marked as a diamond."""
    data = hybrid_table(curve, summary)
    part = alt.datum["part"]
    line = alt.Chart().mark_line(point=True, color="#1f77b4").encode(
        x=alt.X("share_ai:Q", title="share routed to AI", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("threshold:Q", format=".3f"), alt.Tooltip("share_ai:Q", format=".3f"),
                 alt.Tooltip("accuracy:Q", format=".3f")],
    ).transform_filter(part == "curve")
    rules = alt.Chart().mark_rule(strokeDash=[4, 3], size=2).encode(
        y=alt.Y("value:Q", title="accuracy"), color=alt.Color("rule:N", title="reference rule", legend=alt.Legend(orient="top"),
                                                              scale=alt.Scale(domain=list(HYBRID_RULES),
                                                                              range=list(HYBRID_COLOURS))),
        tooltip=["rule:N", alt.Tooltip("value:Q", format=".3f")],
    ).transform_filter(part == "rule")
    chosen = alt.Chart().mark_point(shape="diamond", size=160, color="black", filled=True).encode(
        x="share_ai:Q", y="accuracy:Q").transform_filter(part == "chosen")
    panel = alt.layer(line, rules, chosen, data=data).properties(width=430, height=240)
    chart: alt.FacetChart = panel.facet(facet=alt.Facet("condition:N", title=None, header=alt.Header(
        labelFontSize=13, labelFontWeight="bold")), columns=columns, title="Hybrid routing by condition")
    shared: alt.FacetChart = chart.resolve_scale(y="shared")
    return shared
