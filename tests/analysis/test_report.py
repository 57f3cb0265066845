"""analyze(): JSON shape, null-with-reason for missing columns, HTML report, charts, exclusions."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from analysis import (
    ExclusionRules,
    accuracy_chart,
    analyze,
    attention_failures,
    condition_metrics,
    hybrid_chart,
    hybrid_curve,
    hybrid_summary,
    prepare,
    reliability_chart,
    reliability_table,
    simulate_judgments,
)

CONDITION_KEYS = {"condition", "n", "accuracy", "agreement_with_ai", "over_reliance", "under_reliance",
                  "accuracy_when_ai_correct", "accuracy_when_ai_wrong", "rair", "rsr"}
HYBRID_KEYS = {"condition", "human_only", "ai_only", "oracle", "curve", "cv_threshold", "cv_accuracy",
               "cv_accuracy_ci", "complementarity"}


@pytest.fixture(scope="module")
def result():
    return analyze(simulate_judgments(24, 20, seed=1, two_stage=True), n_boot=50, seed=0, k=3)


def test_json_shape(result) -> None:
    out = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {"conditions", "hybrid", "models", "notes"} <= set(out)
    for row in out["conditions"]:
        assert set(row) >= CONDITION_KEYS
        for key in CONDITION_KEYS - {"condition", "n"}:
            assert len(row[f"{key}_ci"]) == 2
    for row in out["hybrid"]:
        assert set(row) >= HYBRID_KEYS
        assert len(row["cv_accuracy_ci"]) == 2
        assert set(row["curve"][0]) == {"threshold", "share_ai", "accuracy"}
    assert {r["condition"] for r in out["conditions"]} == {"none", "evidence", "reasoning", "debate", "overall"}
    assert out["models"] and {"model", "outcome", "term", "estimate", "se", "ci_low", "ci_high",
                              "p_value"} <= set(out["models"][0])


def test_missing_columns_null_with_reason() -> None:
    df = simulate_judgments(12, 10, seed=2).drop(columns=["initial_label", "ai_confidence", "confidence"])
    res = analyze(df, n_boot=20, fit=False)
    out = res.to_dict()
    json.dumps(out, allow_nan=False)
    row = out["conditions"][0]
    for name in ("rair", "rsr", "switch_rate", "rater_brier", "rater_ece", "ai_brier", "ai_ece"):
        assert row[name] is None and row[f"{name}_ci"] == [None, None]
        assert any(note.startswith(f"{name}: null, missing column") for note in out["notes"])
    assert row["accuracy"] is not None
    assert all(h["cv_accuracy"] is None for h in out["hybrid"])
    assert any("hybrid routing: null" in note for note in out["notes"])


def test_missing_identifiers_do_not_crash() -> None:
    df = simulate_judgments(6, 5, seed=2).drop(columns=["rater_id", "condition", "gold_label"])
    out = analyze(df, n_boot=10).to_dict()
    assert out["conditions"][0]["accuracy"] is None
    assert out["conditions"][0]["agreement_with_ai"] is not None
    assert any("rater_id missing" in n for n in out["notes"])
    assert any("model" in n for n in out["notes"])


def test_empty_denominator_noted(make_hand_table) -> None:
    df = make_hand_table().drop(columns=["initial_label"]).assign(initial_label=None)
    res = analyze(df, n_boot=10, fit=False)
    assert res.metrics.set_index("condition").loc["reasoning", "rair"] != res.metrics.set_index(
        "condition").loc["reasoning", "rair"]  # NaN
    assert any(n.startswith("rair: null in condition reasoning") for n in res.notes)


def test_html_is_self_contained(result) -> None:
    page = result.to_html()
    assert page.startswith("<!doctype html>") and "vegaEmbed(" in page
    assert "https://cdn" not in page and "<script src=" not in page
    assert "over_reliance" in page


def test_charts_compile_to_valid_vega_lite(result) -> None:
    import vl_convert as vlc

    for name, chart in result.charts().items():
        assert isinstance(chart, alt.TopLevelMixin), name
        assert vlc.vegalite_to_svg(chart.to_dict()).lstrip().startswith("<svg"), name


def test_chart_functions_take_tidy_tables() -> None:
    df = simulate_judgments(8, 8, seed=3)
    assert isinstance(accuracy_chart(condition_metrics(df, n_boot=10)), alt.LayerChart)
    assert isinstance(hybrid_chart(hybrid_curve(df), hybrid_summary(df, n_boot=10, k=2)), alt.FacetChart)
    table = reliability_table(df)
    assert set(table["source"]) == {"rater", "ai"} and (table["n"] > 0).all()
    assert isinstance(reliability_chart(table), alt.LayerChart)


def _reliability_by_groupby(df: pd.DataFrame) -> pd.DataFrame:
    """The reliability table by a pandas groupby per (condition, source, bin), an independent computation."""
    parts = []
    for source, conf_col, label in (("rater", "confidence", "final_label"), ("ai", "ai_confidence", "ai_label")):
        rows = df.dropna(subset=[conf_col, label, "gold_label", "condition"])
        parts.append(pd.DataFrame({"condition": rows["condition"].to_numpy(dtype=object), "source": source,
                                   "bin": np.clip(np.floor(rows[conf_col] * 10), 0, 9).astype(int).to_numpy(),
                                   "confidence": rows[conf_col].to_numpy(),
                                   "correct": (rows[label] == rows["gold_label"]).astype(float).to_numpy()}))
    return pd.concat(parts).groupby(["condition", "source", "bin"], as_index=False).agg(
        mean_confidence=("confidence", "mean"), accuracy=("correct", "mean"), n=("correct", "size"))


def test_reliability_table_equals_groupby() -> None:
    df = simulate_judgments(12, 10, seed=5)
    df.loc[df.index[::7], "confidence"] = np.nan
    df.loc[df.index[::11], "condition"] = np.nan  # left out
    df.loc[df.index[:3], "confidence"] = 1.0  # p = 1 falls in the last bin
    got, want = reliability_table(df), _reliability_by_groupby(df)
    assert list(got.columns) == list(want.columns)
    assert got[["condition", "source", "bin", "n"]].to_dict("list") == want[["condition", "source", "bin", "n"]].to_dict("list")
    np.testing.assert_allclose(got[["mean_confidence", "accuracy"]], want[["mean_confidence", "accuracy"]], rtol=1e-12)


def _raw() -> pd.DataFrame:
    df = simulate_judgments(6, 4, seed=8, conditions=["none"])
    att = df.groupby("rater_id").head(1).copy()
    att["is_attention_check"] = True
    att["item_id"] = "attn"
    att["final_label"] = att["gold_label"]
    att.loc[att.index[0], "final_label"] = "other"  # rater r00000 fails one check
    prac = df.groupby("rater_id").head(1).copy().assign(is_practice=True, item_id="prac")
    df.loc[df["rater_id"] == "r00001", "rater_status"] = "timed_out"
    df.loc[df.index[-1], "time_ms"] = 5
    return pd.concat([df, att, prac], ignore_index=True)


def test_prepare_applies_rules_in_order() -> None:
    raw = _raw()
    assert attention_failures(raw).to_dict()["r00000"] == 1
    plain = prepare(raw)
    assert not plain["is_practice"].any() and not plain["is_attention_check"].any()
    assert len(plain) == 24
    rules = ExclusionRules(min_time_ms=100, max_attention_failures=0)
    kept = prepare(raw, rules)
    assert set(kept["rater_id"]) == {"r00002", "r00003", "r00004", "r00005"}
    assert len(kept) == 4 * 4 - 1  # the 5 ms judgment is gone too
    lenient = prepare(raw, ExclusionRules(max_attention_failures=1, exclude_statuses=[]))
    assert set(lenient["rater_id"]) == {f"r0000{i}" for i in range(6)}


def test_exclusion_rules_match_config_field_names() -> None:
    rules = ExclusionRules.model_validate({"drop_failed_attention": False, "max_attention_failures": 2,
                                           "min_time_ms": 1, "max_time_ms": 9, "exclude_statuses": ["x"]})
    assert rules.max_time_ms == 9 and prepare(_raw(), rules).shape[0] < _raw().shape[0]


def test_inference_sections_in_json_and_html() -> None:
    df = simulate_judgments(24, 20, seed=1, two_stage=True)
    df["assistance_kind"] = df["condition"]
    df["position"] = df.groupby("rater_id").cumcount()
    res = analyze(df, n_boot=30, seed=0, k=3)
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert set(out["contrasts"][0]) == {"condition", "reference", "metric", "estimate", "ci_low", "ci_high",
                                        "p_value", "p_holm"}
    assert set(out["team"][0]) == {"condition", "assisted_accuracy", "unassisted_accuracy", "ai_accuracy",
                                   "complementarity", "complementarity_ci"}
    assert {r["condition"] for r in out["team"]} == {"evidence", "reasoning", "debate"}
    assert {"rair", "rsr", "cv_accuracy"} <= {r["metric"] for r in out["contrasts"]}  # two-stage: defined
    assert out["by_position"]["slopes"] and out["by_position"]["bins"]
    assert len(out["items"]) == 20 and len(out["difficulty"]) == 5
    assert {r["rule"] for r in out["routing_rules"]} == {"human_confidence", "both_confidences"}
    assert out["hybrid"][0]["n_splits"] == 5 and set(out["hybrid"][0]["cv_accuracy_splits"]) == {"min", "max", "sd"}
    assert out["settings"]["reference"] == "none"
    page = res.to_html()
    for heading in ("Contrasts against the reference condition (none)", "Team complementarity",
                    "Routing by human confidence", "Learning and fatigue", "Item difficulty and AI errors"):
        assert heading in page


def test_dumps_matches_the_standard_encoder_and_refuses_nan() -> None:
    """The reused C encoder writes what ``json.JSONEncoder.encode`` writes, row by row, and stays strict."""
    from analysis.report import dumps

    rows = [{"item": "é\n", "p": 0.1 + 0.2, "n": 3, "ok": True, "x": None}, {"item": "b", "p": 1e-300, "n": -1,
                                                                               "ok": False, "x": "1"}] * 5
    text = dumps({"rows": rows})
    assert json.loads(text) == {"rows": rows}
    standard = json.JSONEncoder(allow_nan=False, separators=(", ", ": ")).encode
    assert [line.strip().rstrip(",") for line in text.splitlines()[2:-2]] == [standard(r) for r in rows]
    for bad in (float("nan"), [1.0, float("inf")], {"a": [float("-inf")]}):
        with pytest.raises(ValueError):
            dumps(bad)


def test_analysis_leaves_the_blas_thread_count_as_it_found_it() -> None:
    """The analysis runs two threads that each limit BLAS (a process-wide setting); afterwards the
    process must have its own setting back (a long-lived dashboard would otherwise stay at 1)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    df = simulate_judgments(30, 20, seed=3, two_stage=True)
    with threadpool_limits(2, "blas"):
        before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        for _ in range(3):
            analyze(df, n_boot=30, threads=2)
            after = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
            assert after == before


def test_table_rows_are_json_safe_whatever_the_column_types() -> None:
    """Rows built per column (numeric, boolean, text: safe at once; nullable and object: one by one)
    equal the plain records made JSON-safe value by value."""
    from analysis.report import _records, dumps, json_safe

    df = pd.DataFrame({
        "x": [1.5, np.nan, np.inf], "n": np.array([1, 2, 3], dtype=np.int64), "ok": [True, False, True],
        "name": pd.Series(["a", None, "c"], dtype="str"), "count": pd.Series([1, None, 3], dtype="Int64"),
        "ids": [[1, 2], [], [3]],
    })
    for cols in (["x", "n", "ok", "name"], list(df.columns)):
        rows = _records(df[cols])
        want = json_safe(df[cols].to_dict("records"))
        assert json.loads(dumps(json_safe(rows))) == want
        assert json.loads(json.dumps(json_safe(rows), allow_nan=False)) == want
