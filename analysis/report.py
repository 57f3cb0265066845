"""``analyze``: the whole analysis of one table, as JSON-safe dict and self-contained HTML."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from analysis import charts, definitions, engine, hybrid, models, reliance
from analysis.exclusions import ExclusionRules, prepare


@dataclass
class AnalysisResult:
    """Tidy tables of one analysis; ``to_dict`` / ``to_html`` render them."""

    metrics: pd.DataFrame
    curve: pd.DataFrame
    hybrid: pd.DataFrame
    models: pd.DataFrame
    reliability: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN/inf -> None); shape documented in docs/metrics.md."""
        out = {
            "conditions": [_condition_dict(r) for r in self.metrics.to_dict("records")],
            "hybrid": [_hybrid_dict(r, self.curve) for r in self.hybrid.to_dict("records")],
            "models": self.models.to_dict("records"),
            "notes": list(self.notes),
            "settings": self.settings,
        }
        safe: dict[str, Any] = json_safe(out)
        return safe

    def to_json(self, indent: int | None = 2) -> str:
        """``to_dict`` as strict JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def charts(self) -> dict[str, alt.TopLevelMixin]:
        """Every chart of the report, by name."""
        out: dict[str, alt.TopLevelMixin] = {
            "accuracy": charts.accuracy_chart(self.metrics),
            "reliance": charts.reliance_chart(self.metrics),
            "ai_split": charts.ai_split_chart(self.metrics),
            "rair_rsr": charts.rair_rsr_chart(self.metrics),
        }
        if len(self.reliability):
            out["reliability"] = charts.reliability_chart(self.reliability)
        if len(self.curve):
            out["hybrid"] = charts.hybrid_chart(self.curve, self.hybrid)
        return out

    def to_html(self) -> str:
        """A self-contained HTML report (charts rendered offline, no network needed)."""
        from analysis.html_report import render

        return render(self)


def json_safe(obj: Any) -> Any:
    """Recursively convert numpy scalars to Python and non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(float(obj)) else None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def _condition_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("condition", "n", "n_raters", "n_items")}
    for name in definitions.METRIC_NAMES:
        out[name] = row[name]
        out[f"{name}_ci"] = [row[f"{name}_ci_low"], row[f"{name}_ci_high"]]
    return out


def _hybrid_dict(row: dict[str, Any], curve: pd.DataFrame) -> dict[str, Any]:
    cond = row["condition"]
    points = curve.loc[curve["condition"] == cond, ["threshold", "share_ai", "accuracy"]]
    out: dict[str, Any] = {"condition": cond, "n": row["n"]}
    for name in ("human_only", "ai_only", "oracle"):
        out[name] = row[name]
        out[f"{name}_ci"] = [row[f"{name}_ci_low"], row[f"{name}_ci_high"]]
    out["curve"] = points.to_dict("records")
    out.update({"cv_threshold": row["cv_threshold"], "fold_thresholds": row["fold_thresholds"],
                "n_folds": row["n_folds"], "cv_accuracy": row["cv_accuracy"],
                "cv_accuracy_ci": [row["cv_accuracy_ci_low"], row["cv_accuracy_ci_high"]],
                "complementarity": row["complementarity"],
                "complementarity_ci": [row["complementarity_ci_low"], row["complementarity_ci_high"]],
                "complementary": row["complementary"]})
    out["human_slice"] = {
        key: row[f"human_slice_{key}"] for key in ("share", "human_accuracy", "ai_accuracy")
    } | {f"{key}_ci": [row[f"human_slice_{key}_ci_low"], row[f"human_slice_{key}_ci_high"]]
         for key in ("share", "human_accuracy", "ai_accuracy")}
    return out


def analyze(
    df: pd.DataFrame,
    *,
    exclusions: ExclusionRules | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    k: int = 5,
    ci: float = 0.95,
    fit: bool = True,
) -> AnalysisResult:
    """The full analysis of a raw judgments table.

    ``prepare(df, exclusions)``, then one two-way cluster bootstrap run (``n_boot``
    replicates, ``seed``) for the metrics and the K-fold cross-fitted hybrid routing,
    the routing curve, the regression models (skipped with ``fit=False``) and the
    reliability-diagram table. ``notes`` say why any metric is null.
    """
    data = prepare(df, exclusions)
    run = engine.run(data, n_boot=n_boot, seed=seed, k=k)
    metrics, notes = reliance.metrics_table(run, data, ci)
    summary, hybrid_notes = hybrid.summary_table(run, data, ci)
    curve = hybrid.curve_table(run.layout) if not hybrid_notes else hybrid.hybrid_curve(data)
    fitted = models.fit_models(data, seed=seed) if fit else pd.DataFrame(columns=models.MODEL_COLUMNS)
    notes += hybrid_notes + [f"model {r['model']} ({r['outcome']}): {r['note']}"
                             for r in fitted.to_dict("records") if r["term"] is None]
    settings = {"n_boot": n_boot, "seed": seed, "k": run.layout.k, "ci": ci, "n_input_rows": len(df),
                "n_analysed_rows": len(data),
                "exclusions": exclusions.model_dump() if exclusions is not None else None}
    return AnalysisResult(metrics, curve, summary, fitted, charts.reliability_table(data), notes, settings)
