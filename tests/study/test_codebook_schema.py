"""The export's codebook, the exported judgments file and the dashboard caption follow
the one tidy schema, analysis.schema."""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import Engine

from analysis import schema
from study import export
from study.simulate import simulate_study
from study.testing import ready_study, small_config
from study.ui.dashboard import columns_caption


def test_codebook_judgment_rows_are_the_schema() -> None:
    rows = [(c.name, c.type, c.description) for c in export.CODEBOOK if c.file == "judgments"]
    assert rows == [(c.name, c.dtype, c.meaning) for c in schema.JUDGMENT_COLUMNS]
    written = pd.read_csv(io.StringIO(export.codebook().to_csv(index=False)))
    judgments = written[written["file"] == "judgments"]
    assert judgments["name"].tolist() == [c.name for c in schema.JUDGMENT_COLUMNS]
    assert judgments["type"].tolist() == [c.dtype for c in schema.JUDGMENT_COLUMNS]


def test_schema_names_every_column_analysis_reads() -> None:
    used = {c.name for c in schema.JUDGMENT_COLUMNS if c.use != "export"}
    constants = {getattr(schema, n) for n in ("RATER", "ITEM", "CONDITION", "GOLD", "AI_LABEL", "AI_CONF", "INITIAL",
                                               "FINAL", "CONF", "TIME", "PRACTICE", "ATTENTION", "STATUS")}
    assert constants == used
    assert len({c.name for c in schema.JUDGMENT_COLUMNS}) == len(schema.JUDGMENT_COLUMNS)
    assert {c.dtype for c in schema.JUDGMENT_COLUMNS} <= {"string", "integer", "float", "boolean", "datetime"}


def test_dashboard_caption_lists_the_schema_columns() -> None:
    caption = columns_caption()
    required, optional = caption.split("and (optional)")
    assert [n for n in schema.columns_used("required") if n in required] == schema.columns_used("required")
    assert all(n in optional and n not in required for n in schema.columns_used("optional"))
    assert not any(n in caption for n in ("two_stage", "active_ms", "position"))


def test_exported_judgments_have_exactly_the_schema_columns(engine: Engine) -> None:
    ready_study(engine, small_config(design={"type": "between", "two_stage": True}))
    simulate_study(engine, "t", 4, seed=3)
    frame = export.judgments_frame(engine, "t")
    assert list(frame.columns) == [c.name for c in schema.JUDGMENT_COLUMNS]
    assert frame["two_stage"].all()  # read from the typed config
    # every column is filled for some row: a record key that drifted from the schema would leave it empty
    # consultant_correct is filled only in consultancy conditions: tests/study/test_consultancy.py checks it
    conditional = ("active_ms", "client_submitted_at", "consultant_correct")
    always_set = [c.name for c in schema.JUDGMENT_COLUMNS if c.name not in conditional]
    assert [n for n in always_set if frame[n].isna().all()] == []
