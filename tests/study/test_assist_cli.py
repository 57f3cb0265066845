"""`oversight assist`: frozen assistance with provenance, resumable, then launch."""

from __future__ import annotations

from sqlalchemy import delete, select
from typer.testing import CliRunner

from study import models as m
from study import service
from study.cli import app
from study.config import parse_config
from study.db import get_engine, read_session, upgrade, write_session
from study.testing import fixture_items, small_config


def _hashes(url: str) -> dict[tuple[int, str], str]:
    with read_session(get_engine(url)) as s:
        return {(pk, kind): h for pk, kind, h in s.execute(select(m.Assistance.item_pk, m.Assistance.kind, m.Assistance.content_hash))}


def test_assist_generates_freezes_and_resumes(db_url: str) -> None:
    upgrade(db_url)
    engine = get_engine(db_url)
    service.create_study(engine, parse_config(small_config(assistance={"encoder": "hashing", "folds": 3})))
    items = fixture_items(24)
    service.import_items(engine, "t", items)
    runner = CliRunner()
    res = runner.invoke(app, ["assist", "--study", "t", "--db", db_url])
    assert res.exit_code == 0, res.output
    n_assisted = len([it for it in items if it.role != "attention_check"])
    assert f"stored {n_assisted * 4} assistance rows for 't'" in res.stdout
    assert "AI verdict: n=" in res.stdout
    first = _hashes(db_url)
    assert service.missing_assistance(engine, "t") == []
    # Interrupted run: lose some rows, run again; the regenerated rows are identical.
    with write_session(engine) as s:
        s.execute(delete(m.Assistance).where(m.Assistance.kind.in_(["debate", "verdict"]), m.Assistance.item_pk % 2 == 0))
    res = runner.invoke(app, ["assist", "--study", "t", "--db", db_url])
    assert res.exit_code == 0 and "stored 0 " not in res.stdout
    assert _hashes(db_url) == first
    assert "\nstored 0 assistance rows for 't'\n" in runner.invoke(app, ["assist", "--study", "t", "--db", db_url]).stdout
    with read_session(engine) as s:
        row = s.scalars(select(m.Assistance).where(m.Assistance.kind == "evidence")).first()
    assert row is not None and row.generator and row.parameters["seed"] == 7 and row.content_hash.startswith("sha256:")
    assert "numpy" in row.package_versions
    assert runner.invoke(app, ["study", "launch", "t", "--db", db_url]).exit_code == 0
    res = runner.invoke(app, ["assist", "--study", "t", "--db", db_url])
    assert res.exit_code == 0 and "\nstored 0 " in res.stdout  # nothing missing: nothing to change
