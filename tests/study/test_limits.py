"""One set of limits: every String(n) column has a validation limit, the same on both databases.

The limits live in ``tasks/limits.py``; the columns are built from them. Here: every
``String(n)`` column is declared there with the same ``n``; a config or item exactly
at each limit is stored on SQLite and PostgreSQL, and one character more is refused
by validation (a ``ConfigError`` / ``ItemBankError`` naming the field), never by the
database.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import Engine, String, select

from study import models as m
from study import service
from study.config import ConfigError, parse_config
from study.testing import small_config
from tasks import limits
from tasks.importers import ItemBankError, parse_csv, parse_jsonl


def _string_columns() -> dict[str, int]:
    out = {}
    for table in m.Base.metadata.sorted_tables:
        for col in table.columns:
            if isinstance(col.type, String) and col.type.length is not None:
                out[f"{table.name}.{col.name}"] = col.type.length
    return out


def test_every_string_column_has_a_declared_limit() -> None:
    columns = _string_columns()
    declared = dict(limits.COLUMN_LIMITS) | {k: n for k, (n, _why) in limits.INTERNAL_COLUMNS.items()}
    assert columns == declared
    assert not set(limits.COLUMN_LIMITS) & set(limits.INTERNAL_COLUMNS)


def _config(**changes: object) -> dict[str, object]:
    data = small_config("lim")
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "t" * (limits.MAX_TITLE_CHARS + 1), "field 'title'"),
        ("labels", ["correct", "l" * (limits.MAX_LABEL_CHARS + 1)], "field 'labels'"),
        ("labels", ["", " "], "label 1 is empty"),
        ("labels", [f"l{i}" for i in range(limits.MAX_LABELS + 1)], "at most 20 labels"),
        ("description", "d" * (limits.MAX_TEXT_CHARS + 1), "field 'description'"),
        ("completion", {"completed": "c" * (limits.MAX_CODE_CHARS + 1)}, "field 'completion.completed'"),
        ("confidence", {"min": float("nan")}, "field 'confidence.min': Input should be a finite number"),
        ("confidence", {"max": float("inf")}, "field 'confidence.max': Input should be a finite number"),
    ],
)
def test_config_over_a_limit_is_refused_by_validation(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_config(**{field: value}), "s.yaml")
    assert message in str(err.value)


def test_values_exactly_at_the_limits_are_stored_on_both_databases(engine: Engine) -> None:
    long_label = "L" * limits.MAX_LABEL_CHARS
    config = parse_config(_config(title="T" * limits.MAX_TITLE_CHARS, labels=["correct", long_label],
                                  **{"import": {"label_map": {}}}), "s.yaml")
    service.create_study(engine, config)
    row = {"item_id": "i" * limits.MAX_ITEM_ID, "claim": "c", "gold_label": long_label, "ai_label": long_label,
           "ai_confidence": 0.5, "metadata": {"k": "v" * (limits.MAX_JSON_BYTES - 20)}}
    bank = parse_jsonl(json.dumps(row) + "\n", "b.jsonl", labels=config.labels)
    assert service.import_items(engine, "lim", bank) == 1
    with engine.connect() as conn:
        title = conn.scalar(select(m.Study.title))
        item_id, gold = conn.execute(select(m.Item.item_id, m.Item.gold_label)).one()
    assert (len(title), len(item_id), gold) == (limits.MAX_TITLE_CHARS, limits.MAX_ITEM_ID, long_label)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"item_id": "i" * (limits.MAX_ITEM_ID + 1)}, "item_id"),
        ({"gold_label": "g" * (limits.MAX_LABEL_CHARS + 1)}, "gold_label"),
        ({"ai_label": "g" * (limits.MAX_LABEL_CHARS + 1), "ai_confidence": 0.5}, "ai_label"),
        ({"context": "c" * (limits.MAX_TEXT_CHARS + 1)}, "context"),
        ({"ai_reasoning": "r" * (limits.MAX_TEXT_CHARS + 1)}, "ai_reasoning"),
        ({"sources": [{"text": "t", "url": "https://x/" + "u" * limits.MAX_URL_CHARS}]}, "sources.0.url"),
        ({"sources": [{"text": "t", "title": "t" * (limits.MAX_SOURCE_TITLE_CHARS + 1)}]}, "sources.0.title"),
        ({"sources": [{"text": "t"}] * (limits.MAX_SOURCES + 1)}, "sources"),
        ({"metadata": {"k": "v" * limits.MAX_JSON_BYTES}}, "metadata"),
    ],
)
def test_item_over_a_limit_is_refused_naming_the_field(row: dict[str, object], field: str) -> None:
    data = {"item_id": "a", "claim": "c", "gold_label": "correct"} | row
    with pytest.raises(ItemBankError) as err:
        parse_jsonl(json.dumps(data) + "\n", "b.jsonl")
    assert err.value.errors[0].field == field, str(err.value)


def test_metadata_depth_is_bounded() -> None:
    nested: object = 1
    for _ in range(limits.MAX_JSON_DEPTH):
        nested = {"x": nested}
    ok = {"item_id": "a", "claim": "c", "gold_label": "correct", "metadata": nested}
    assert parse_jsonl(json.dumps(ok) + "\n")[0].metadata == nested
    too_deep = dict(ok, metadata={"x": nested})
    with pytest.raises(ItemBankError, match="nested more than 16 levels deep"):
        parse_jsonl(json.dumps(too_deep) + "\n")


@pytest.mark.parametrize("text", ["+5% growth since 1990", "-2 degrees in winter", "- a list item", "+ CO2 rises",
                                  "-40 (Celsius) equals -40 (Fahrenheit)", "email me @ noon? no"])
def test_text_that_only_starts_with_a_sign_is_accepted(text: str) -> None:
    if text.startswith("email"):
        text = "Email me @ noon"  # '@' is only refused at the start
    row = {"item_id": "a", "claim": text, "gold_label": "correct", "context": text,
           "sources": [{"title": text, "text": text, "url": "https://example.org/x"}]}
    assert parse_jsonl(json.dumps(row) + "\n")[0].claim == text


@pytest.mark.parametrize("cell", ["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-cmd|' /C calc'!A0", "+SUM(A1)",
                                  "=HYPERLINK(\"http://evil.example\")", "\t=1", " =1"])
@pytest.mark.parametrize("column", ["item_id", "claim", "context", "source_title", "source_text", "source_url",
                                    "ai_reasoning"])
def test_formula_cells_are_refused_in_every_text_column(cell: str, column: str) -> None:
    header = ["item_id", "claim", "gold_label", column] if column not in ("item_id", "claim") else ["item_id", "claim", "gold_label"]
    values = {"item_id": "a", "claim": "c", "gold_label": "correct", column: cell}
    if column.startswith("source_") and column != "source_text":
        header.append("source_text")
        values["source_text"] = "text"
    out = io.StringIO()
    csv.writer(out).writerows([header, [values[h] for h in header]])
    text = out.getvalue()
    with pytest.raises(ItemBankError) as err:
        parse_csv(text, "b.csv")
    fields = {e.field for e in err.value.errors if "spreadsheet formula" in e.message}
    want = {"source_title": "sources.0.title", "source_text": "sources.0.text", "source_url": "sources.0.url"}
    assert fields == {want.get(column, column)}, str(err.value)
