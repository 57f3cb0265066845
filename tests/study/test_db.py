"""Engine, transactions and migrations (study/db.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from study import db
from study import models as m
from study.db import (
    current_revision,
    get_engine,
    is_sqlite,
    read_connection,
    read_session,
    resolve_url,
    upgrade,
    write_connection,
    write_session,
    write_transaction,
)


def _studies(engine: Engine) -> list[str]:
    with read_session(engine) as s:
        return list(s.scalars(select(m.Study.name).order_by(m.Study.name)))


def _add(session_or_conn: object, name: str) -> None:
    stmt = m.Study.__table__.insert().values(name=name, title=name, config={}, seed=1, status="draft",
                                             enrol_counter=0)
    session_or_conn.execute(stmt)  # type: ignore[attr-defined]


def test_write_session_commits_and_rolls_back(engine: Engine) -> None:
    with write_session(engine) as s:
        _add(s, "kept")
    with pytest.raises(RuntimeError), write_session(engine) as s:
        _add(s, "dropped")
        raise RuntimeError("boom")
    assert _studies(engine) == ["kept"]


def test_write_connection_and_transaction_commit_and_roll_back(engine: Engine) -> None:
    with write_connection(engine) as conn:
        _add(conn, "a")
    with pytest.raises(ValueError), write_connection(engine) as conn:
        _add(conn, "b")
        raise ValueError
    with engine.connect() as conn:
        with write_transaction(conn):
            _add(conn, "c")
        with pytest.raises(ValueError), write_transaction(conn):
            _add(conn, "d")
            raise ValueError
    assert _studies(engine) == ["a", "c"]


def test_read_helpers_never_commit(engine: Engine) -> None:
    with read_connection(engine) as conn:
        _add(conn, "ghost")
    with read_session(engine) as s:
        _add(s, "ghost2")
        assert s.scalar(select(func.count()).select_from(m.Study)) == 1  # visible inside
    assert _studies(engine) == []


def test_upgrade_and_current_revision(db_url: str) -> None:
    assert upgrade(db_url) == db_url
    head = current_revision(db_url)
    assert head is not None
    versions = Path(db.MIGRATIONS_DIR, "versions")
    assert any(head in p.read_text() for p in versions.glob("*.py"))
    assert upgrade(db_url) == db_url and current_revision(db_url) == head  # idempotent
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM study")).scalar_one() == 0


def test_resolve_url_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.ENV_URL, "sqlite:///env.db")
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_url() == "sqlite:///env.db"
    monkeypatch.delenv(db.ENV_URL)
    assert resolve_url() == db.default_url()


def test_sqlite_writers_take_the_lock_up_front(sqlite_url: str) -> None:
    """BEGIN IMMEDIATE: while a write transaction is open, another writer cannot start."""
    upgrade(sqlite_url)
    engine = get_engine(sqlite_url)
    assert is_sqlite(engine)
    path = engine.url.database
    assert path is not None
    with write_connection(engine) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # the lock is held before any write
        finally:
            other.close()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # free again after commit
    other.execute("ROLLBACK")
    other.close()


def test_sqlite_writer_queue_serialises_threads(sqlite_url: str) -> None:
    """Concurrent writers of one file all succeed, one after the other (none fails busy)."""
    upgrade(sqlite_url)
    engine = get_engine(sqlite_url)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(5):
                with write_session(engine) as s:
                    n = s.scalar(select(func.count()).select_from(m.Study)) or 0
                    _add(s, f"s{i}-{j}-{n}")
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = _studies(engine)
    assert len(names) == 20
    # each count read inside a transaction saw every earlier commit: counts are 0..19
    assert sorted(int(n.rsplit("-", 1)[1]) for n in names) == list(range(20))
