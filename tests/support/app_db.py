"""The app database: a migrated temp SQLite file that the pages under test also use.

The pages find their database through ``OVERSIGHT_DATABASE_URL`` and cache the engine
per process (``study.ui.common.engine_for``, ``study.db.get_engine``); the fixture
points them at a fresh file, switches the demo study off and sets a known
experimenter password, and clears those caches before and after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

#: The experimenter password the pages are given (``OVERSIGHT_ADMIN_PASSWORD``).
PASSWORD = "correct horse battery staple"


def clear_app_caches() -> None:
    """Forget every cached engine and page resource (Streamlit's and ``get_engine``'s)."""
    import streamlit as st

    from study.db import get_engine

    st.cache_resource.clear()
    st.cache_data.clear()
    get_engine.cache_clear()


@pytest.fixture
def app_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The database the pages will use (migrated, empty, no demo study)."""
    from study.db import get_engine, upgrade

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("OVERSIGHT_DATABASE_URL", url)
    monkeypatch.setenv("OVERSIGHT_NO_DEMO", "1")
    monkeypatch.setenv("OVERSIGHT_ADMIN_PASSWORD", PASSWORD)
    clear_app_caches()
    upgrade(url)
    engine = get_engine(url)
    yield engine
    engine.dispose()
    clear_app_caches()
