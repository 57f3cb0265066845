"""``analyze``: the whole analysis of one table, as JSON-safe dict and self-contained HTML."""

from __future__ import annotations

import contextvars
import json
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis import (
    conditions,
    confidence_routing,
    contrasts,
    definitions,
    difficulty,
    engine,
    hybrid,
    models,
    parallel,
    reliability,
    reliance,
    schema,
    trials,
)
from analysis.exclusions import ExclusionRules, prepare_with_report
from analysis.labels import check_labels

if TYPE_CHECKING:
    import altair as alt


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
    contrasts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=contrasts.CONTRAST_COLUMNS))
    effect_sizes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=contrasts.EFFECT_COLUMNS))
    team: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=contrasts.TEAM_COLUMNS))
    position_bins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=trials.BIN_COLUMNS))
    position_slopes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=trials.SLOPE_COLUMNS))
    items: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=difficulty.ITEM_COLUMNS))
    difficulty: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=difficulty.BIN_COLUMNS))
    routing_rules: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=confidence_routing.COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN/inf -> None); shape documented in docs/metrics.md."""
        curves = _curves(self.curve)
        out = {
            "conditions": [_condition_dict(r) for r in _records(self.metrics)],
            "hybrid": [_hybrid_dict(r, curves) for r in _records(self.hybrid)],
            "models": _records(self.models),
            "contrasts": _records(self.contrasts[contrasts.CONTRAST_COLUMNS]),
            "effect_sizes": [_with_ci(r, ("risk_difference", "odds_ratio")) for r in _records(self.effect_sizes)],
            "team": [_with_ci(r, ("complementarity",)) for r in _records(self.team)],
            "by_position": {"bins": _records(self.position_bins), "slopes": _records(self.position_slopes)},
            "items": _records(self.items),
            "difficulty": _records(self.difficulty),
            "routing_rules": _records(self.routing_rules),
            "notes": list(self.notes),
            "settings": self.settings,
        }
        safe: dict[str, Any] = json_safe(out)
        return safe

    def to_json(self, indent: int | None = 2) -> str:
        """``to_dict`` as strict JSON text (``dumps``; ``indent=None``: one line)."""
        data = self.to_dict()
        return dumps(data) if indent is not None else json.dumps(data, allow_nan=False)

    def charts(self) -> dict[str, alt.TopLevelMixin]:
        """Every chart of the report, by name."""
        from analysis import charts  # altair loads only when charts are drawn

        out: dict[str, alt.TopLevelMixin] = {
            "overview": charts.overview_chart(self.metrics, self.hybrid),
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


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(", ", ": "))
_C_MAKE = getattr(json.encoder, "c_make_encoder", None)  # CPython's C encoder, what JSONEncoder.encode uses
_C_ENCODE = (_C_MAKE(None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False,
                     False) if _C_MAKE is not None else None)  # built once, not once per table row


def _encode(value: Any) -> str:
    """``_ENCODER.encode(value)`` (one line, strict: NaN raises) through the reused C encoder."""
    if _C_ENCODE is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


def _flat(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        return not any(type(v) is dict or type(v) is list for v in value.values())
    if kind is list:
        return not any(type(v) is dict or type(v) is list for v in value)
    return not isinstance(value, dict | list) or all(not isinstance(v, dict | list) for v in
                                                        (value.values() if isinstance(value, dict) else value))


def dumps(data: Any, pad: str = "") -> str:
    """Strict JSON text of JSON-safe data (``json_safe``), indented by two spaces per level;
    a short list of scalars (an interval) stays on one line and every element of a longer list
    that is a scalar or a flat record gets one line: the long tables (routing curve, items)
    stay readable and are encoded by the C encoder."""
    inner = pad + "  "
    if isinstance(data, dict) and data:
        return "{\n" + ",\n".join(f"{inner}{_encode(str(k))}: {dumps(v, inner)}" for k, v in data.items()) \
            + "\n" + pad + "}"
    if isinstance(data, list) and len(data) <= 8 and not any(isinstance(v, dict | list) for v in data):
        return _encode(data)  # short list of scalars (an interval): one line
    if isinstance(data, _Rows) and data:
        lines = [_encode(v) for v in data]  # flat rows of JSON-safe scalars
        return "[\n" + ",\n".join(inner + line for line in lines) + "\n" + pad + "]"
    if isinstance(data, list) and data:
        lines = [_encode(v) if _flat(v) else dumps(v, inner) for v in data]
        return "[\n" + ",\n".join(inner + line for line in lines) + "\n" + pad + "]"
    return _encode(data)


def json_safe(obj: Any) -> Any:
    """Recursively convert numpy scalars to Python and non-finite floats to None."""
    kind = type(obj)
    if kind is float:  # the common cases first: large tables are mostly Python floats, ints and text
        return obj if math.isfinite(obj) else None
    if kind is int or kind is str or obj is None or kind is _Rows:
        return obj
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


def _with_ci(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Fold ``<name>_ci_low`` / ``<name>_ci_high`` into ``<name>_ci = [low, high]``."""
    out = {key: value for key, value in row.items() if not key.endswith(("_ci_low", "_ci_high"))}
    for name in names:
        out[f"{name}_ci"] = [row[f"{name}_ci_low"], row[f"{name}_ci_high"]]
    return out


class _Rows(list[dict[str, Any]]):
    """Table rows whose values are already JSON-safe scalars (``_records``): ``json_safe`` and
    ``dumps`` take them as they are (one line per row)."""


def _column_values(column: pd.Series) -> list[Any] | None:
    """The JSON-safe values of a numeric, boolean or text column (non-finite and missing -> None);
    None for any other column (``json_safe`` then converts its values one by one)."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        out: list[Any] = column.tolist()
        return [v if type(v) is str else None for v in out] if column.hasnans else out
    if not isinstance(dtype, np.dtype) or dtype.kind not in "iubf":  # object, nullable, dates: one by one
        return None
    out = column.tolist()
    if dtype.kind == "f":
        for at in np.flatnonzero(~np.isfinite(column.to_numpy())):
            out[at] = None
    return out


def _records(df: pd.DataFrame) -> list[dict[Any, Any]]:
    """``df.to_dict("records")``, built from one ``tolist`` per column (the same values once
    ``json_safe``; several times faster on the long tables: routing curve, items). When every
    column is numeric, boolean or text the rows come JSON-safe already (``_Rows``)."""
    if not len(df.columns) or not df.columns.is_unique:
        records: list[dict[Any, Any]] = df.to_dict("records")
        return records
    keys = [str(k) for k in df.columns]
    safe = [_column_values(df.iloc[:, i]) for i in range(len(keys))]
    columns = [v if v is not None else df.iloc[:, i].tolist() for i, v in enumerate(safe)]
    rows = [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
    return _Rows(rows) if all(v is not None for v in safe) else rows


def _curves(curve: pd.DataFrame) -> dict[Any, list[dict[Any, Any]]]:
    """The routing curve's points (threshold, share_ai, accuracy) per condition, in table order."""
    out: dict[Any, list[dict[Any, Any]]] = {}
    if not len(curve):
        return out
    points = _records(curve[["threshold", "share_ai", "accuracy"]])
    kind = type(points)  # _Rows when the points are JSON-safe already
    for cond, point in zip(curve["condition"].tolist(), points, strict=True):
        out.setdefault(cond, kind()).append(point)
    return out


def _hybrid_dict(row: dict[str, Any], curves: dict[Any, list[dict[Any, Any]]]) -> dict[str, Any]:
    cond = row["condition"]
    out: dict[str, Any] = {"condition": cond, "n": row["n"]}
    for name in ("human_only", "ai_only", "oracle"):
        out[name] = row[name]
        out[f"{name}_ci"] = [row[f"{name}_ci_low"], row[f"{name}_ci_high"]]
    out["curve"] = curves.get(cond, [])
    out.update({"cv_threshold": row["cv_threshold"], "fold_thresholds": row["fold_thresholds"],
                "n_folds": row["n_folds"], "cv_accuracy": row["cv_accuracy"],
                "cv_accuracy_ci": [row["cv_accuracy_ci_low"], row["cv_accuracy_ci_high"]],
                "complementarity": row["complementarity"],
                "complementarity_ci": [row["complementarity_ci_low"], row["complementarity_ci_high"]],
                "complementary": row["complementary"], "n_splits": row["n_splits"]})
    out["cv_accuracy_splits"] = {key: row[f"cv_accuracy_split_{key}"] for key in ("min", "max", "sd")}
    out["complementarity_splits"] = {key: row[f"complementarity_split_{key}"] for key in ("min", "max", "sd")}
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
    reference: str | None = None,
    labels: list[str] | None = None,
    n_splits: int = engine.N_SPLITS,
    threads: int | None = None,
    bootstrap: str = "auto",
) -> AnalysisResult:
    """The full analysis of a raw judgments table.

    Labels are checked (``analysis.labels.check_labels`` against ``labels`` or the gold
    labels), then ``prepare(df, exclusions)``; the reference condition is ``reference``
    or the condition whose ``assistance_kind`` is ``none``. One two-way cluster bootstrap
    run (``n_boot`` replicates, ``seed``) gives the metrics, the K-fold cross-fitted
    hybrid routing (median over ``n_splits`` fold splits), the contrasts against the
    reference, effect sizes and team complementarity; then the routing curve, the
    regression models (skipped with ``fit=False``), the reviewer analyses (trial
    position, item difficulty, routing by human and by both confidences) and the
    reliability-diagram table. ``notes`` say why anything is null and what was excluded.
    The bootstrap runs on ``threads`` threads (default: ``$OVERSIGHT_THREADS``, else the CPU
    count; ``analysis.parallel``); the numbers do not depend on it. ``bootstrap``: ``exact``
    (product weights), ``additive`` (:mod:`analysis.additive`) or ``auto`` (additive from
    ``analysis.additive.AUTO_JUDGMENTS`` analysed judgments); ``settings["bootstrap"]`` says which ran.
    """
    check_labels(df, labels)
    data, excluded = prepare_with_report(df, exclusions)
    with schema.shared_codes():  # every analysis below factorises the same columns of ``data``: once
        return _analyze_prepared(df, data, excluded, exclusions, n_boot=n_boot, seed=seed, k=k, ci=ci, fit=fit,
                                 reference=reference, n_splits=n_splits, threads=threads, bootstrap=bootstrap)


def _analyze_prepared(df: pd.DataFrame, data: pd.DataFrame, excluded: dict[str, int],
                      exclusions: ExclusionRules | None, *, n_boot: int, seed: int, k: int, ci: float, fit: bool,
                      reference: str | None, n_splits: int, threads: int | None = None,
                      bootstrap: str = "auto") -> AnalysisResult:
    schema.warm_codes(data, parallel.thread_count(threads))  # once, before the two threads need them
    ref, why = conditions.reference_condition(data, reference)
    # One BLAS thread for the whole section: the limit is process-wide, so the nested limits of the
    # two threads (engine, models, trials) must not restore it out of order; this restores it once.
    with threadpool_limits(1, "blas"), ThreadPoolExecutor(max_workers=1) as pool:
        side: Future[dict[str, Any]] | None = None
        if parallel.thread_count(threads) > 1:
            side = pool.submit(contextvars.copy_context().run, _side_tables, data, ref, fit, k, seed, n_splits)
        run = engine.run(data, n_boot=n_boot, seed=seed, k=k, n_splits=n_splits, reference=ref, threads=threads,
                         bootstrap=bootstrap)
        metrics, notes = reliance.metrics_table(run, data, ci)
        summary, hybrid_notes = hybrid.summary_table(run, data, ci)
        curve = hybrid.curve_table(run.layout) if not hybrid_notes else hybrid.hybrid_curve(data)
        tables = side.result() if side is not None else _side_tables(data, ref, fit, k, seed, n_splits)
    notes = [why, *_exclusion_notes(excluded), *notes]
    if run.bootstrap == "additive" and n_boot > 0:
        notes.append(f"bootstrap: additive two-way (weights R + I - 1, fixed fold thresholds) for {len(data)} "
                     "judgments; --bootstrap exact for the product weights")
    fitted = tables.pop("fitted")
    notes += hybrid_notes + [f"model {r['model']} ({r['outcome']}): {r['note']}"
                             for r in fitted.to_dict("records") if r["term"] is None]
    settings = {"n_boot": n_boot, "seed": seed, "bootstrap": run.bootstrap, "k": run.layout.k,
                "n_splits": run.layout.n_splits, "ci": ci,
                "n_input_rows": len(df), "n_analysed_rows": len(data), "reference": ref,
                "difficulty_source": tables.pop("source"), "excluded": excluded,
                "exclusions": exclusions.model_dump() if exclusions is not None else None}
    if trials.POSITION not in data.columns:
        notes.append("trial position: null, missing column position")
    return AnalysisResult(
        metrics, curve, summary, fitted, tables.pop("reliability"), notes, settings,
        contrasts=contrasts.contrast_table(run, ci), effect_sizes=contrasts.effect_size_table(run, ci),
        team=contrasts.team_table(run, ci), **tables,
    )


def _side_tables(data: pd.DataFrame, ref: str | None, fit: bool, k: int, seed: int,
                 n_splits: int) -> dict[str, Any]:
    """The analyses that do not use the bootstrap: models, item difficulty, reliability diagram,
    trial position, routing by confidence (keyword arguments of ``AnalysisResult``, plus
    ``fitted`` and the difficulty ``source``)."""
    items, source = difficulty.item_difficulty(data, ref)
    return {
        "fitted": models.fit_models(data, reference=ref) if fit else pd.DataFrame(columns=models.MODEL_COLUMNS),
        "items": items, "source": source, "difficulty": difficulty.difficulty_bins(items),
        "reliability": reliability.reliability_table(data), "position_bins": trials.position_bins(data),
        "position_slopes": trials.position_slopes(data),
        "routing_rules": confidence_routing.routing_by_confidence(data, k=k, seed=seed, n_splits=n_splits),
    }


def _exclusion_notes(excluded: dict[str, int]) -> list[str]:
    labels = {"practice_rows": "practice rows", "attention_check_rows": "attention-check rows",
              "raters_failed_attention": "raters over the attention-failure limit",
              "judgments_failed_attention": "judgments of those raters",
              "raters_excluded_status": "raters with an excluded rater_status",
              "judgments_excluded_status": "judgments of those raters",
              "judgments_too_fast": "judgments faster than min_time_ms",
              "judgments_too_slow": "judgments slower than max_time_ms"}
    parts = [f"{excluded[key]} {text}" for key, text in labels.items() if excluded.get(key)]
    return [f"excluded: {'; '.join(parts)}; {excluded['judgments_kept']} judgments analysed"] if parts else []
