"""The rater page under hostile or broken conditions (AppTest, SQLite and PostgreSQL).

Links: over-long or NUL Prolific parameters, signed links, the per-client enrolment
limit; consent as the moment a condition is chosen; unexpected errors and an
unavailable database shown as plain messages with an incident id, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from streamlit.testing.v1 import AppTest
from support.app_db import clear_app_caches

from study import links
from study import models as m
from study import rater as raters
from study.db import get_engine, read_session, upgrade
from study.rater import throttle
from study.testing import ready_study, small_config
from study.ui import rater_guard

APP = "../../app.py"
SECRET = "page-test-secret-0123456789abcdef"
RAW = ("Traceback", "INSERT INTO", "SELECT ", "DataError", "OperationalError", "/work/", "site-packages", "[SQL")


@pytest.fixture(params=["sqlite", "postgres"])
def page_db(request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'app.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("OVERSIGHT_DATABASE_URL", url)
    monkeypatch.setenv("OVERSIGHT_NO_DEMO", "1")
    clear_app_caches()
    throttle.reset()
    upgrade(url)
    engine = get_engine(url)
    yield engine
    engine.dispose()
    clear_app_caches()


def open_page(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def page_text(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("error", "warning", "info", "success") for e in getattr(at, kind)]
    parts += [str(e.value) for e in at.markdown] + [t.value for t in at.title]
    return "\n".join(parts)


def no_raw_error(at: AppTest) -> None:
    text = page_text(at)
    assert not any(bad in text for bad in RAW), text


def rater_rows(engine: Engine) -> list[m.Rater]:
    with read_session(engine) as s:
        return list(s.scalars(select(m.Rater)))


@pytest.mark.parametrize(("param", "value"), [
    ("PROLIFIC_PID", "p" * 101), ("STUDY_ID", "s" * 101), ("SESSION_ID", "x" * 101), ("STUDY_ID", "a\x00b"),
    ("PROLIFIC_PID", "a\x00b"),
])
def test_bad_prolific_parameters_get_a_message_on_both_databases(page_db: Engine, param: str, value: str) -> None:
    ready_study(page_db, small_config("demo"))
    params = {"study": "demo", "PROLIFIC_PID": "5f0c0ffee0c0ffee0c0ffee0", "STUDY_ID": "st", "SESSION_ID": "se"}
    at = open_page(**{**params, param: value})
    assert any("This link is not valid" in e.value and param in e.value for e in at.error), page_text(at)
    no_raw_error(at)
    assert rater_rows(page_db) == []


def test_consent_screen_holds_no_condition_and_consent_assigns(page_db: Engine) -> None:
    ready_study(page_db, small_config("demo"))
    at = open_page(study="demo", rater="visitor")
    assert at.button(key="consent") is not None
    [r] = rater_rows(page_db)
    assert r.condition_id is None and r.status == "enrolled"
    at.button(key="consent").click().run()
    assert not at.exception
    [r] = rater_rows(page_db)
    assert r.condition_id is not None and r.status == "active"


def test_signed_links(page_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(links.LINK_SECRET_ENV, SECRET)
    ready_study(page_db, small_config("demo", links="signed"))
    [good] = links.make_links(page_db, "demo", 1, "http://x")
    sig = good.url.split("sig=")[1]
    refused = "This link is not valid for this study"
    for params in ({"rater": good.rater_id}, {"rater": good.rater_id + "x", "sig": sig},
                   {"rater": good.rater_id, "sig": ("0" if sig[0] != "0" else "1") + sig[1:]},
                   {"PROLIFIC_PID": "5f0c0ffee0c0ffee0c0ffee0"}):
        at = open_page(study="demo", **params)
        assert any(refused in e.value for e in at.error), (params, page_text(at))
    assert rater_rows(page_db) == []
    at = open_page(study="demo")  # the welcome form would let anyone type an id
    assert any("personal link" in e.value for e in at.error) and not at.text_input
    at = open_page(study="demo", rater=good.rater_id, sig=sig)
    assert at.button(key="consent") is not None
    assert [r.external_id for r in rater_rows(page_db)] == [good.rater_id]
    monkeypatch.delenv(links.LINK_SECRET_ENV)
    at = open_page(study="demo", rater="other", sig=sig)
    assert any("links are not set up" in e.value for e in at.error)


def test_prolific_links_in_a_signed_study_when_allowed(page_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(links.LINK_SECRET_ENV, SECRET)
    ready_study(page_db, small_config("demo", links="signed", prolific=True))
    at = open_page(study="demo", PROLIFIC_PID="5f0c0ffee0c0ffee0c0ffee0", STUDY_ID="s", SESSION_ID="x")
    assert at.button(key="consent") is not None


def test_new_enrolments_from_one_client_are_limited(page_db: Engine) -> None:
    ready_study(page_db, small_config("demo", enrol_limit={"per_client": 3, "minutes": 10}))
    for i in range(3):
        assert open_page(study="demo", rater=f"v{i}").button(key="consent") is not None
    at = open_page(study="demo", rater="v3")
    assert any("(429)" in e.value and "try again in" in e.value for e in at.error), page_text(at)
    assert open_page(study="demo", rater="v0").button(key="consent") is not None  # resuming is fine
    assert len(rater_rows(page_db)) == 3


def test_unexpected_error_shows_an_incident_id(page_db: Engine, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    ready_study(page_db, small_config("demo"))

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("boom at /srv/app/secret.py with SELECT token FROM rater")

    monkeypatch.setattr(raters, "rater_view", broken)
    with caplog.at_level(logging.ERROR, logger="oversight.incidents"):
        at = open_page(study="demo", rater="alice")
    [error] = at.error
    assert "incident" in error.value and "boom" not in error.value
    incident = error.value.split("incident ")[1][:8]
    assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)
    no_raw_error(at)


def test_database_unavailable_then_back(page_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two failed reads (connection refused), then the database is back: the page recovers by itself."""
    ready_study(page_db, small_config("demo"))
    real = raters.rater_view
    calls = {"n": 0}

    def flaky(*a: Any, **k: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real(*a, **k)

    monkeypatch.setattr(raters, "rater_view", flaky)
    at = open_page(study="demo", rater="alice")
    assert calls["n"] == 3  # two tries waited 1 s and 2 s, the third showed the page
    assert at.button(key="consent") is not None
    no_raw_error(at)


def test_database_unavailable_for_long_shows_a_retry_button(page_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ready_study(page_db, small_config("demo"))
    monkeypatch.setattr(rater_guard, "RETRY_FOR_S", 0.0)

    def down(*_a: Any, **_k: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(raters, "rater_view", down)
    at = open_page(study="demo", rater="alice")
    assert any("temporarily unavailable" in w.value and "answers so far are saved" in w.value for w in at.warning)
    assert at.button(key="db_retry") is not None
    no_raw_error(at)
    monkeypatch.undo()
    monkeypatch.setenv("OVERSIGHT_DATABASE_URL", str(page_db.url.render_as_string(hide_password=False)))
    at.button(key="db_retry").click().run()
    assert at.button(key="consent") is not None and not at.warning
