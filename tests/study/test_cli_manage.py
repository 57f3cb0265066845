"""`oversight study clone|edit|delete`, `items remove` and `review`: thin skins over the API."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from study import review, service
from study.cli import app
from study.config import config_to_yaml, parse_config
from study.driver import Answer, RaterDriver
from study.testing import ready_study, small_config


def _run(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--db", db_url])
    return result.exit_code, result.output


def test_manage_commands(engine: Engine, db_url: str, tmp_path: Path) -> None:
    ready_study(engine, small_config("cli"))
    code, out = _run(db_url, "study", "clone", "cli", "cli-2", "--with-assistance")
    assert code == 0 and "created draft study 'cli-2' from 'cli': 28 items" in out
    path = tmp_path / "edit.yaml"
    path.write_text(config_to_yaml(parse_config(small_config("cli-2", title="Edited"))), encoding="utf-8")
    assert _run(db_url, "study", "edit", "cli-2", str(path))[0] == 0
    assert service.get_config(engine, "cli-2").title == "Edited"
    code, out = _run(db_url, "items", "remove", "item-001", "nope", "--study", "cli-2")
    assert code == 2 and "no item 'nope'" in out and len(service.study_items(engine, "cli-2")) == 28
    assert _run(db_url, "items", "remove", "item-001", "--study", "cli-2") == (0, "removed 1 items from 'cli-2'\n")
    code, out = _run(db_url, "study", "delete", "cli-2")
    assert code == 2 and "--yes" in out and len(service.list_studies(engine)) == 2
    assert _run(db_url, "study", "delete", "cli-2", "--yes")[0] == 0
    assert [s.name for s in service.list_studies(engine)] == ["cli"]
    code, out = _run(db_url, "study", "delete", "cli", "--yes")
    assert code == 2 and "only a draft study can be deleted" in out


def test_review_command(engine: Engine, db_url: str) -> None:
    ready_study(engine, small_config("rc"))
    RaterDriver(engine, "rc", "p1").run(lambda view: Answer(view.labels[0], 0.9), stop_after=2)
    code, out = _run(db_url, "review", "p1", "--study", "rc", "--decision", "exclude")
    assert code == 2 and "give a reason" in out
    code, out = _run(db_url, "review", "p1", "--study", "rc", "--decision", "exclude", "--reason", "test run")
    assert code == 0 and "recorded exclude for 1 rater(s)" in out
    assert review.excluded_raters(engine, "rc") == {"p1"}
