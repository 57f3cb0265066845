"""The charts read at a glance: page-wide, unrotated condition labels, shared y where
panels sit side by side, the AI alone drawn once; and they download as PNG/SVG."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import AIProfile, SimulationProfile

MIN_WIDTH = 600


@pytest.fixture(scope="module")
def study() -> tuple[pd.DataFrame, analysis.AnalysisResult]:
    """A five-condition study with an AI right about 85% of the time (as the demo's controlled AI)."""
    profile = SimulationProfile(ai=AIProfile(accuracy=0.85), rater_sd=0.3, item_sd=0.3)
    df = analysis.simulate_judgments(50, 30, profile, seed=11, items_per_rater=15)
    df["assistance_kind"] = df["condition"]
    return df, analysis.analyze(df, exclusions=analysis.ExclusionRules(), n_boot=200, seed=1)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _page_width(spec: dict[str, Any], n_panels: int) -> float:
    if spec.get("width") == "container":
        return float("inf")
    if "facet" in spec:
        return float(spec["spec"]["width"]) * min(spec.get("columns", n_panels), n_panels)
    return float(spec.get("width", 0))


def test_every_chart_spans_the_page(study: tuple[pd.DataFrame, analysis.AnalysisResult]) -> None:
    _, result = study
    n_conditions = int((result.metrics["condition"] != "overall").sum())
    charts = result.charts()
    assert {"overview", "accuracy", "reliance", "ai_split", "rair_rsr", "reliability", "hybrid"} <= set(charts)
    for name, chart in charts.items():
        spec = chart.to_dict()
        assert _page_width(spec, n_conditions) >= MIN_WIDTH, name


def test_condition_labels_are_horizontal_on_the_y_axis(study: tuple[pd.DataFrame, analysis.AnalysisResult]) -> None:
    _, result = study
    for name in ("overview", "accuracy", "reliance", "ai_split", "rair_rsr"):
        spec = result.charts()[name].to_dict()
        encodings = [n["encoding"] for n in _walk(spec) if isinstance(n.get("encoding"), dict)]
        assert any(e.get("y", {}).get("field") == "condition" for e in encodings), name
        assert not any(e.get("x", {}).get("field") == "condition" for e in encodings), name
        angles = [n["labelAngle"] for n in _walk(spec) if "labelAngle" in n]
        assert all(a == 0 for a in angles), (name, angles)


def test_side_by_side_panels_share_one_y_scale(study: tuple[pd.DataFrame, analysis.AnalysisResult]) -> None:
    _, result = study
    spec = result.charts()["hybrid"].to_dict()
    assert "facet" in spec and spec["resolve"]["scale"]["y"] == "shared"
    assert spec["columns"] == 2 and spec["spec"]["width"] * 2 >= MIN_WIDTH


def _layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in _walk(spec) if "mark" in n]


def _mark(layer: dict[str, Any]) -> str:
    mark = layer["mark"]
    return str(mark["type"] if isinstance(mark, dict) else mark)


def test_overview_draws_the_ai_alone_once_and_each_condition(
        study: tuple[pd.DataFrame, analysis.AnalysisResult]) -> None:
    df, result = study
    spec = result.charts()["overview"].to_dict()
    rules = [layer for layer in _layers(spec) if _mark(layer) == "rule"]
    assert len(rules) == 1
    rows = spec["datasets"][rules[0]["data"]["name"]]
    assert len(rows) == 1
    # independent: mean(a == y) over the analysed judgments
    assert rows[0]["value"] == pytest.approx(float((df["ai_label"] == df["gold_label"]).mean()))
    assert 0.78 < rows[0]["value"] < 0.92
    data, _ = analysis.overview_table(result.metrics, result.hybrid)
    raters = data[data["series"] == analysis.charts.OVERVIEW_SERIES[0]].set_index("condition")["value"]
    want = (df["final_label"] == df["gold_label"]).groupby(df["condition"]).mean()
    assert np.allclose(raters.sort_index(), want.sort_index())
    hybrid = data[data["series"] == analysis.charts.OVERVIEW_SERIES[1]].set_index("condition")["value"]
    assert np.allclose(hybrid.sort_index(), result.hybrid.set_index("condition")["cv_accuracy"].sort_index())
    colours = [n["scale"] for n in _walk(spec) if n.get("field") == "series" and "scale" in n]
    assert colours and all(len(set(c["range"])) == len(c["domain"]) == 3 for c in colours)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@pytest.mark.parametrize("name", ["overview", "hybrid", "reliability"])
def test_figures_download_as_png_and_svg(study: tuple[pd.DataFrame, analysis.AnalysisResult], name: str) -> None:
    chart = study[1].charts()[name]
    width, height = _png_size(analysis.figure_bytes(chart, "png"))
    assert width >= 2 * MIN_WIDTH and height > 200  # scale 2
    svg = analysis.figure_bytes(chart, "svg").decode()
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg
    if name == "overview":
        assert "AI alone" in svg and "none" in svg
    wider = _png_size(analysis.figure_bytes(chart, "png", width=1400, scale=1))[0]
    if name != "hybrid":  # a container-wide chart takes the width asked for
        assert wider > width / 2 + 400
    with pytest.raises(ValueError, match="png"):
        analysis.figure_bytes(chart, "pdf")  # type: ignore[arg-type]


def test_notes_are_grouped_with_their_conditions() -> None:
    conds = ["none", "evidence", "reasoning", "debate", "consultancy", "overall"]
    notes = ["no reference condition: the table has no assistance_kind column"]
    for cond in conds:
        notes += [f"rair: null in condition {cond}, no two-stage judgments with h0 != y on items where the AI is right",
                  f"rsr: null in condition {cond}, no two-stage judgments with h0 == y on items where the AI is wrong",
                  f"switch_rate: null in condition {cond}, no two-stage judgments (initial_label empty)"]
    notes += ["trial position: null, missing column position", "trial position: null, missing column position",
              "excluded: 3 practice rows; 90 judgments analysed"]
    grouped = analysis.group_notes(notes)
    assert list(grouped.columns) == analysis.NOTE_COLUMNS
    assert len(grouped) == 6 and grouped["count"].sum() == len(notes)
    assert list(grouped["kind"]) == ["reference", "exclusions"] + ["metric not computed"] * 4
    rair = grouped[grouped["note"].str.startswith("rair")].iloc[0]
    assert rair["count"] == 6 and rair["conditions"] == ", ".join(conds)
    assert rair["note"] == "rair: null, no two-stage judgments with h0 != y on items where the AI is right"
    position = grouped[grouped["note"].str.startswith("trial position")].iloc[0]
    assert position["count"] == 2 and position["conditions"] == ""
    assert analysis.group_notes([]).empty
