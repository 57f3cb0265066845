"""Shared fixtures: real databases (SQLite file; PostgreSQL when reachable or in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from support.app_db import app_engine  # noqa: F401 - the fixture, for every test directory

ROOT = Path(__file__).resolve().parents[1]
CLIMATE_FEVER = ROOT.parent / "shared" / "datasets" / "climate-fever.jsonl"
PG_ADMIN_URL = os.environ.get("OVERSIGHT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as err:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(err).__name__}"


_PG_PROBLEM = _pg_available()


def require_postgres() -> None:
    if _PG_PROBLEM:
        if IN_CI:
            pytest.fail(f"CI=true but {_PG_PROBLEM}")
        pytest.skip(_PG_PROBLEM)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema in the `test` database, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    from study.db import get_engine

    get_engine.cache_clear()
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'test' AND pid <> pg_backend_pid() AND query ILIKE '%{schema}%'"))
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'oversight.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test using this runs on a real SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'oversight.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    from study.db import get_engine, upgrade

    upgrade(db_url)
    eng = get_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def climate_fever_path() -> Path:
    if not CLIMATE_FEVER.exists():
        pytest.skip(f"Climate-FEVER dataset not found at {CLIMATE_FEVER} (it lives in ../shared/datasets)")
    return CLIMATE_FEVER


@pytest.fixture(autouse=True)
def _fresh_login_throttle() -> Iterator[None]:
    """The console login throttle is process-wide: no test inherits another's failures."""
    yield
    from study.auth import THROTTLE

    THROTTLE.reset()
