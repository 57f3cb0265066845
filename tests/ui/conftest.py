"""AppTest fixtures for the console and dashboard pages.

Each test gets its own SQLite file, no demo study and a known experimenter password
(``app_engine``, from tests/support/app_db.py); the helpers are
:class:`support.ui_tools.UiTools`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest
from support.ui_tools import TIMEOUT, UiTools


def _console_script() -> None:
    from study.ui.console import console_page

    console_page()


def _dashboard_script() -> None:
    from study.ui.dashboard import dashboard_page

    dashboard_page()


@pytest.fixture
def console(app_engine: Engine) -> Callable[[], AppTest]:
    """Factory: the console page, run once and logged in."""

    def make() -> AppTest:
        at = AppTest.from_function(_console_script, default_timeout=TIMEOUT)
        return UiTools.login(at.run())

    return make


@pytest.fixture
def dashboard(app_engine: Engine) -> Callable[[], AppTest]:
    """Factory: the dashboard page, run once and logged in."""

    def make() -> AppTest:
        at = AppTest.from_function(_dashboard_script, default_timeout=TIMEOUT)
        return UiTools.login(at.run())

    return make


@pytest.fixture
def ui() -> type[UiTools]:
    return UiTools
