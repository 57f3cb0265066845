"""CLI errors are one line; export never overwrites; simulate counts what was stored.

Each case runs the real command through Typer's runner and checks the exit status,
that stderr is exactly one line starting with ``error:``, and that no traceback, SQL
or bound parameter leaks; ``--debug`` brings the traceback back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DataError
from typer.testing import CliRunner, Result

from study import cli, service
from study import models as m
from study.cli import app
from study.db import get_engine, upgrade
from study.testing import ready_study, small_config


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _one_line_error(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output and "[SQL" not in result.stderr
    return lines[0]


@pytest.fixture
def study_url(engine: Engine, db_url: str) -> str:
    ready_study(engine, small_config("s", practice_items=0, attention_checks=0, items_per_rater=3))
    return db_url


def test_export_refuses_an_existing_file(study_url: str, tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    target.write_text("keep me")
    line = _one_line_error(_run("export", "s", "--out", str(target), "--db", study_url))
    assert line == f"error: --out {target}: a file with that name exists; give a new folder name"
    assert target.read_text() == "keep me"


def test_export_refuses_a_non_empty_folder_unless_forced(study_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    line = _one_line_error(_run("export", "s", "--out", str(folder), "--db", study_url))
    assert "the folder is not empty" in line and "--force" in line
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    forced = _run("export", "s", "--out", str(folder), "--force", "--db", study_url)
    assert forced.exit_code == 0, forced.output
    assert {"judgments.csv", "manifest.json", "notes.txt"} <= {p.name for p in folder.iterdir()}
    assert (folder / "notes.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run("export", "s", "--out", str(empty), "--db", study_url).exit_code == 0


def test_export_of_an_unknown_study_creates_nothing(study_url: str, tmp_path: Path) -> None:
    target = tmp_path / "new" / "nested"
    line = _one_line_error(_run("export", "nope", "--out", str(target), "--db", study_url))
    assert line == "error: no study named 'nope'"
    assert not (tmp_path / "new").exists()


def test_simulate_counts_only_what_the_database_stored(study_url: str) -> None:
    first = _run("simulate", "--study", "s", "--raters", "4", "--seed", "5", "--db", study_url)
    assert first.exit_code == 0, first.output
    engine = get_engine(study_url)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(m.Judgment))
        n_raters = conn.scalar(select(func.count()).select_from(m.Rater))
    assert (n_raters, stored) == (4, 12)
    assert first.stdout.startswith("simulated 4 raters, 12 judgments;")
    again = _run("simulate", "--study", "s", "--raters", "4", "--seed", "5", "--db", study_url)
    assert again.exit_code == 0, again.output
    # the same ids resume finished raters: nothing new is stored, and nothing is claimed
    assert again.stdout.startswith("simulated 0 raters (and resumed 4 enrolled before), 0 judgments;")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.Judgment)) == stored


def test_simulate_on_a_locked_sqlite_database_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    upgrade(url)
    ready_study(get_engine(url), small_config("s", practice_items=0, attention_checks=0, items_per_rater=3))
    get_engine(url).dispose()
    get_engine.cache_clear()
    monkeypatch.setattr("study.db.SQLITE_BUSY_TIMEOUT_MS", 300)
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)  # another process's lock
    other.execute("BEGIN EXCLUSIVE")
    try:
        line = _one_line_error(_run("simulate", "--study", "s", "--raters", "2", "--db", url))
    finally:
        other.execute("ROLLBACK")
        other.close()
        get_engine.cache_clear()
    assert "database is locked" in line and "run the same command again" in line


def test_unreachable_database_is_one_line() -> None:
    line = _one_line_error(_run("study", "list", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"), code=1)
    assert line.startswith("error: the database is unavailable or busy (")


def test_unexpected_errors_are_one_line_without_sql_or_parameters(study_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(_engine: Engine) -> list[m.Study]:
        raise DataError("INSERT INTO rater (token) VALUES (%(token)s)", {"token": "s3cret-token"},
                        ValueError("value too long for type character varying(100)\nDETAIL: more"))

    monkeypatch.setattr(service, "list_studies", boom)
    result = _run("study", "list", "--db", study_url)
    line = _one_line_error(result, code=1)
    assert line == ("error: the database refused the change (value too long for type character varying(100)); "
                    "nothing of this step was saved, retry later (run with --debug for the traceback)")
    assert "s3cret" not in result.output and "INSERT" not in result.output


def test_debug_shows_the_traceback(study_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(_engine: Engine) -> list[m.Study]:
        raise RuntimeError("/srv/app/secret/path exploded")

    monkeypatch.setattr(service, "list_studies", boom)
    plain = _run("study", "list", "--db", study_url)
    assert _one_line_error(plain, code=1) == ("error: RuntimeError: /srv/app/secret/path exploded "
                                              "(run with --debug for the traceback)")
    monkeypatch.setitem(cli._DEBUG, "on", False)
    debug = _run("--debug", "study", "list", "--db", study_url)
    assert isinstance(debug.exception, RuntimeError)


def test_simulation_profile_with_a_duplicate_key_names_it(study_url: str, tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("conditions:\n  none: {skill: 0.7}\n  none: {skill: 0.9}\n")
    line = _one_line_error(_run("simulate", "--study", "s", "--raters", "1", "--profile", str(profile), "--db", study_url))
    assert line == f"error: {profile}:3: duplicate key 'none' (first on line 2)"


@pytest.mark.parametrize(("argv", "want"), [
    (["export"], "error: Missing argument 'name'. (see 'oversight export --help')"),
    (["nosuch"], "error: No such command 'nosuch'. (see 'oversight --help')"),
    (["export", "s", "--bogus", "x"], "error: No such option: --bogus"),
])
def test_usage_errors_through_the_entry_point_are_one_line(argv: list[str], want: str, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.argv", ["oversight", *argv])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and err[0].startswith(want), err


def test_debug_anywhere_on_the_line_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli._DEBUG, "on", False)
    monkeypatch.setattr("sys.argv", ["oversight", "study", "list", "--db", "postgresql+psycopg://x@127.0.0.1:1/x", "--debug"])
    with pytest.raises(Exception, match="Connection refused|connection failed"):
        cli.main()
