"""Export files: columns as in the codebook, values from the database, formulas neutralised."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
from sqlalchemy import Engine

from study.driver import Answer, RaterDriver, RaterView
from study.export import columns, export_files, export_zip, judgments_frame, neutralise_formulas
from study.testing import ready_study, small_config


def _answer(view: RaterView) -> Answer:
    item = view.item
    assert item is not None
    label = ("correct" if "'correct'" in item.claim else "incorrect") if item.is_attention_check else "incorrect"
    return Answer(label, 0.9)


def _rate_all(engine: Engine, ext: str) -> None:
    RaterDriver(engine, "t", ext).run(_answer)


def test_tidy_judgments(engine: Engine) -> None:
    ready_study(engine, small_config())
    for r in ("r1", "r2", "r3"):
        _rate_all(engine, r)
    df = judgments_frame(engine, "t")
    assert list(df.columns) == columns("judgments")
    assert len(df) == 3 * (6 + 1 + 1)
    assert df.groupby("rater_id").size().tolist() == [8, 8, 8]
    assert (df["correct"] == (df["final_label"] == df["gold_label"])).all()
    main = df[~df.is_practice & ~df.is_attention_check]
    assert main["ai_label"].notna().all() and main["ai_confidence"].between(0, 1).all()
    assert (main["agree_with_ai"] == (main["final_label"] == main["ai_label"])).all()
    assert (df["time_ms"] >= 0).all() and df["submitted_at"].notna().all()
    assert df.groupby("rater_id")["condition"].nunique().max() == 1


def test_export_files_parse_and_agree(engine: Engine) -> None:
    ready_study(engine, small_config())
    _rate_all(engine, "r1")
    files = export_files(engine, "t")
    j = pd.read_csv(io.BytesIO(files["judgments.csv"]))
    p = pd.read_parquet(io.BytesIO(files["judgments.parquet"]))
    r = pd.read_csv(io.BytesIO(files["raters.csv"]))
    e = pd.read_csv(io.BytesIO(files["events.csv"]))
    cb = pd.read_csv(io.BytesIO(files["codebook.csv"]))
    assert len(j) == len(p) == 8 and list(j.columns) == columns("judgments")
    assert r.loc[0, "n_judged"] == 8 and r.loc[0, "status"] == "completed"
    assert {"enrol", "consent", "start", "item_shown", "judgment", "completed"} <= set(e["kind"])
    assert set(cb["name"]) >= set(j.columns) | set(r.columns) | set(e.columns)
    manifest = json.loads(files["manifest.json"])
    assert manifest["config"]["name"] == "t" and len(manifest["assistance_content_hashes"]) > 0
    with zipfile.ZipFile(io.BytesIO(export_zip(engine, "t"))) as zf:
        assert sorted(zf.namelist()) == sorted(f"t/{n}" for n in files)


def test_formulas_neutralised() -> None:
    df = pd.DataFrame({"a": ["=cmd()", "+SUM(1)", "@x", "plain", None], "n": [1, 2, 3, 4, 5]})
    out = neutralise_formulas(df)
    assert out["a"].tolist()[:4] == ["'=cmd()", "'+SUM(1)", "'@x", "plain"]
    assert out["n"].tolist() == [1, 2, 3, 4, 5]
