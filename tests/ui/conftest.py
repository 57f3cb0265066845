"""AppTest fixtures for the console and dashboard pages.

Each test gets its own SQLite file through ``OVERSIGHT_DATABASE_URL``, no demo study
(``OVERSIGHT_NO_DEMO=1``) and a known experimenter password; Streamlit's caches and
the engine cache are cleared around it so no state leaks between tests.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

PASSWORD = "correct horse battery staple"
TIMEOUT = 120


def _clear_caches() -> None:
    from study.db import get_engine

    st.cache_resource.clear()
    st.cache_data.clear()
    get_engine.cache_clear()


@pytest.fixture
def ui_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The database the pages will use (migrated, empty)."""
    from study.db import get_engine, upgrade

    url = f"sqlite:///{tmp_path / 'ui.db'}"
    monkeypatch.setenv("OVERSIGHT_DATABASE_URL", url)
    monkeypatch.setenv("OVERSIGHT_NO_DEMO", "1")
    monkeypatch.setenv("OVERSIGHT_ADMIN_PASSWORD", PASSWORD)
    _clear_caches()
    upgrade(url)
    engine = get_engine(url)
    yield engine
    engine.dispose()
    _clear_caches()


def _console_script() -> None:
    from study.ui.console import console_page

    console_page()


def _dashboard_script() -> None:
    from study.ui.dashboard import dashboard_page

    dashboard_page()


@pytest.fixture
def console(ui_engine: Engine) -> Callable[[], AppTest]:
    """Factory: the console page, run once and logged in."""

    def make() -> AppTest:
        at = AppTest.from_function(_console_script, default_timeout=TIMEOUT)
        return UiTools.login(at.run())

    return make


@pytest.fixture
def dashboard(ui_engine: Engine) -> Callable[[], AppTest]:
    """Factory: the dashboard page, run once and logged in."""

    def make() -> AppTest:
        at = AppTest.from_function(_dashboard_script, default_timeout=TIMEOUT)
        return UiTools.login(at.run())

    return make


class UiTools:
    """Helpers for the tests (a fixture: test directories are not importable packages)."""

    password = PASSWORD
    timeout = TIMEOUT

    @staticmethod
    def login(at: AppTest, password: str = PASSWORD) -> AppTest:
        at.text_input(key="admin_password").input(password)
        at.button(key="login").click()
        return at.run()

    @staticmethod
    def ok(at: AppTest) -> AppTest:
        """``at`` after checking the run raised nothing."""
        assert not at.exception, [e.value for e in at.exception]
        return at

    @staticmethod
    def frame(at: AppTest, key: str) -> pd.DataFrame:
        """The DataFrame shown inside ``st.container(key=key)``."""
        block = UiTools.block(at, key)
        if block is None or not block.dataframe:
            raise KeyError(f"no dataframe in a container with key {key!r}")
        return block.dataframe[0].value

    @staticmethod
    def block(at: AppTest, key: str) -> Block | None:
        """The container made with ``st.container(key=key)``, if shown."""
        todo: list[Any] = [at.main]
        while todo:
            node = todo.pop()
            if isinstance(node, Block):
                if getattr(node, "key", None) == key:
                    return node
                todo.extend(node.children.values())
        return None

    @staticmethod
    def texts(at: AppTest) -> str:
        """Every message, markdown and caption of the page, joined (for `in` checks)."""
        parts = [e.value for kind in ("error", "warning", "info", "success", "markdown", "caption")
                 for e in getattr(at, kind)]
        return "\n".join(str(p) for p in parts)

    @staticmethod
    def load(path: Path, name: str) -> ModuleType:
        """Import a module from a file (the suite runs with --import-mode=importlib, so
        test directories are not packages)."""
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while defining
        spec.loader.exec_module(module)
        return module

    @staticmethod
    def monitor_driver() -> ModuleType:
        """tests/study/test_monitor.py: the seeded rater simulation and its book."""
        return UiTools.load(Path(__file__).resolve().parents[1] / "study" / "test_monitor.py", "_monitor_driver")


@pytest.fixture
def ui() -> type[UiTools]:
    return UiTools
