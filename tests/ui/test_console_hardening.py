"""Console login throttling, hashed secrets, and incidents instead of tracebacks."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from study import auth, service
from study.testing import ready_study, small_config


def _console() -> None:
    from study.ui.console import console_page

    console_page()


@pytest.fixture
def fast_throttle(monkeypatch: pytest.MonkeyPatch) -> auth.LoginThrottle:
    """Lockout after 3 failures with tiny waits, so the test runs in real time."""
    throttle = auth.LoginThrottle(auth.ThrottlePolicy(free_failures=1, base_delay_s=0.001, max_delay_s=0.001,
                                                      lockout_failures=3))
    monkeypatch.setattr(auth, "THROTTLE", throttle)
    return throttle


def _client(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr("study.ui.common.login_client", lambda: name)


def test_lockout_message_and_another_client_still_gets_in(app_engine: Engine, ui, monkeypatch: pytest.MonkeyPatch,
                                                          fast_throttle: auth.LoginThrottle,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    ready_study(app_engine, small_config("secret-study"))
    _client(monkeypatch, "198.51.100.66")
    at = AppTest.from_function(_console, default_timeout=ui.timeout).run()
    with caplog.at_level(logging.WARNING, logger="oversight.auth"):
        for _ in range(3):
            at = ui.ok(ui.login(at, "guess-" + "x" * 8))
    assert "locked out for 15 minutes" in at.error[0].value
    at = ui.ok(ui.login(at))  # the right password, from the locked client
    assert "locked out" in at.error[0].value and "another device" in at.error[0].value
    assert "secret-study" not in ui.texts(at) and not at.selectbox
    assert "console login failed: client=198.51.100.66" in caplog.text and "guess-" not in caplog.text
    _client(monkeypatch, "203.0.113.5")  # the experimenter's own machine
    fresh = AppTest.from_function(_console, default_timeout=ui.timeout).run()
    fresh = ui.ok(ui.login(fresh))
    assert fresh.selectbox(key="console_study").value == "secret-study"


def test_hashed_secret_opens_the_console(app_engine: Engine, ui, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVERSIGHT_ADMIN_PASSWORD")
    monkeypatch.setenv("OVERSIGHT_ADMIN_PASSWORD_HASH", auth.hash_password("a hashed secret"))
    ready_study(app_engine, small_config("secret-study"))
    at = AppTest.from_function(_console, default_timeout=ui.timeout).run()
    at = ui.ok(ui.login(at, ui.password))  # the old plain password is not the secret any more
    assert [e.value for e in at.error] == ["Wrong password."]
    at = ui.ok(ui.login(at, "a hashed secret"))
    assert at.selectbox(key="console_study").value == "secret-study"


def test_a_failure_shows_an_incident_id_not_a_traceback(app_engine: Engine, ui, console,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    ready_study(app_engine, small_config("secret-study"))
    at = console()

    def broken(_engine: Engine) -> list[object]:
        raise RuntimeError("could not open /srv/oversight/data/oversight.db [SQL: SELECT * FROM study]")

    monkeypatch.setattr(service, "list_studies", broken)
    with caplog.at_level(logging.ERROR, logger="oversight.incidents"):
        at = ui.ok(at.run())
    shown = ui.texts(at)
    match = re.search(r"incident ([0-9A-F]{8})", shown)
    assert match, shown
    assert "/srv/" not in shown and "SQL" not in shown and "Traceback" not in shown
    logged = caplog.text
    assert f"incident {match.group(1)}" in logged and "RuntimeError" in logged and "/srv/oversight" in logged
