"""kill -9 of the Streamlit app server itself: acknowledged judgments survive, raters resume.

One ``streamlit run app.py`` server on the test database (SQLite file, then PostgreSQL)
and two real headless-Chromium raters (the scripted rater of tests/support/rater_bot.py).
From the page alone, each rater records which items the server acknowledged: an item
counts once the page has moved past it (the next item, practice feedback or the exit
screen is visible). Mid-run the server process gets SIGKILL while both raters are in
the middle of an item: rater A has picked an answer but not sent it, rater B has just
clicked Submit (the request may or may not have reached the database). The server is
restarted on the same port and each rater's link is opened again.

Then: every acknowledged judgment is in the database exactly once with the label the
rater chose; A has exactly its acknowledged judgments, B at most one more (the one in
flight); each rater's page resumes at its first unjudged item (the progress text says
``Item <judgments + 1>`` and the claim is that item's); both raters finish with
exactly one judgment per assigned item, in assignment order.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from study import models as m
from study.db import get_engine, read_session, upgrade
from study.testing import ready_study, small_config

STUDY = "kill"
ITEMS_PER_RATER = 6
TOTAL = ITEMS_PER_RATER + 1 + 1  # main items + 1 practice + 1 attention check
ACKED_BEFORE_KILL = 3
_PROGRESS = re.compile(r"(?:Practice item|Item) (\d+) of (\d+)")


def _start_server(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` as a direct child (its pid is the server), healthy on return."""
    from support.rater_bot import APP, ROOT, _wait_healthy

    env = {**os.environ, "OVERSIGHT_DATABASE_URL": db_url, "OVERSIGHT_NO_DEMO": "1",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def _position(probe: dict[str, Any]) -> int | None:
    """1-based item number shown in the progress text (None off the item screen)."""
    found = _PROGRESS.search(probe.get("progress") or "")
    if found:
        assert int(found.group(2)) == TOTAL, probe
        return int(found.group(1))
    return None


class Rater:
    """A RaterBot plus the judgments the page acknowledged: claim -> label."""

    def __init__(self, browser: Any, base: str, name: str) -> None:
        from support.rater_bot import RaterBot

        self.name = name
        self.context = browser.new_context(viewport={"width": 1100, "height": 1400})
        self.bot = RaterBot(self.context.new_page(), base, timeout_s=30)
        self.acked: dict[str, str] = {}

    def open(self, base: str) -> dict[str, Any]:
        self.bot.base_url = base
        self.bot.open(self.name, study=STUDY)
        return self.bot.probe()

    def step(self) -> dict[str, Any]:
        """One action; an item submitted and moved past is acknowledged."""
        now = self.bot.probe()
        after = self.bot.step()
        if now["screen"] == "submit":
            moved_on = after["screen"] in ("next", "finish", "completion_code") or (
                (_position(after) or 0) > (_position(now) or 0))
            assert moved_on, (now, after)
            assert now["claim"] not in self.acked, f"{self.name} saw {now['claim']!r} twice"
            self.acked[now["claim"]] = self.bot.answered[-1]
        return after

    def until_acked(self, n: int) -> dict[str, Any]:
        """Step until ``n`` items are acknowledged and the next one is on screen."""
        for _ in range(4 * TOTAL):
            now = self.bot.probe()
            if len(self.acked) >= n and now["screen"] == "submit":
                return now
            self.step()
        raise AssertionError(f"{self.name} did not reach {n} acknowledged items")

    def finish(self) -> str:
        for _ in range(4 * TOTAL):
            if self.bot.probe()["screen"] == "completion_code":
                return self.bot.completion_code()
            self.step()
        raise AssertionError(f"{self.name} never finished")


def _judged(engine: Engine, rater: str) -> list[tuple[int, int, str, str]]:
    """(assignment position, assignment id, claim, label) of every judgment of ``rater``."""
    with read_session(engine) as s:
        rows = s.execute(
            select(m.Assignment.position, m.Assignment.id, m.Item.claim, m.Judgment.label)
            .join(m.Assignment, m.Assignment.id == m.Judgment.assignment_id)
            .join(m.Item, m.Item.id == m.Judgment.item_pk)
            .join(m.Rater, m.Rater.id == m.Judgment.rater_id)
            .where(m.Rater.external_id == rater)
            .order_by(m.Judgment.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _assigned(engine: Engine, rater: str) -> list[tuple[int, int, str]]:
    """(position, assignment id, claim) of ``rater``'s assignments, in order."""
    with read_session(engine) as s:
        rows = s.execute(
            select(m.Assignment.position, m.Assignment.id, m.Item.claim)
            .join(m.Item, m.Item.id == m.Assignment.item_pk)
            .join(m.Rater, m.Rater.id == m.Assignment.rater_id)
            .where(m.Rater.external_id == rater)
            .order_by(m.Assignment.position)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _check_acked_exactly_once(engine: Engine, rater: Rater) -> list[tuple[int, int, str, str]]:
    judged = _judged(engine, rater.name)
    assert not [a for a, n in Counter(j[1] for j in judged).items() if n > 1], f"duplicate judgments: {judged}"
    by_claim = Counter(j[2] for j in judged)
    labels = {j[2]: j[3] for j in judged}
    for claim, label in rater.acked.items():
        assert by_claim[claim] == 1, f"{rater.name}: acknowledged {claim!r} is in the database {by_claim[claim]} times"
        assert labels[claim] == label, (claim, labels[claim], label)
    # In assignment order with no gap: the rater never skipped or repeated an item.
    assert [j[0] for j in judged] == list(range(len(judged))), judged
    return judged


@pytest.mark.slow
@pytest.mark.browser
def test_kill_9_of_the_app_server_then_resume(browser_ready: None, db_url: str, tmp_path: Path) -> None:
    from support.rater_bot import chromium, free_port

    upgrade(db_url)
    engine = get_engine(db_url)
    ready_study(engine, small_config(STUDY, items_per_rater=ITEMS_PER_RATER, practice_items=1, attention_checks=1,
                                     target_ratings_per_item=4))
    port, log = free_port(), tmp_path / "streamlit.log"
    base = f"http://127.0.0.1:{port}"
    server = _start_server(db_url, port, log)
    try:
        with chromium() as browser:
            a, b = Rater(browser, base, "kill-a"), Rater(browser, base, "kill-b")
            for r in (a, b):
                r.open(base)
                r.until_acked(ACKED_BEFORE_KILL)

            # Mid-item: A has answered but not sent; B's Submit is in flight when the server dies.
            a.bot.choose("", a.bot.pick_label(a.bot.probe()))
            in_flight = b.bot.probe()
            label_b = b.bot.pick_label(in_flight)
            b.bot.choose("", label_b)
            b.bot.page.locator(".st-key-submit button").click()
            os.kill(server.pid, signal.SIGKILL)
            assert server.wait(10) == -signal.SIGKILL

            # Before the restart: acknowledged judgments are in the database, nothing more from A.
            judged_a = _check_acked_exactly_once(engine, a)
            judged_b = _check_acked_exactly_once(engine, b)
            assert len(judged_a) == len(a.acked) == ACKED_BEFORE_KILL
            assert len(b.acked) <= len(judged_b) <= len(b.acked) + 1  # + the submit in flight, maybe

            t_restart = time.monotonic()
            server = _start_server(db_url, port, log)
            restart_s = time.monotonic() - t_restart
            for r in (a, b):
                now = r.open(base)  # reload the rater's link
                judged = _check_acked_exactly_once(engine, r)
                assigned = _assigned(engine, r.name)
                assert now["screen"] == "submit", now
                assert _position(now) == len(judged) + 1, (now, judged)
                assert now["claim"].strip() == assigned[len(judged)][2].strip(), (now, assigned[len(judged)])
            if len(judged_b) > len(b.acked):  # the submit in flight landed: it is B's answer to that item
                assert judged_b[-1][2:] == (in_flight["claim"], label_b), (judged_b[-1], in_flight)
                b.acked[in_flight["claim"]] = label_b

            codes = {r.name: r.finish() for r in (a, b)}
        assert codes == {"kill-a": "COMPLETE", "kill-b": "COMPLETE"}
        for r in (a, b):
            judged = _check_acked_exactly_once(engine, r)
            assigned = _assigned(engine, r.name)
            assert len(assigned) == TOTAL
            assert sorted(j[1] for j in judged) == sorted(x[1] for x in assigned)  # one judgment per item
            assert len(r.acked) == TOTAL
        with read_session(engine) as s:
            statuses = s.scalars(select(m.Rater.status).join(m.Study).where(m.Study.name == STUDY)).all()
        assert sorted(statuses) == ["completed", "completed"]
        print(f"restart took {restart_s:.1f}s; submit in flight recorded: {len(judged_b) > ACKED_BEFORE_KILL}")
    finally:
        server.kill()
        server.wait()
        engine.dispose()
