"""Drive-by visits, an unreachable PostgreSQL and a locked SQLite, in real headless Chromium.

- 40 visits with fresh ids that never consent do not fill a study with one place per
  condition; the 21st visit from one client is refused (429-style message); a genuine
  rater from another client then consents and gets an item.
- PostgreSQL behind a TCP proxy this test controls (the machine's server is never
  touched): the proxy stops, the rater clicks, the page says "temporarily unavailable,
  your answers are saved" (no traceback, SQL or path), the proxy comes back and the
  page recovers by itself.
- SQLite locked by another process for longer than the busy timeout, then released:
  the same message, then the page recovers and the rater goes on.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.rater_bot import RaterBot, browser_problem, chromium, streamlit_server

from study.db import SQLITE_BUSY_TIMEOUT_MS, get_engine, upgrade
from study.testing import ready_study, small_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RAW = ("Traceback", "OperationalError", "[SQL", "SELECT ", "INSERT ", "/work/", "site-packages", "psycopg")
UNAVAILABLE = "temporarily unavailable"


@pytest.fixture(autouse=True)
def _browser() -> None:
    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)


def _body(page: Any) -> str:
    return str(page.inner_text("body"))


def _wait_text(page: Any, text: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = _body(page)
        if text in body:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; page: {_body(page)[:800]}")


def _clean(body: str) -> None:
    assert not any(bad in body for bad in RAW), body


def test_drive_by_visits_do_not_fill_the_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    ready_study(get_engine(url), small_config("demo", items_per_rater=24, target_ratings_per_item=1))
    monkeypatch.setenv("OVERSIGHT_CLIENT_IP_HEADER", "X-Forwarded-For")
    with streamlit_server(url, log=tmp_path / "server.log") as base, chromium() as browser:
        refused = 0
        for i in range(40):  # one address (as a proxy reports it), a fresh id each time
            ctx = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.66"})
            page = ctx.new_page()
            page.goto(f"{base}/?study=demo&rater=drive-by-{i}")
            page.wait_for_selector(".st-key-consent, [data-testid='stAlert']", timeout=60_000)
            refused += "(429)" in _body(page)
            ctx.close()
        assert refused == 20  # 20 new raters per client per 10 minutes by default
        ctx = browser.new_context(extra_http_headers={"X-Forwarded-For": "198.51.100.5"})
        bot = RaterBot(ctx.new_page(), base, timeout_s=60)
        bot.open("genuine", study="demo")
        assert bot.probe()["screen"] == "consent"
        bot.click("consent")
        bot.click("start")
        assert bot.probe()["screen"] == "submit"  # the genuine rater has an item
    with get_engine(url).connect() as conn:
        from sqlalchemy import text

        visits = conn.execute(text("SELECT count(*) FROM rater WHERE external_id LIKE 'drive-by-%'")).scalar()
        holding = conn.execute(text("SELECT count(*) FROM rater WHERE condition_id IS NOT NULL")).scalar()
    assert (visits, holding) == (20, 1)


class _Proxy:
    """A TCP proxy to PostgreSQL that the test can stop (refusing and cutting connections) and restart."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._server: socket.socket | None = None

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._server is not None:  # shutdown wakes the thread blocked in accept(); close alone does not
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        for s in self._conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self._conns.clear()


@pytest.fixture
def proxied_pg(pg_url: str) -> Iterator[tuple[str, _Proxy]]:
    proxy = _Proxy(("127.0.0.1", 5432))
    proxy.start()
    yield pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"), proxy
    proxy.stop()


def test_postgres_unreachable_then_back(proxied_pg: tuple[str, _Proxy], tmp_path: Path) -> None:
    url, proxy = proxied_pg
    upgrade(url)
    ready_study(get_engine(url), small_config("demo"))
    get_engine(url).dispose()
    with streamlit_server(url, log=tmp_path / "server.log") as base, chromium() as browser:
        bot = RaterBot(browser.new_page(), base, timeout_s=60)
        bot.open("alice", study="demo")
        bot.click("consent")
        proxy.stop()
        bot.page.locator(".st-key-start button").click()
        body = _wait_text(bot.page, UNAVAILABLE, 60)
        assert "answers so far are saved" in body and "incident" in body
        _clean(body)
        time.sleep(3)
        proxy.start()
        bot.wait_screen()  # no reload: the page tries again by itself
        assert bot.probe()["screen"] in ("start", "submit")
        _clean(_body(bot.page))
        if bot.probe()["screen"] == "start":
            bot.click("start")
        assert bot.probe()["screen"] == "submit"
    log = (tmp_path / "server.log").read_text()
    assert "incident" in log and "OperationalError" in log  # the full error is in the server log


_LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def test_sqlite_locked_longer_than_the_busy_timeout(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    upgrade(url)
    ready_study(get_engine(url), small_config("demo"))
    hold_s = SQLITE_BUSY_TIMEOUT_MS / 1000 + 8
    with streamlit_server(url, log=tmp_path / "server.log") as base, chromium() as browser:
        bot = RaterBot(browser.new_page(), base, timeout_s=90)
        bot.open("bob", study="demo")
        locker = subprocess.Popen([sys.executable, "-c", _LOCKER, str(db), str(hold_s)], stdout=subprocess.PIPE)
        try:
            assert locker.stdout is not None and locker.stdout.readline().strip() == b"locked"
            bot.page.locator(".st-key-consent button").click()
            body = _wait_text(bot.page, UNAVAILABLE, hold_s + 30)
            _clean(body)
        finally:
            locker.wait(timeout=120)
        bot.wait_screen()  # the page came back by itself after the lock was released
        if bot.probe()["screen"] == "consent":
            bot.click("consent")
        assert bot.probe()["screen"] == "start"
        _clean(_body(bot.page))
