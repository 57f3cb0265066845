"""The console's Links section: rater links (signed when the study's are) and test raters."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from study import links
from study import models as m
from study.db import read_session
from study.testing import ready_study, small_config

SECRET = "console-links-secret-0123456789"


def _links_section(console, ui):  # type: ignore[no-untyped-def]
    at = console()
    at.radio(key="console_section").set_value("Links")
    return ui.ok(at.run())


def test_generate_signed_links_and_test_raters(app_engine: Engine, ui, console,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(links.LINK_SECRET_ENV, SECRET)
    ready_study(app_engine, small_config("lk", links="signed"))
    at = _links_section(console, ui)
    assert "signed" in ui.texts(at)
    at.number_input(key="links_n").set_value(7)
    at = ui.ok(at.button(key="links_generate").click().run())
    table = ui.frame(at, "links_table")
    assert len(table) == 7
    for rid, url in zip(table["rater_id"], table["url"], strict=True):
        sig = url.split("sig=")[1]
        assert links.verify("lk", rid, sig, SECRET.encode())
    assert any(b.key == "links_download" for b in at.get("download_button"))
    with read_session(app_engine) as s:
        assert s.scalars(select(m.Rater)).all() == []  # links write nothing until opened

    at.number_input(key="links_n_test").set_value(2)
    at = ui.ok(at.button(key="links_test").click().run())
    with read_session(app_engine) as s:
        made = s.execute(select(m.Rater.external_id, m.Rater.is_test)).all()
    assert len(made) == 2 and all(is_test and ext.startswith("test-") for ext, is_test in made)
    assert "test rater" in ui.texts(at)
    assert set(ui.frame(at, "links_table")["rater_id"]) == {ext for ext, _ in made}


def test_signed_study_without_secret_says_so(app_engine: Engine, ui, console,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(links.LINK_SECRET_ENV, raising=False)
    ready_study(app_engine, small_config("lk", links="signed"), launch=False)  # cannot launch without it
    at = _links_section(console, ui)
    assert any(links.LINK_SECRET_ENV in e.value for e in at.error)
    assert not any(b.key == "links_generate" for b in at.button)


def test_open_study_says_links_are_open(app_engine: Engine, ui, console) -> None:
    ready_study(app_engine, small_config("lk"))
    at = _links_section(console, ui)
    assert "Links are **open**" in ui.texts(at)
    at = ui.ok(at.button(key="links_generate").click().run())
    assert all("sig=" not in url for url in ui.frame(at, "links_table")["url"])
