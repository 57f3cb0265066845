"""Export from the console: the zip's files parse and match the database counts."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
from sqlalchemy import Engine, func, select
from support import monitor_sim

from study import models as m
from study.db import read_session
from study.export import CODEBOOK, columns


def _count(engine: Engine, model: type) -> int:
    with read_session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_export_zip_matches_the_database(app_engine: Engine, ui, console) -> None:
    book = monitor_sim.simulate_study(app_engine, "exp", n_raters=10, n_timed_out=1, seed=3)
    at = console()
    at.radio(key="console_section").set_value("Export")
    at = ui.ok(at.run())
    assert not any(b.key == "export_zip" for b in at.get("download_button"))
    at = ui.ok(at.button(key="prepare_export").click().run())
    button = next(b for b in at.get("download_button") if b.key == "export_zip")
    assert button.label == "Download export (zip)" and button.proto.url
    name, data = at.session_state["console"].export
    assert name == "exp"

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {info.filename: zf.read(info) for info in zf.infolist()}
    assert sorted(files) == sorted(f"exp/{f}" for f in (
        "judgments.csv", "judgments.parquet", "raters.csv", "events.csv", "codebook.csv", "manifest.json"))
    judgments = pd.read_csv(io.BytesIO(files["exp/judgments.csv"]))
    parquet = pd.read_parquet(io.BytesIO(files["exp/judgments.parquet"]))
    raters = pd.read_csv(io.BytesIO(files["exp/raters.csv"]))
    events = pd.read_csv(io.BytesIO(files["exp/events.csv"]))
    codebook = pd.read_csv(io.BytesIO(files["exp/codebook.csv"]))
    manifest = json.loads(files["exp/manifest.json"])

    assert len(judgments) == len(parquet) == _count(app_engine, m.Judgment)
    assert list(judgments.columns) == list(parquet.columns) == columns("judgments")
    assert len(raters) == _count(app_engine, m.Rater) == len(book.condition)
    assert dict(zip(raters["rater_id"], raters["condition"], strict=True)) == book.condition
    assert len(events) == _count(app_engine, m.Event)
    assert len(codebook) == len(CODEBOOK)
    main = judgments[~judgments["is_practice"] & ~judgments["is_attention_check"]]
    assert main.groupby(["condition", "item_id"]).size().to_dict() == dict(book.ratings)
    assert manifest["study"] == "exp" and manifest["config"]["name"] == "exp"
    assert sum(p["rows"] for p in manifest["assistance_provenance"]) == _count(app_engine, m.Assistance)

    # the single-file buttons serve the same files
    labels = {b.label for b in at.get("download_button")}
    assert {"judgments.csv", "judgments.parquet", "raters.csv", "events.csv", "codebook.csv", "manifest.json"} <= labels
    listed = ui.frame(at, "export_files")
    assert listed["file"].tolist() == [f.split("/")[-1] for f in files]
