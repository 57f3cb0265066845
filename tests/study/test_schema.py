"""Migrations create exactly the ORM schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from study.db import alembic_config, current_revision, get_engine, upgrade
from study.models import Base


def test_migrations_match_models(db_url: str) -> None:
    upgrade(db_url)
    engine = get_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert current_revision(db_url) is not None
    assert {"study", "condition", "item", "source", "assistance", "rater", "assignment", "judgment", "event"} <= set(
        inspect(engine).get_table_names()
    )


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    upgrade(db_url)
    engine = get_engine(db_url)
    cfg = alembic_config(db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert "judgment" not in inspect(engine).get_table_names()
    upgrade(db_url)
    assert "judgment" in inspect(engine).get_table_names()


def test_sqlite_pragmas(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    with get_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
