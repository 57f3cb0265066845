"""Reliance analysis of human-AI oversight studies, on a tidy judgments DataFrame.

Formulas are in :mod:`analysis.definitions` and docs/metrics.md. This package never
imports ``study``: it works on a table from anywhere. The charts (altair), the simulation
and the power analysis load on first use, so ``import analysis`` stays light.
"""

import importlib
from typing import TYPE_CHECKING, Any

from analysis.conditions import ReferenceConditionError, reference_condition
from analysis.confidence_routing import routing_by_confidence
from analysis.contrasts import CONTRAST_METRICS, bootstrap_p, holm
from analysis.definitions import METRIC_NAMES, METRICS, MetricDef
from analysis.difficulty import difficulty_bins, item_difficulty
from analysis.exclusions import ExclusionRules, attention_failures, prepare, prepare_with_report
from analysis.hybrid import hybrid_curve, hybrid_summary
from analysis.labels import LabelError, check_labels
from analysis.models import MODEL_COLUMNS, fit_models
from analysis.notes import NOTE_COLUMNS, NOTE_KINDS, group_notes
from analysis.reliance import condition_metrics
from analysis.report import AnalysisResult, analyze, json_safe
from analysis.routing import assign_folds
from analysis.trials import position_bins, position_slopes

if TYPE_CHECKING:
    from analysis.charts import (
        FIGURE_WIDTH,
        accuracy_chart,
        ai_split_chart,
        figure_bytes,
        hybrid_chart,
        hybrid_table,
        overview_chart,
        overview_table,
        rair_rsr_chart,
        reliability_chart,
        reliance_chart,
    )
    from analysis.power import DEFAULT_ITEM_SD, DEFAULT_RATER_SD, power_analysis, raters_needed
    from analysis.reliability import reliability_table
    from analysis.simulation import (
        DEFAULT_PROFILE_BY_KIND,
        AIProfile,
        ConditionProfile,
        ConfidenceModel,
        RaterPolicy,
        SimItem,
        SimulationProfile,
        draw_rater_effect,
        item_effect,
        simulate_judgments,
        simulate_response,
    )

#: Public names defined in modules imported on first use (module ``__getattr__``, PEP 562).
_LAZY: dict[str, str] = {
    "FIGURE_WIDTH": "analysis.charts",
    "accuracy_chart": "analysis.charts",
    "ai_split_chart": "analysis.charts",
    "figure_bytes": "analysis.charts",
    "hybrid_chart": "analysis.charts",
    "hybrid_table": "analysis.charts",
    "overview_chart": "analysis.charts",
    "overview_table": "analysis.charts",
    "rair_rsr_chart": "analysis.charts",
    "reliability_chart": "analysis.charts",
    "reliability_table": "analysis.reliability",
    "reliance_chart": "analysis.charts",
    "DEFAULT_ITEM_SD": "analysis.power",
    "DEFAULT_RATER_SD": "analysis.power",
    "power_analysis": "analysis.power",
    "raters_needed": "analysis.power",
    "DEFAULT_PROFILE_BY_KIND": "analysis.simulation",
    "AIProfile": "analysis.simulation",
    "ConditionProfile": "analysis.simulation",
    "ConfidenceModel": "analysis.simulation",
    "RaterPolicy": "analysis.simulation",
    "SimItem": "analysis.simulation",
    "SimulationProfile": "analysis.simulation",
    "draw_rater_effect": "analysis.simulation",
    "item_effect": "analysis.simulation",
    "simulate_judgments": "analysis.simulation",
    "simulate_response": "analysis.simulation",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "FIGURE_WIDTH",
    "NOTE_COLUMNS",
    "NOTE_KINDS",
    "figure_bytes",
    "group_notes",
    "hybrid_table",
    "overview_chart",
    "overview_table",
    "CONTRAST_METRICS",
    "DEFAULT_ITEM_SD",
    "DEFAULT_RATER_SD",
    "LabelError",
    "ReferenceConditionError",
    "bootstrap_p",
    "check_labels",
    "routing_by_confidence",
    "difficulty_bins",
    "holm",
    "item_difficulty",
    "position_bins",
    "position_slopes",
    "prepare_with_report",
    "reference_condition",
    "AIProfile",
    "AnalysisResult",
    "ConditionProfile",
    "ConfidenceModel",
    "DEFAULT_PROFILE_BY_KIND",
    "ExclusionRules",
    "METRICS",
    "METRIC_NAMES",
    "MODEL_COLUMNS",
    "MetricDef",
    "RaterPolicy",
    "SimItem",
    "SimulationProfile",
    "accuracy_chart",
    "ai_split_chart",
    "analyze",
    "assign_folds",
    "attention_failures",
    "condition_metrics",
    "draw_rater_effect",
    "fit_models",
    "hybrid_chart",
    "hybrid_curve",
    "hybrid_summary",
    "item_effect",
    "json_safe",
    "power_analysis",
    "prepare",
    "rair_rsr_chart",
    "raters_needed",
    "reliability_chart",
    "reliability_table",
    "reliance_chart",
    "simulate_judgments",
    "simulate_response",
]
