"""Hostile and broken input: item banks and configs, exports with formulas.

Every file of ``corpus/`` goes through the real command line (``oversight items
import`` / ``oversight study create``) against a database that already holds a study
with items. Each must be refused with exit status 2 and one clear message naming the
file, and the line and field where the problem is in one row; and the database must
be byte-for-byte unchanged (SQLite: the file's sha256 after the engine is disposed;
PostgreSQL: a dump of every table and sequence). Hypothesis then throws generated
files at the parsers: they return items or raise the documented error, nothing else.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from study import models as m
from study import rater as raters
from study.cli import app
from study.config import ConfigError, StudyConfig, parse_config_text
from study.db import get_engine, upgrade
from study.driver import Answer, RaterDriver
from study.export import export_files
from study.testing import fixture_items, ready_study, small_config
from tasks.importers import ItemBank, ItemBankError, read_item_bank

CORPUS = Path(__file__).resolve().parent / "corpus"

#: File -> what the message must say right after the file name.
EXPECTED: dict[str, str] = {
    "cf_evidence_not_list.jsonl": ":1: field 'evidences'",
    "cf_missing_label.jsonl": ":1: field 'claim_label': missing",
    "cf_unknown_label.jsonl": ":1: field 'claim_label'",
    "config_bad_assistance.yaml": ": field 'conditions.0.assistance'",
    "config_confidence_inverted.yaml": ": field 'confidence': Value error, min must be below max",
    "config_confidence_nan.yaml": ": field 'confidence.min': Input should be a finite number",
    "config_deeply_nested.yaml": ": not a usable config: nested too deeply",
    "config_duplicate_keys.yaml": ": field '(top level)': Value error, conditions: keys must be unique",
    "config_duplicate_nested_key.yaml": ":7: duplicate key 'min' (first on line 5)",
    "config_duplicate_yaml_keys.yaml": ":5: duplicate key 'conditions' (first on line 2)",
    "config_empty.yaml": ": the config must be a mapping",
    "config_huge_integer.yaml": ": not a usable config: Exceeds the limit",
    "config_label_long.yaml": ": field 'labels': Value error, label 2 is 101 characters long; at most 100",
    "config_label_map_outside.yaml": ": field '(top level)': Value error, import.label_map.SUPPORTS",
    "config_labels_blank.yaml": ": field 'labels': Value error, label 1 is empty",
    "config_labels_repeated.yaml": ": field '(top level)': Value error, labels: must be unique",
    "config_latin1.yaml": ": not UTF-8 text",
    "config_name_path.yaml": ": field 'name'",
    "config_no_conditions.yaml": ": field 'conditions'",
    "config_not_mapping.yaml": ": the config must be a mapping of settings, got list",
    "config_nul_escaped.yaml": ": field 'title': contains a NUL character",
    "config_python_tag.yaml": ":1: not valid YAML",
    "config_redirect_javascript.yaml": ": field 'completion.redirect_url'",
    "config_seed_huge.yaml": ": field 'seed'",
    "config_tab_indent.yaml": ":3: not valid YAML",
    "config_title_long.yaml": ": field 'title': Value error, is 201 characters long; at most 200",
    "config_truncated.yaml": ":3: not valid YAML",
    "config_unknown_setting.yaml": ": field 'item_per_rater': Extra inputs are not permitted",
    "config_utf16.yaml": ": not UTF-8 text",
    "config_wrong_type.yaml": ": field 'items_per_rater'",
    "config_yaml_bomb.yaml": ": field 'labels.0': Input should be a valid string",
    "items_ai_label_outside.jsonl": ":1: field 'ai_label'",
    "items_bad_json_cell.csv": ":2: field 'sources': invalid JSON",
    "items_bad_role.jsonl": ":1: field 'role'",
    "items_binary.jsonl": ":2: field '(encoding)'",
    "items_blank_claim.jsonl": ":1: field 'claim'",
    "items_claim_number.jsonl": ":1: field 'claim'",
    "items_confidence_inf.csv": ":2: field 'ai_confidence': Input should be a finite number",
    "items_confidence_nan.jsonl": ":1: field 'ai_confidence': Input should be a finite number",
    "items_confidence_range.jsonl": ":1: field 'ai_confidence'",
    "items_confidence_text.csv": ":2: field 'ai_confidence'",
    "items_confidence_text.jsonl": ":1: field 'ai_confidence'",
    "items_debate_one_side.jsonl": ":1: field 'debate.sides'",
    "items_deeply_nested.jsonl": ":1: field '(json)': unreadable JSON: nested too deeply",
    "items_duplicate_ids.jsonl": ":3: field 'item_id': duplicate id 'a' (first on line 1)",
    "items_empty.csv": ":1: field 'item_id': missing column(s)",
    "items_empty.jsonl": ": field '(file)': contains no items",
    "items_formula.csv": ":2: field 'claim': starts like a spreadsheet formula",
    "items_formula_claim.jsonl": ":1: field 'claim': starts like a spreadsheet formula",
    "items_formula_dde_claim.csv": ":2: field 'claim': starts like a spreadsheet formula",
    "items_formula_dde_id.jsonl": ":1: field 'item_id': starts like a spreadsheet formula",
    "items_formula_debate.jsonl": ":1: field 'debate.sides.0.argument': starts like a spreadsheet formula",
    "items_formula_plus.csv": ":2: field 'context': starts like a spreadsheet formula",
    "items_formula_reasoning.jsonl": ":1: field 'ai_reasoning': starts like a spreadsheet formula",
    "items_formula_source.jsonl": ":1: field 'sources.0.title': starts like a spreadsheet formula",
    "items_formula_source_text.jsonl": ":1: field 'sources.0.text': starts like a spreadsheet formula",
    "items_formula_url.csv": ":2: field 'sources.0.url': starts like a spreadsheet formula",
    "items_header_only.csv": ": field '(file)': contains no items",
    "items_huge_claim.jsonl": ":1: field 'claim'",
    "items_huge_id.jsonl": ":1: field 'item_id'",
    "items_huge_integer.jsonl": ":1: field '(json)': unreadable JSON",
    "items_id_spaces.jsonl": ":1: field 'item_id'",
    "items_label_blank.jsonl": ":1: field 'debate.sides.0.label': Value error, must not be empty",
    "items_label_outside.csv": ":3: field 'gold_label': 'TRUE' is not in the label set",
    "items_label_outside.jsonl": ":1: field 'gold_label': 'maybe' is not in the label set",
    "items_latin1.csv": ":2: field '(encoding)': not UTF-8 text",
    "items_latin1.jsonl": ":1: field '(encoding)': not UTF-8 text",
    "items_metadata_deep.jsonl": ":1: field 'metadata': is nested more than 16 levels deep",
    "items_metadata_huge.jsonl": ":1: field 'metadata': is 70011 bytes as JSON; at most 65536",
    "items_metadata_nan.jsonl": ":1: field 'metadata.score': NaN and infinity are not numbers JSON can store",
    "items_missing_column.csv": ":1: field 'gold_label': missing column(s)",
    "items_not_object.jsonl": ":3: field '(json)': expected an object, got list",
    "items_nul_byte.csv": ":2: field 'claim': contains a NUL character",
    "items_nul_byte.jsonl": ":1: field '(json)': invalid JSON",
    "items_nul_escaped.jsonl": ":1: field 'claim': contains a NUL character",
    "items_ragged.csv": ":3: field '(row)': more cells than header columns",
    "items_reasoning_huge.jsonl": ":1: field 'ai_reasoning': Value error, is longer than 20000 characters",
    "items_source_missing_text.jsonl": ":1: field 'sources.0.text'",
    "items_sources_string.jsonl": ":1: field 'sources'",
    "items_truncated.jsonl": ":3: field '(json)': invalid JSON",
    "items_unclosed_quote.csv": ":2: field '(csv)': malformed CSV",
    "items_unknown_field.jsonl": ":1: field 'colour': Extra inputs are not permitted",
    "items_utf16.jsonl": ":1: field '(encoding)': not UTF-8 text",
    "items_whitespace.jsonl": ": field '(file)': contains no items",
}


def test_corpus_is_complete() -> None:
    files = sorted(p.name for p in CORPUS.iterdir() if p.is_file())
    assert files == sorted(EXPECTED), set(files) ^ set(EXPECTED)
    assert len(files) >= 30


def _cli_args(path: Path, url: str) -> list[str]:
    if path.name.startswith("config_"):
        return ["study", "create", str(path), "--db", url]
    fmt = ["--format", "climate-fever"] if path.name.startswith("cf_") else []
    return ["items", "import", str(path), "--study", "s", "--db", url, *fmt]


def _fingerprint(url: str) -> str:
    """SQLite: sha256 of the file (engine disposed first); PostgreSQL: sha256 of a table dump."""
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        engine.dispose()
        db = Path(engine.url.database or "")
        wal = Path(f"{db}-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        return hashlib.sha256(db.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in m.Base.metadata.sorted_tables:
            rows = conn.execute(table.select().order_by(*table.primary_key.columns)).all()
            digest.update(repr((table.name, [tuple(r) for r in rows])).encode())
        for (seq,) in conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1")):
            digest.update(repr(conn.execute(text(f'SELECT last_value, is_called FROM "{seq}"')).one()).encode())
        version = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        digest.update(repr(version).encode())
    return digest.hexdigest()


@pytest.fixture
def study_db(db_url: str) -> str:
    upgrade(db_url)
    ready_study(get_engine(db_url), small_config("s"), fixture_items(12), launch=False)
    return db_url


def test_every_corpus_file_is_refused_clearly_and_changes_nothing(study_db: str) -> None:
    runner = CliRunner()
    before = _fingerprint(study_db)
    problems = []
    for path in sorted(CORPUS.iterdir()):
        result = runner.invoke(app, _cli_args(path, study_db))
        message = result.stderr if result.exit_code == 2 else f"exit {result.exit_code}: {result.output} {result.exception!r}"
        want = f"error: {path}{EXPECTED[path.name]}"
        if result.exit_code != 2 or not message.startswith(want):
            problems.append(f"{path.name}: expected {want!r}, got {message[:300]!r}")
        after = _fingerprint(study_db)
        if after != before:
            problems.append(f"{path.name}: the database changed")
            before = after
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- Hypothesis

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3), max_leaves=8,
)
_field = st.sampled_from(["item_id", "claim", "gold_label", "context", "sources", "role", "ai_label",
                          "ai_confidence", "ai_reasoning", "ai_evidence", "debate", "metadata", "extra"])
_row = st.dictionaries(_field, _value | st.sampled_from(["correct", "incorrect", "=cmd()", "a\x00b"]), max_size=8)


def _assert_clean(path: str, data: bytes, fmt: str) -> None:
    try:
        bank = read_item_bank(path, fmt, labels=["correct", "incorrect"], data=data)  # type: ignore[arg-type]
    except ItemBankError as err:
        assert err.errors and all(e.path == path and e.field for e in err.errors)
        assert str(err).startswith(path)
        return
    assert isinstance(bank, ItemBank) and len(bank) > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.sampled_from(["jsonl", "csv", "climate-fever"]))
def test_random_bytes_give_items_or_a_clear_error(data: bytes, fmt: str) -> None:
    _assert_clean(f"random.{fmt}", data, fmt)


@settings(max_examples=150, deadline=None)
@given(st.lists(_row, min_size=0, max_size=4))
def test_random_rows_give_items_or_a_clear_error(rows: list[dict]) -> None:
    jsonl = "".join(json.dumps(r) + "\n" for r in rows).encode()
    _assert_clean("rows.jsonl", jsonl, "jsonl")
    out = io.StringIO()
    header = sorted({k for r in rows for k in r}) or ["item_id"]
    writer = csv.DictWriter(out, header)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in r.items()})
    _assert_clean("rows.csv", out.getvalue().encode(), "csv")


_config = st.fixed_dictionaries(
    {"name": st.text(string.ascii_letters + "_-./ ", min_size=0, max_size=10),
     "conditions": st.lists(st.fixed_dictionaries({"key": st.sampled_from(["none", "x", "Bad", ""]),
                                                   "assistance": st.sampled_from(["none", "evidence", "debate", "zap"])}),
                            max_size=3)},
    optional={"items_per_rater": _value, "labels": _value, "confidence": _value, "seed": _value,
              "design": _value, "completion": _value, "time_limit_minutes": _value, "unknown": _value},
)


@settings(max_examples=150, deadline=None)
@given(_config)
def test_random_configs_give_a_config_or_a_clear_error(data: dict) -> None:
    text_ = yaml.safe_dump(data, allow_unicode=True)
    try:
        config = parse_config_text(text_, "gen.yaml")
    except ConfigError as err:
        assert str(err).startswith("gen.yaml")
        return
    assert isinstance(config, StudyConfig)


def test_generated_bad_banks_leave_sqlite_byte_for_byte_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    ready_study(get_engine(url), small_config("s"), fixture_items(12), launch=False)
    before = _fingerprint(url)
    runner = CliRunner()

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(_row, min_size=1, max_size=3))
    def attempt(rows: list[dict]) -> None:
        bank = tmp_path / "gen.jsonl"
        bank.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"item_id": "item-000", "claim": "x", "gold_label": "correct"}\n')
        result = runner.invoke(app, ["items", "import", str(bank), "--study", "s", "--db", url])
        assert result.exit_code == 2, result.output  # item-000 always clashes, so nothing may be imported
        assert result.stderr.startswith(f"error: {bank}")
        assert _fingerprint(url) == before

    attempt()


# --------------------------------------------------------------------------- exports


def test_exports_neutralise_spreadsheet_formulas(engine: Engine) -> None:
    ready_study(engine, small_config("s", practice_items=0, attention_checks=0, items_per_rater=2))
    hostile = ["=1+2", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "\t=tab"]
    for ext in hostile:
        driver = RaterDriver(engine, "s", ext)
        driver.run(lambda view: Answer("correct", 0.8))
        driver.finish({"comments": '=HYPERLINK("http://evil.example","click")'})
        raters.log_event(engine, driver.token, "=cmd()", {"x": "=cmd()"})
    files = export_files(engine, "s")
    seen = set()
    for name in ("judgments.csv", "raters.csv", "events.csv"):
        for row in csv.reader(io.StringIO(files[name].decode("utf-8"))):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
                if cell.startswith("'"):
                    seen.add(cell[1:])
    assert {"=1+2", "@SUM(A1)", "-2+3"} <= seen
