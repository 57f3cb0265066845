"""Input handling: labels by value, rows without gold, the reference condition, CSV exclusions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis import LabelError, ReferenceConditionError, analyze, condition_metrics, simulate_judgments
from study.cli import app

METRICS = ["accuracy", "agreement_with_ai", "over_reliance", "under_reliance", "accuracy_when_ai_correct",
           "accuracy_when_ai_wrong", "rair", "rsr"]


def _numeric_labels(df: pd.DataFrame) -> pd.DataFrame:
    """The same study with 0/1 labels written the ways a CSV round trip produces them."""
    code = {"correct": 1, "incorrect": 0}
    out = df.copy()
    out["gold_label"] = df["gold_label"].map(code)  # int
    out["ai_label"] = df["ai_label"].map(code).astype(float)  # float 1.0 / 0.0
    out["final_label"] = df["final_label"].map({"correct": "1 ", "incorrect": "0"})  # text, with a space
    out["initial_label"] = df["initial_label"].map({"correct": "1.0", "incorrect": " 0 "})
    return out


def test_labels_match_by_value() -> None:
    df = simulate_judgments(16, 12, seed=3, two_stage=True)
    plain = condition_metrics(df, n_boot=0).set_index("condition")[METRICS]
    numeric = condition_metrics(_numeric_labels(df), n_boot=0).set_index("condition")[METRICS]
    pd.testing.assert_frame_equal(plain, numeric)
    assert plain.loc["reasoning", "over_reliance"] > 0  # the check is not vacuous


def test_float_ai_label_with_blank_attention_rows() -> None:
    df = _numeric_labels(simulate_judgments(12, 10, seed=4))
    att = df.groupby("rater_id").head(1).assign(is_attention_check=True, item_id="attn", ai_label=np.nan)
    raw = pd.concat([df, att], ignore_index=True)
    via_csv = pd.read_csv(pd.io.common.StringIO(raw.to_csv(index=False)))
    assert via_csv["ai_label"].dtype == float
    got = analyze(via_csv, n_boot=0, fit=False).metrics.set_index("condition")
    want = condition_metrics(df, n_boot=0).set_index("condition")
    assert got.loc["overall", "over_reliance"] == pytest.approx(want.loc["overall", "over_reliance"])
    assert got.loc["overall", "accuracy"] == pytest.approx(want.loc["overall", "accuracy"])


def test_unmatched_labels_name_column_and_values() -> None:
    df = simulate_judgments(6, 5, seed=1)
    df.loc[df.index[:2], "final_label"] = ["maybe", "Correct"]
    with pytest.raises(LabelError, match=r"column final_label: value\(s\) 'Correct', 'maybe'"):
        analyze(df, n_boot=0, fit=False)
    with pytest.raises(LabelError, match="study's labels"):
        analyze(simulate_judgments(6, 5, seed=1), n_boot=0, fit=False, labels=["yes", "no"])


def test_rows_without_gold_left_out_of_gold_metrics() -> None:
    df = simulate_judgments(10, 8, seed=5)
    df.loc[df["item_id"].isin(["i00002", "i00005"]), "gold_label"] = None  # gold is an item property
    res = analyze(df, n_boot=0, fit=False)
    known = df[df["gold_label"].notna()]
    for cond, rows in known.groupby("condition"):
        got = res.metrics.set_index("condition").loc[cond]
        assert got["accuracy"] == pytest.approx((rows["final_label"] == rows["gold_label"]).mean())
    hybrid = res.hybrid.set_index("condition")
    for cond, rows in known.groupby("condition"):
        assert hybrid.loc[cond, "ai_only"] == pytest.approx((rows["ai_label"] == rows["gold_label"]).mean())
    all_rows = res.metrics.set_index("condition").loc["overall", "agreement_with_ai"]
    assert all_rows == pytest.approx((df["final_label"] == df["ai_label"]).mean())  # not gold-based: all rows
    missing = int(df["gold_label"].isna().sum())
    assert any(n.startswith(f"{missing} judgment(s) without gold_label") for n in res.notes)


def test_reference_from_assistance_kind_or_explicit() -> None:
    df = simulate_judgments(16, 10, seed=6).replace({"condition": {"none": "control"}})
    no_kind = analyze(df, n_boot=20, fit=False)
    assert no_kind.contrasts.empty and no_kind.team.empty
    assert any("no reference condition" in n for n in no_kind.notes)
    df["assistance_kind"] = df["condition"].replace({"control": "none"})
    res = analyze(df, n_boot=20, fit=False)
    assert set(res.contrasts["reference"]) == {"control"}
    assert set(res.contrasts["condition"]) == {"evidence", "reasoning", "debate"}
    explicit = analyze(df, n_boot=20, fit=False, reference="evidence")
    assert set(explicit.contrasts["reference"]) == {"evidence"} and "control" in set(explicit.contrasts["condition"])
    with pytest.raises(ReferenceConditionError, match="'nope' is not in"):
        analyze(df, n_boot=0, fit=False, reference="nope")


def _raw_csv(tmp_path) -> str:  # type: ignore[no-untyped-def]
    df = simulate_judgments(8, 6, seed=8)
    df["assistance_kind"] = df["condition"]
    att = df.groupby("rater_id").head(1).copy().assign(is_attention_check=True, item_id="attn")
    att["final_label"] = att["gold_label"]
    att.loc[att["rater_id"] == "r00000", "final_label"] = np.where(
        att.loc[att["rater_id"] == "r00000", "gold_label"] == "correct", "incorrect", "correct")
    df.loc[(df["rater_id"] == "r00001") & (df["item_id"] == "i00000"), "time_ms"] = 10
    path = tmp_path / "j.csv"
    pd.concat([df, att], ignore_index=True).to_csv(path, index=False)
    return str(path)


def test_from_csv_applies_and_reports_exclusions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _raw_csv(tmp_path)
    runner = CliRunner()

    def raters(*flags: str) -> tuple[int, str]:
        res = runner.invoke(app, ["analyze", "--from-csv", path, "--n-boot", "0", "--no-models", *flags])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        overall = next(c for c in out["conditions"] if c["condition"] == "overall")
        return overall["n_raters"], res.stderr

    n, err = raters()
    assert n == 7 and "raters_failed_attention=1" in err and "judgments_too_fast=0" in err
    assert raters("--no-exclusions")[0] == 8
    assert raters("--max-attention-failures", "1")[0] == 8
    n, err = raters("--min-time-ms", "100")
    assert n == 7 and "judgments_too_fast=1" in err
