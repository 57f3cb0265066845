"""The experimenter gate: unconfigured, wrong and right password; rater links never reach it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from study.testing import ready_study, small_config

ROOT = Path(__file__).resolve().parents[2]


def _console() -> None:
    from study.ui.console import console_page

    console_page()


def _dashboard() -> None:
    from study.ui.dashboard import dashboard_page

    dashboard_page()


@pytest.mark.parametrize("page", [_console, _dashboard])
def test_unconfigured_password_locks_the_page(app_engine: Engine, ui, monkeypatch: pytest.MonkeyPatch,
                                              page: Callable[[], None]) -> None:
    monkeypatch.delenv("OVERSIGHT_ADMIN_PASSWORD")
    at = ui.ok(AppTest.from_function(page, default_timeout=ui.timeout).run())
    assert "no password is configured" in at.error[0].value
    assert not at.text_input and not at.selectbox and not at.dataframe


@pytest.mark.parametrize("page", [_console, _dashboard])
def test_wrong_password_is_refused(app_engine: Engine, ui, page: Callable[[], None]) -> None:
    ready_study(app_engine, small_config("secret-study"))
    at = AppTest.from_function(page, default_timeout=ui.timeout).run()
    at = ui.ok(ui.login(at, "not the password"))
    assert [e.value for e in at.error] == ["Wrong password."]
    assert "secret-study" not in ui.texts(at)
    assert not at.selectbox and not at.dataframe


def test_right_password_opens_the_console(app_engine: Engine, ui) -> None:
    ready_study(app_engine, small_config("secret-study"))
    at = AppTest.from_function(_console, default_timeout=ui.timeout).run()
    at = ui.ok(ui.login(at))
    assert not at.error
    assert at.selectbox(key="console_study").value == "secret-study"
    assert at.radio(key="console_section").value == "Monitor"


def test_login_is_kept_for_the_session(app_engine: Engine, ui, console) -> None:
    at = console()
    at.run()
    assert all(t.key != "admin_password" for t in at.text_input)
    assert at.radio(key="console_section").options == ["New study"]  # no study yet


def test_rater_link_never_shows_the_experimenter_pages(app_engine: Engine, ui) -> None:
    ready_study(app_engine, small_config("demo"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=ui.timeout)
    at.query_params["rater"] = "alice"
    at.query_params["study"] = "demo"
    at = ui.ok(at.run())
    titles = [t.value for t in at.title]
    assert "Experimenter console" not in titles and "Analyst dashboard" not in titles
    assert not any(t.key == "admin_password" for t in at.text_input)
