"""The analyst dashboard: study or uploaded CSV, exclusion filters, every table of the analysis."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from support import monitor_sim

import analysis
from analysis import ExclusionRules
from study import service
from study.export import judgments_frame

N_BOOT = 100


def _ci(lo: float, hi: float) -> str:
    return "" if pd.isna(lo) else f"[{lo:.3f}, {hi:.3f}]"


def _fast(at, ui):  # noqa: ANN001, ANN202 - fewer bootstrap replicates so the test is quick
    at.number_input(key="dash_n_boot").set_value(N_BOOT)
    return ui.ok(at.run())


def test_study_tables_equal_the_python_api(app_engine: Engine, ui, dashboard) -> None:
    monitor_sim.simulate_study(app_engine, "dash", n_raters=16, n_timed_out=1, seed=4)
    at = _fast(ui.ok(dashboard()), ui)
    assert at.selectbox(key="dashboard_study").value == "dash"
    rules = ExclusionRules.model_validate(service.get_config(app_engine, "dash").exclusions.model_dump())
    want = analysis.analyze(judgments_frame(app_engine, "dash"), exclusions=rules, n_boot=N_BOOT, seed=0, k=5)

    acc = ui.frame(at, "table_accuracy")
    cols = ["condition", "n", "accuracy"]
    pd.testing.assert_frame_equal(acc[cols].reset_index(drop=True), want.metrics[cols].reset_index(drop=True),
                                  check_dtype=False)
    assert list(acc["accuracy 95% CI"]) == [_ci(lo, hi) for lo, hi in zip(
        want.metrics["accuracy_ci_low"], want.metrics["accuracy_ci_high"], strict=True)]
    assert not any(c.endswith(("_ci_low", "_ci_high")) for c in acc.columns)  # one interval column, not two
    rel = ui.frame(at, "table_reliance")
    assert np.allclose(rel["over_reliance"], want.metrics["over_reliance"], equal_nan=True)
    split = ui.frame(at, "table_ai_split")
    assert np.allclose(split["accuracy_when_ai_wrong"], want.metrics["accuracy_when_ai_wrong"], equal_nan=True)
    hybrid = ui.frame(at, "table_hybrid")
    assert np.allclose(hybrid["cv_accuracy"], want.hybrid["cv_accuracy"], equal_nan=True)
    assert len(ui.frame(at, "table_models")) == len(want.models)
    assert len(ui.frame(at, "table_calibration")) == len(want.metrics)
    assert "RAIR and RSR need two-stage trials" in ui.texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Judgments analysed"] == str(want.settings["n_analysed_rows"])
    report = next(b for b in at.get("download_button") if b.key == "report_html")
    assert report.label == "Download the HTML report"
    charts = at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart")
    assert len(charts) >= 5


def test_exclusion_filters_change_what_is_analysed(app_engine: Engine, ui, dashboard) -> None:
    monitor_sim.simulate_study(app_engine, "dash", n_raters=16, n_timed_out=1, seed=4)
    at = _fast(ui.ok(dashboard()), ui)
    applied = int({m.label: m.value for m in at.metric}["Judgments analysed"])
    toggle = next(t for t in at.toggle if t.key.startswith("ex_apply_"))
    toggle.set_value(False)
    at = ui.ok(at.run())
    everything = int({m.label: m.value for m in at.metric}["Judgments analysed"])
    jf = judgments_frame(app_engine, "dash")
    assert everything == int((~jf["is_practice"] & ~jf["is_attention_check"]).sum())
    assert applied < everything  # the simulation has failed and timed-out raters
    want = analysis.analyze(jf, exclusions=None, n_boot=N_BOOT).metrics["accuracy"]
    assert np.allclose(ui.frame(at, "table_accuracy")["accuracy"], want, equal_nan=True)


def test_uploaded_two_stage_csv_shows_rair_and_rsr(app_engine: Engine, ui, dashboard) -> None:
    df = analysis.simulate_judgments(40, 24, seed=2, two_stage=True, items_per_rater=12)
    at = ui.ok(dashboard())
    at.radio(key="dash_source").set_value("Upload a judgments CSV")
    at = ui.ok(at.run())
    at.file_uploader(key="dash_upload").set_value(("sim.csv", df.to_csv(index=False).encode(), "text/csv"))
    at = _fast(ui.ok(at.run()), ui)
    table = ui.frame(at, "table_rair_rsr")
    want = analysis.analyze(df, exclusions=ExclusionRules(), n_boot=N_BOOT).metrics
    assert np.allclose(table["rair"], want["rair"], equal_nan=True)
    assert np.allclose(table["rsr"], want["rsr"], equal_nan=True)
    assert table["rair"].notna().any()


def test_unreadable_upload_is_reported(app_engine: Engine, ui, dashboard) -> None:
    at = ui.ok(dashboard())
    at.radio(key="dash_source").set_value("Upload a judgments CSV")
    at = ui.ok(at.run())
    at.file_uploader(key="dash_upload").set_value(("bad.csv", b"\xff\xfe\x00garbage\x00", "text/csv"))
    at = ui.ok(at.run())
    assert at.error and "bad.csv" in at.error[0].value


def test_study_without_judgments_says_so(app_engine: Engine, ui, dashboard) -> None:
    from study.testing import ready_study, small_config

    ready_study(app_engine, small_config("empty"))
    at = ui.ok(dashboard())
    assert "has no judgments yet" in ui.texts(at)


def test_first_view_answers_the_question(app_engine: Engine, ui, dashboard) -> None:
    """Overview chart first, then team and contrasts (Holm) as the Python API computes them."""
    monitor_sim.simulate_study(app_engine, "dash", n_raters=16, n_timed_out=1, seed=4)
    at = _fast(ui.ok(dashboard()), ui)
    rules = service.get_config(app_engine, "dash").exclusions
    jf = judgments_frame(app_engine, "dash")
    want = analysis.analyze(jf, exclusions=rules, n_boot=N_BOOT, seed=0, k=5)
    charts = at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart")
    first = json.loads(charts[0].proto.spec)
    assert first["title"].startswith("Accuracy by condition") and first["width"] == "container"
    _, ai_alone = analysis.overview_table(want.metrics, want.hybrid)
    analysed = analysis.prepare(jf, rules)
    assert ai_alone == pytest.approx(float((analysed["ai_label"] == analysed["gold_label"]).mean()))
    assert f"the AI alone, {ai_alone:.3f} of the analysed judgments right" in ui.texts(at)

    team = ui.frame(at, "table_team")
    assert len(want.team) > 0 and list(team["condition"]) == list(want.team["condition"])
    assert np.allclose(team["complementarity"], want.team["complementarity"], equal_nan=True)
    assert np.allclose(team["ai_accuracy"], want.team["ai_accuracy"], equal_nan=True)
    assert list(team["complementarity 95% CI"]) == [_ci(lo, hi) for lo, hi in zip(
        want.team["complementarity_ci_low"], want.team["complementarity_ci_high"], strict=True)]
    contrasts = ui.frame(at, "table_contrasts")
    assert len(contrasts) == len(want.contrasts) > 0
    assert np.allclose(contrasts["p_holm"], want.contrasts["p_holm"], equal_nan=True)
    assert np.allclose(contrasts["estimate"], want.contrasts["estimate"], equal_nan=True)
    assert (contrasts["p_holm"] >= contrasts["p_value"] - 1e-12).all()  # Holm never lowers a p-value
    assert f"Contrasts against {want.settings['reference']}" in [s.value for s in at.subheader]


def test_downloads_offer_report_and_figures(app_engine: Engine, ui, dashboard) -> None:
    monitor_sim.simulate_study(app_engine, "dash", n_raters=12, seed=5)
    at = _fast(ui.ok(dashboard()), ui)
    buttons = {b.key: b for b in at.get("download_button")}
    assert {"report_html", "figure_png", "figure_svg"} <= set(buttons)
    figures = at.selectbox(key="figure_name")
    assert figures.value == "overview" and "Hybrid routing" in figures.options
    figures.set_value("hybrid")
    at = ui.ok(at.run())
    assert at.selectbox(key="figure_name").value == "hybrid"


def test_notes_are_grouped(app_engine: Engine, ui, dashboard) -> None:
    monitor_sim.simulate_study(app_engine, "dash", n_raters=12, seed=5)
    at = _fast(ui.ok(dashboard()), ui)
    want = analysis.analyze(judgments_frame(app_engine, "dash"),
                            exclusions=service.get_config(app_engine, "dash").exclusions, n_boot=N_BOOT)
    block = ui.block(at, "notes")
    assert block is not None
    lines = [line for m in block.markdown for line in m.value.splitlines() if line.startswith("- ")]
    grouped = analysis.group_notes(want.notes)
    assert len(lines) == len(grouped) < len(want.notes)
    assert len(set(lines)) == len(lines)
