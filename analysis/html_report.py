"""Self-contained HTML rendering of an :class:`~analysis.report.AnalysisResult`.

Charts are Vega-Lite specs embedded inline with the vega/vega-lite/vega-embed
JavaScript bundle shipped by the ``vl-convert-python`` package, so the file opens
offline. If the bundle is unavailable, charts are rendered to inline SVG instead.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from analysis.report import AnalysisResult

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}
table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.chart{margin:1.5em 0}"""


def _table(df: pd.DataFrame, columns: list[str]) -> str:
    cols = [c for c in columns if c in df.columns]
    html: str = df[cols].to_html(index=False, na_rep="", float_format=lambda v: f"{v:.3f}", border=0)
    return html


def _with_ci(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    out = df[[c for c in ("condition", "n", "n_raters", "n_items") if c in df.columns]].copy()
    for n in names:
        out[n] = [_fmt(v, lo, hi) for v, lo, hi in zip(df[n], df[f"{n}_ci_low"], df[f"{n}_ci_high"], strict=True)]
    return out


def _fmt(v: Any, lo: Any, hi: Any) -> str:
    if pd.isna(v):
        return ""
    return f"{v:.3f}" if pd.isna(lo) else f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def _ci_columns(df: pd.DataFrame, keep: list[str], names: list[str]) -> pd.DataFrame:
    """``keep`` columns plus each name formatted as "estimate [low, high]"."""
    out = df[[c for c in keep if c in df.columns]].copy()
    for n in names:
        out[n] = [_fmt(v, lo, hi) for v, lo, hi in zip(df[n], df[f"{n}_ci_low"], df[f"{n}_ci_high"], strict=True)]
    return out


def _p(v: Any) -> str:
    return "" if pd.isna(v) else ("< 0.001" if v < 0.001 else f"{v:.3f}")


def _inference_html(result: AnalysisResult) -> str:
    """Contrasts, effect sizes, team complementarity and the reviewer analyses."""
    ref = result.settings.get("reference")
    parts = [f"<h2>Contrasts against the reference condition ({html.escape(str(ref))})</h2>"]
    if len(result.contrasts):
        c = result.contrasts.rename(columns={"estimate": "difference"}).copy()
        c["difference"] = [_fmt(v, lo, hi) for v, lo, hi in zip(c["difference"], c["ci_low"], c["ci_high"], strict=True)]
        c["p_value"], c["p_holm"] = c["p_value"].map(_p), c["p_holm"].map(_p)
        parts.append("<p>metric(condition) - metric(reference), 95% percentile interval of the joint two-way "
                     "bootstrap, bootstrap p-value, Holm-adjusted over all rows.</p>")
        parts.append(_table(c, ["condition", "metric", "difference", "p_value", "p_holm"]))
        e = _ci_columns(result.effect_sizes, ["condition"], ["risk_difference", "odds_ratio"])
        parts.append("<h3>Accuracy effect sizes</h3>" + _table(e, list(e.columns)))
        tm = _ci_columns(result.team, ["condition", "assisted_accuracy", "unassisted_accuracy", "ai_accuracy"],
                         ["complementarity"])
        parts.append("<h2>Team complementarity</h2><p>assisted accuracy - max(reference accuracy on the same "
                     "items, AI-only accuracy)</p>" + _table(tm, list(tm.columns)))
    else:
        parts.append("<p>not available: no reference condition (see notes)</p>")
    if len(result.routing_rules):
        parts.append("<h2>Routing by human confidence and by both confidences (cross-fitted, median over "
                     "fold splits)</h2>" + _table(result.routing_rules, list(result.routing_rules.columns)))
    parts.append("<h2>Learning and fatigue: trial position</h2>")
    if len(result.position_slopes):
        parts.append(_table(result.position_slopes, list(result.position_slopes.columns)))
        parts.append(_table(result.position_bins, list(result.position_bins.columns)))
    else:
        parts.append("<p>not available: no position column</p>")
    parts.append(f"<h2>Item difficulty and AI errors ({html.escape(str(result.settings.get('difficulty_source')))})</h2>")
    parts.append(_table(result.difficulty, list(result.difficulty.columns)) if len(result.difficulty)
                 else "<p>not available</p>")
    return "\n".join(parts)


def _charts_html(specs: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """(head script, body divs) for the charts."""
    try:
        import vl_convert as vlc

        bundle = vlc.javascript_bundle(None)  # type: ignore[arg-type]  # stub says str, runtime default is None
    except Exception:  # no bundle: fall back to static SVG  # noqa: BLE001
        return "", "".join(_svg(spec) for spec in specs.values())
    divs, calls = [], []
    for i, spec in enumerate(specs.values()):
        divs.append(f'<div class="chart" id="chart{i}"></div>')
        payload = json.dumps(spec).replace("</", "<\\/")
        calls.append(f'vegaEmbed("#chart{i}", {payload}, {{"actions": false}});')
    safe = bundle.replace("</script", "<\\/script")
    head = f"<script>{safe}</script>"
    return head, "".join(divs) + "<script>" + "\n".join(calls) + "</script>"


def _svg(spec: dict[str, Any]) -> str:
    try:
        import vl_convert as vlc

        return f'<div class="chart">{vlc.vegalite_to_svg(spec)}</div>'
    except Exception:  # noqa: BLE001
        return "<p>(chart unavailable: vl-convert-python not installed)</p>"


def render(result: AnalysisResult) -> str:
    """The whole report as one HTML string."""
    from analysis import definitions

    specs = {name: chart.to_dict() for name, chart in result.charts().items()}
    head, body_charts = _charts_html(specs)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) or "<li>none</li>"
    hybrid_cols = ["condition", "n", "human_only", "ai_only", "oracle", "cv_threshold", "cv_accuracy",
                   "complementarity", "human_slice_share", "human_slice_human_accuracy", "human_slice_ai_accuracy"]
    hyb = _with_ci(result.hybrid, [c for c in hybrid_cols[2:] if f"{c}_ci_low" in result.hybrid.columns]) \
        if len(result.hybrid) else result.hybrid
    if len(result.hybrid):
        hyb.insert(5, "cv_threshold", result.hybrid["cv_threshold"].round(3))
        hyb["complementary"] = result.hybrid["complementary"]
    settings = html.escape(json.dumps(result.settings, default=str))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>oversight-lab analysis</title>
<style>{_STYLE}</style>{head}</head><body>
<h1>Reliance analysis</h1><p><code>{settings}</code></p>
<h2>Metrics by condition (95% two-way cluster-bootstrap intervals)</h2>
{_table(_with_ci(result.metrics, list(definitions.METRIC_NAMES)), list(_with_ci(result.metrics, list(definitions.METRIC_NAMES)).columns))}
<h2>Hybrid routing (K-fold cross-fitted threshold, median over fold splits)</h2>
{_table(hyb, list(hyb.columns)) if len(hyb) else "<p>not available</p>"}
{_inference_html(result)}
<h2>Charts</h2>{body_charts}
<h2>Models (log-odds; two-way rater and item cluster-robust intervals)</h2>
{_table(result.models, ["model", "outcome", "term", "estimate", "se", "ci_low", "ci_high", "p_value", "note"])}
<h2>Notes</h2><ul>{notes}</ul>
</body></html>"""
