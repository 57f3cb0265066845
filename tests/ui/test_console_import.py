"""Importing an item bank in the console: preview, row-level errors, all or nothing."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from study import service
from study.config import parse_config
from study.testing import fixture_items, small_config


def _jsonl(rows: list[dict]) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def _good_rows(n: int = 14) -> list[dict]:
    return [it.model_dump(mode="json", exclude_none=True) for it in fixture_items(n, n_practice=1, n_attention=1)]


def _open_setup(console, ui):  # noqa: ANN001, ANN202
    at = console()
    at.radio(key="console_section").set_value("Set up")
    return ui.ok(at.run())


def test_bad_rows_are_listed_and_nothing_is_imported(app_engine: Engine, ui, console) -> None:
    service.create_study(app_engine, parse_config(small_config("imp")))
    rows = _good_rows()
    rows[2]["gold_label"] = "maybe"
    del rows[5]["claim"]
    rows[7]["item_id"] = rows[6]["item_id"]
    data = _jsonl(rows[:9]) + b"\n{not json\n"
    at = _open_setup(console, ui)
    at.file_uploader(key="bank_upload").set_value(("bank.jsonl", data, "application/jsonl"))
    at = ui.ok(at.run())
    errors = ui.frame(at, "bank_errors")
    assert errors[["line", "field"]].values.tolist() == [
        [3, "gold_label"], [6, "claim"], [8, "item_id"], [10, "(json)"]]
    assert "maybe" in errors["problem"].iloc[0] and "first on line 7" in errors["problem"].iloc[2]
    assert "nothing was imported" in at.error[0].value
    assert not any(b.key == "import_items" for b in at.button)
    assert service.study_items(app_engine, "imp") == []


def test_valid_bank_is_previewed_then_imported(app_engine: Engine, ui, console) -> None:
    service.create_study(app_engine, parse_config(small_config("imp")))
    rows = _good_rows(14)
    at = _open_setup(console, ui)
    at.file_uploader(key="bank_upload").set_value(("bank.jsonl", _jsonl(rows), "application/jsonl"))
    at = ui.ok(at.run())
    preview = ui.frame(at, "bank_preview")
    assert len(preview) == 10 and preview["item_id"].tolist() == [r["item_id"] for r in rows[:10]]
    assert preview["line"].tolist() == list(range(1, 11))
    assert service.study_items(app_engine, "imp") == []  # nothing before the button
    at = ui.ok(at.button(key="import_items").click().run())
    assert len(service.study_items(app_engine, "imp")) == 16
    assert "Imported 16 items" in ui.texts(at)
    summary = ui.frame(at, "bank_summary").set_index("role")["items"].to_dict()
    assert summary == {"main": 14, "practice": 1, "attention_check": 1}


def test_reimporting_the_same_ids_is_refused_whole(app_engine: Engine, ui, console) -> None:
    service.create_study(app_engine, parse_config(small_config("imp")))
    service.import_items(app_engine, "imp", fixture_items(14, n_practice=1, n_attention=1))
    at = _open_setup(console, ui)
    at.file_uploader(key="bank_upload").set_value(("again.jsonl", _jsonl(_good_rows(14)), "application/jsonl"))
    at = ui.ok(at.run())
    at = ui.ok(at.button(key="import_items").click().run())
    errors = ui.frame(at, "bank_errors")
    assert errors["field"].tolist() == ["item_id"] and "already in study" in errors["problem"].iloc[0]
    assert len(service.study_items(app_engine, "imp")) == 16


def test_csv_bank_and_climate_fever_format(app_engine: Engine, ui, console) -> None:
    service.create_study(app_engine, parse_config(small_config("imp")))
    csv = b"item_id,claim,gold_label,source_title,source_text\nc1,Water boils at 100 C.,correct,Ref,At sea level.\n"
    at = _open_setup(console, ui)
    at.file_uploader(key="bank_upload").set_value(("bank.csv", csv, "text/csv"))
    at = ui.ok(at.run())
    assert ui.frame(at, "bank_preview")["item_id"].tolist() == ["c1"]
    row = {"claim_id": "7", "claim": "CO2 is a trace gas.", "claim_label": "SUPPORTS",
           "evidences": [{"article": "Carbon dioxide", "evidence": "CO2 is a trace gas.", "evidence_label": "SUPPORTS"}]}
    at.selectbox(key="bank_format").set_value("climate-fever")
    at.file_uploader(key="bank_upload").set_value(("cf.jsonl", _jsonl([row]), "application/jsonl"))
    at = ui.ok(at.run())
    preview = ui.frame(at, "bank_preview")
    assert preview[["item_id", "gold_label", "sources"]].values.tolist() == [["cf-7", "correct", 1]]


def test_launched_study_cannot_take_items(app_engine: Engine, ui, console) -> None:
    from study.testing import ready_study

    ready_study(app_engine, small_config("live"))
    at = _open_setup(console, ui)
    assert not any(f.key == "bank_upload" for f in at.file_uploader)
    assert "frozen once a study has been launched" in ui.texts(at)
