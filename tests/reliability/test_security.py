"""Security: the experimenter secret, rater isolation, hostile links and item text.

The model is described in docs/security.md. Rater data is reachable only through the
rater's own token (a 32-character random secret held in the browser session); the
console and dashboard need the experimenter secret; query parameters are data, never
SQL, HTML or paths; item text is rendered as escaped text, so markup in an item bank
cannot run in a rater's browser (checked in headless Chromium).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from study import models as m
from study import rater as raters
from study import service
from study.db import read_session
from study.testing import ready_study, small_config
from tasks.items import Item, Source

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-for-tests"
HOSTILE = [
    "<script>window.__pwned = 1; document.title = 'pwned'</script>",
    '<img src=x onerror="window.__pwned = 2; document.title = \'pwned\'">',
    "**bold** [click](javascript:window.__pwned=3) <b>not bold</b> $x^2$ `code`",
]


def _hostile_items() -> list[Item]:
    items = []
    for i in range(8):
        text = HOSTILE[i % len(HOSTILE)]
        items.append(Item(item_id=f"h{i}", claim=f"{text} #{i}", gold_label="correct", context=text,
                          sources=[Source(title=text, text=f"Source {i}: {text}")]))
    return items


def test_tokens_isolate_raters(engine: Engine) -> None:
    ready_study(engine, small_config("s"))
    a = raters.enrol(engine, "s", "alice").token
    b = raters.enrol(engine, "s", "bob").token
    for tok in (a, b):
        raters.consent(engine, tok)
        raters.start(engine, tok)
    a_item = raters.rater_view(engine, a).item
    b_item = raters.rater_view(engine, b).item
    assert a_item and b_item and a_item.assignment_id != b_item.assignment_id
    for call in (
        lambda: raters.submit_judgment(engine, b, a_item.assignment_id, "correct", 0.8),
        lambda: raters.log_event(engine, b, "quote_expand", {}, a_item.assignment_id),
    ):
        with pytest.raises(service.ServiceError, match="not assigned to you"):
            call()
    for forged in ("' OR 1=1 --", "%", "*", a[:-1], a + "x", "", "x" * 500, "\x00"):
        with pytest.raises(service.ServiceError, match="unknown rater"):
            raters.rater_view(engine, forged)
        with pytest.raises(service.ServiceError, match="unknown rater"):
            raters.submit_judgment(engine, forged, a_item.assignment_id, "correct", 0.8)
    # An id that looks like SQL is just an id: it enrols a new rater named exactly that.
    odd = raters.enrol(engine, "s", "' OR 1=1 --")
    assert odd.created and odd.token not in (a, b)
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Judgment)) == 0
        assert sorted(s.scalars(select(m.Rater.external_id))) == ["' OR 1=1 --", "alice", "bob"]


@pytest.fixture
def app_db(app_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The app database (tests/support/app_db.py) with the hostile study ``demo``."""
    monkeypatch.setenv("OVERSIGHT_ADMIN_PASSWORD", SECRET)
    ready_study(app_engine, small_config("demo"), _hostile_items() + [
        Item(item_id=f"p{i}", claim="practice", gold_label="correct", role="practice",
             sources=[Source(title="t", text="Practice.")]) for i in range(1)] + [
        Item(item_id="ac", claim="Attention check: please answer 'correct'.", gold_label="correct", role="attention_check")])
    return app_engine


def _console() -> None:
    from study.ui.console import console_page

    console_page()


def _dashboard() -> None:
    from study.ui.dashboard import dashboard_page

    dashboard_page()


@pytest.mark.parametrize("page", [_console, _dashboard], ids=["console", "dashboard"])
def test_experimenter_pages_need_the_secret(app_db: Engine, page: object) -> None:
    at = AppTest.from_function(page, default_timeout=60).run()  # type: ignore[arg-type]
    assert [t.key for t in at.text_input] == ["admin_password"]
    assert not at.dataframe
    at.text_input(key="admin_password").input("wrong guess").run()
    at.button(key="login").click().run()
    assert any("Wrong password" in e.value for e in at.error)
    assert [t.key for t in at.text_input] == ["admin_password"]


@pytest.mark.parametrize("params", [
    {"rater": "' OR 1=1 --"},
    {"rater": "<script>window.__pwned=1</script>"},
    {"rater": "alice", "study": "../../etc/passwd"},
    {"rater": "alice", "study": "demo'; DROP TABLE judgment; --"},
    {"PROLIFIC_PID": "{{7*7}}", "STUDY_ID": "${jndi:ldap://x}", "SESSION_ID": "%00"},
    {"rater": "x" * 5000},
])
def test_hostile_query_parameters_are_harmless(app_db: Engine, params: dict[str, str]) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(t.key == "admin_password" for t in at.text_input)  # a rater link never reaches the console
    with read_session(app_db) as s:
        assert s.scalar(select(func.count()).select_from(m.Judgment)) == 0
        assert {r for r in s.scalars(select(m.Study.name))} == {"demo"}
        names = list(s.scalars(select(m.Rater.external_id)))
    assert all(n in params.values() for n in names), names  # at most the literal id itself


# --------------------------------------------------------------------------- real browser


@pytest.mark.browser
def test_item_markup_is_shown_literally_and_never_runs(browser_ready: None, app_db: Engine, tmp_path: Path) -> None:
    from support.rater_bot import RaterBot, chromium, streamlit_server

    url = os.environ["OVERSIGHT_DATABASE_URL"]
    app_db.dispose()
    with streamlit_server(url, log=tmp_path / "server.log") as base, chromium() as browser:
        page = browser.new_page()
        bot = RaterBot(page, base)
        bot.open("<img src=x onerror=window.__pwned=9>", study="demo")
        title = page.title()
        seen_markup = set()
        for _ in range(12):
            probe = bot.probe()
            if probe["screen"] == "submit":
                body = page.locator(".st-key-item").inner_text()
                seen_markup.update(h for h in HOSTILE if h in body)
            if probe["screen"] in (None, "completion_code", "finish"):
                break
            bot.step()
        assert page.evaluate("() => window.__pwned") is None
        assert page.title() == title != "pwned"
        assert seen_markup, "no hostile item was shown"
        assert page.locator("script:has-text('__pwned')").count() == 0
        # The console URL with a rater link shows the rater page only: no navigation.
        page.goto(f"{base}/console?rater=zed&study=demo")
        RaterBot(page, base).wait_screen()
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.locator("input[type='password']").count() == 0
        page.goto(f"{base}/console")
        page.wait_for_selector("input[type='password']", timeout=30_000)
        assert "Experimenter password" in page.inner_text("body")
