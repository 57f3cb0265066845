"""Timing the rater page against a bare Streamlit page with the same widgets.

Used by benchmarks/bench_rater_latency.py (``--demo``). A transition is timed inside
the page, from pointer-down on a button to the frame where the next screen is
*settled*: Streamlit reports the script run finished, its running indicator is gone,
nothing is stale or still loading, and the next screen is up (a new item's claim with
its Submit button, the practice feedback's Next button, or the end of the session).

:data:`BARE_PAGE` is the floor: the rater page's screens built from the same Streamlit
elements and widgets (title, progress, item, bordered sources, the condition's
assistance with its quote expanders, the label/confidence form, practice feedback),
with fixed text of the demo's length and no database, no session logic and no custom
component. ``?shape=none|evidence|reasoning|debate`` picks the condition it mirrors.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support.rater_bot import ROOT, RaterBot, _wait_healthy, chromium, free_port

#: Arms the clock: the next pointer-down anywhere starts it.
ARM_JS = """
() => {
  window.__ovlT0 = null;
  document.addEventListener('pointerdown', () => { window.__ovlT0 = performance.now(); },
                            { capture: true, once: true });
}
"""

#: Truthy (ms since pointer-down) once the screen after ``prev`` is settled.
SETTLED_JS = """
(prev) => {
  if (window.__ovlT0 === null) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') === 'running') return false;
  if (document.querySelector('[data-testid="stStatusWidget"], [data-stale="true"], [data-testid="stSkeleton"]'))
    return false;
  const claim = document.querySelector('.st-key-claim');
  const submit = document.querySelector('.st-key-submit button');
  const end = document.querySelector('.st-key-next button, .st-key-finish button, .st-key-completion_code');
  const moved = claim && submit && claim.innerText !== prev.claim;
  return (moved || (end && prev.screen !== 'next')) ? performance.now() - window.__ovlT0 : false;
}
"""

_SOURCE = ("Type 2 diabetes is characterised by insulin resistance, in which the body's cells do not respond "
           "normally to insulin. It is the most common form of diabetes, and its main risk factors include "
           "excess body weight and physical inactivity.")
_QUOTE = "It is the most common form of diabetes, and its main risk factors include excess body weight."
_REASONING = ("The sources say the opposite of the claim: the strongest evidence is in the first source. " * 6)

BARE_PAGE = f'''
import streamlit as st

SOURCE, QUOTE, REASONING = {_SOURCE!r}, {_QUOTE!r}, {_REASONING!r}
PRACTICE, TOTAL = 2, 13
shape = st.query_params.get("shape", "none")
state = st.session_state.setdefault("bare", {{"n": 0, "feedback": False}})


def submit():
    if state["n"] < PRACTICE:
        state["feedback"] = True
    state["n"] += 1


def next_item():
    state["feedback"] = False


def quotes(n, prefix, count):
    for i in range(count):
        with st.container(border=True):
            st.html(f"<div style='font-style: italic'>“{{QUOTE}}”</div>")
            st.caption(f":green[:material/verified:] verified: appears word for word in the source · Source {{i}}")
            st.expander("Show in source", key=f"{{prefix}}_quote_{{n}}_{{i}}", on_change="rerun")


def assistance(n):
    if shape == "none" or n < PRACTICE:
        return
    with st.container(key="assistance"):
        if shape == "evidence":
            st.subheader("AI-selected evidence")
            st.caption("Quotes an AI picked from the sources. The AI gives no verdict.")
            quotes(n, "ev", 3)
        elif shape == "reasoning":
            st.subheader("The AI's assessment")
            with st.container(border=True):
                st.html("<div style='font-weight: 600'>AI verdict: incorrect · AI confidence: 71%</div>")
                st.html(f"<div>{{REASONING}}</div>")
            st.caption("The AI's evidence")
            quotes(n, "rs", 3)
        else:
            st.subheader("Two AI debaters")
            st.caption("Each debater argues one answer. Neither is known to be right; decide for yourself.")
            for i, col in enumerate(st.columns(2)):
                with col, st.container(border=True, key=f"debater_{{'ab'[i]}}"):
                    st.html(f"<div style='font-weight: 600'>Debater {{'AB'[i]}} argues: correct</div>")
                    st.html(f"<div>{{REASONING[:300]}}</div>")
                    quotes(n, f"db{{i}}", 2)


n = state["n"]
st.title("Checking AI answers")
if state["feedback"]:
    st.subheader("Practice feedback")
    with st.container(border=True):
        st.html(f"<div style='font-weight: 600'>Claim number {{n - 1}}</div>")
    st.success("Right: the answer is “correct”.")
    with st.container(key="next"):
        st.button("Next", key="next_button", type="primary", on_click=next_item)
    st.stop()
with st.container(key="progress"):
    what = "Practice item" if n < PRACTICE else "Item"
    st.progress(n % TOTAL / TOTAL, text=f"{{what}} {{n % TOTAL + 1}} of {{TOTAL}}")
if n < PRACTICE:
    st.info("Practice item: you will see the right answer after you submit.")
with st.container(key="item"):
    st.caption("Question to the AI")
    st.html(f"<div>Question number {{n}}?</div>")
    st.caption("The AI's answer: is it correct?")
    with st.container(border=True, key="claim"):
        st.html(f"<div style='font-size: 1.15rem; font-weight: 600'>Claim number {{n}}</div>")
    st.caption("Sources")
    for i in range(2):
        with st.container(border=True):
            st.html(f"<div style='font-weight: 600'>Source {{i}}</div>")
            st.html(f"<div>{{SOURCE}}</div>")
assistance(n)
with st.form(f"answer-{{n}}", border=False):
    st.subheader("Your answer")
    with st.container(key="label"):
        st.radio("Is the AI's answer correct?", ["correct", "incorrect"], index=None, key=f"label-{{n}}",
                 horizontal=True)
    with st.container(key="confidence"):
        st.slider("How sure are you? (50% = a guess, 100% = certain)", 50, 100, 75, step=5, key=f"confidence-{{n}}")
    with st.container(key="submit"):
        st.form_submit_button("Submit", key=f"submit-{{n}}", type="primary", on_click=submit)
'''


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100])."""
    ordered = sorted(values)
    rank = max(1, int(round(q / 100 * len(ordered) + 0.4999)))
    return ordered[min(rank, len(ordered)) - 1]


def timed_click(page: Any, key: str, before: dict[str, Any], timeout_ms: int = 60_000) -> float:
    """Click the button under ``.st-key-<key>``; ms from pointer-down until the next screen is settled."""
    page.evaluate(ARM_JS)
    page.locator(f".st-key-{key} button").click()
    return float(page.wait_for_function(SETTLED_JS, arg=before, polling="raf", timeout=timeout_ms).json_value())


@contextmanager
def _server(cmd: list[str], port: int, log: Path, env: dict[str, str], timeout: float) -> Iterator[tuple[str, float]]:
    """Run a server command; yields (base URL, seconds until it answered its health check)."""
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base, proc, timeout=timeout)
            yield base, time.perf_counter() - started
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_live(db: Path, timeout: float = 900) -> None:
    """On a first start the server answers at once and the demo is prepared meanwhile: wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as conn:
                row = conn.execute("select status from study where name = 'demo'").fetchone()
        except sqlite3.Error:
            row = None
        if row is not None and row[0] == "live":
            return
        time.sleep(0.5)
    raise TimeoutError(f"the demo study in {db} was not live within {timeout} s")


def _condition(db: Path, rater: str) -> str:
    with sqlite3.connect(db) as conn:
        row = conn.execute("select c.key from rater r join condition c on c.id = r.condition_id "
                           "where r.external_id = ?", (rater,)).fetchone()
    return str(row[0])


def _rater_pair(browser: Any, app_base: str, bare_base: str, rater: str, db: Path) -> list[dict[str, Any]]:
    """One demo rater through the whole flow, each of its clicks followed by the same click on the bare page."""
    viewport = {"width": 1100, "height": 1400}
    app = RaterBot(browser.new_context(viewport=viewport).new_page(), app_base, timeout_s=120)
    app.open(rater)
    app.click("consent")
    app.click("start")
    condition = _condition(db, rater)
    bare = RaterBot(browser.new_context(viewport=viewport).new_page(), bare_base, timeout_s=120)
    bare.page.goto(f"{bare_base}/?shape={condition}")
    bare.wait_screen()
    out: list[dict[str, Any]] = []
    while app.probe()["screen"] in ("submit", "next"):
        for side, bot in (("app", app), ("bare", bare)):
            now = bot.probe()
            base = {"side": side, "rater": rater, "condition": condition}
            if now["screen"] == "next":
                out.append({**base, "click": "next", "ms": timed_click(bot.page, "next", now)})
                now = bot.wait_screen(changed_from=now)
            label = bot.pick_label(now)
            bot.choose("", label)
            bot.answered.append(label)
            practice = now["progress"].startswith("Practice")
            out.append({**base, "click": "submit", "practice": practice, "item": now["progress"].split(" of ")[0],
                        "ms": timed_click(bot.page, "submit", now)})
            bot.wait_screen(changed_from=now)
    app.page.context.close()
    bare.page.context.close()
    return out


def _summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median": round(statistics.median(values), 1), "p95": round(percentile(values, 95), 1),
            "max": round(max(values), 1), "mean": round(statistics.fmean(values), 1)}


def _report(samples: list[dict[str, Any]]) -> dict[str, Any]:
    def pick(side: str, click: str = "submit", **match: Any) -> list[float]:
        return [s["ms"] for s in samples if s["side"] == side and s["click"] == click
                and all(s.get(k) == v for k, v in match.items())]

    app, bare = _summary(pick("app")), _summary(pick("bare"))
    slowest = sorted((s for s in samples if s["click"] == "submit"), key=lambda s: -s["ms"])[:6]
    conditions = sorted({s["condition"] for s in samples})
    return {
        "submit_ms": {"app": app, "bare": bare},
        "ratio_app_to_bare": {"median": round(app["median"] / bare["median"], 2), "p95": round(app["p95"] / bare["p95"], 2)},
        "first_submit_after_start_ms": {"app": pick("app")[0], "bare": pick("bare")[0]},
        "submit_median_by_condition": {c: {side: round(statistics.median(pick(side, condition=c)), 1)
                                           for side in ("app", "bare")} for c in conditions},
        "submit_median_practice": {side: round(statistics.median(pick(side, practice=True)), 1) for side in ("app", "bare")},
        "slowest_submits": [{k: (round(v, 1) if k == "ms" else v) for k, v in s.items()} for s in slowest],
        "next_ms": {side: _summary(pick(side, "next")) for side in ("app", "bare") if pick(side, "next")},
    }


def run_demo(*, raters: int, demo_db: Path | None = None) -> dict[str, Any]:
    """Time the demo served by ``python -m study run`` against :data:`BARE_PAGE`, interleaved (one JSON object)."""
    load = [round(os.getloadavg()[0], 2)]
    with tempfile.TemporaryDirectory() as tmp:
        db, bare_page, logs = Path(tmp) / "oversight.db", Path(tmp) / "bare" / "bare_page.py", Path(tmp)
        if demo_db is not None:  # the backup API also copies what is still in the write-ahead log
            with sqlite3.connect(demo_db) as src, sqlite3.connect(db) as dst:
                src.backup(dst)
        bare_page.parent.mkdir()
        bare_page.write_text(BARE_PAGE, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in ("OVERSIGHT_NO_DEMO", "OVERSIGHT_DATABASE_URL")}
        app_port, bare_port = free_port(), free_port()
        app_cmd = [sys.executable, "-m", "study", "run", "--db", f"sqlite:///{db}", "--port", str(app_port)]
        bare_cmd = [sys.executable, "-m", "streamlit", "run", str(bare_page), "--server.port", str(bare_port),
                    "--server.headless", "true"]
        started = time.perf_counter()
        with (_server(app_cmd, app_port, logs / "app.log", env, 900) as (app_base, _),
              _server(bare_cmd, bare_port, logs / "bare.log", env, 120) as (bare_base, _),
              chromium() as browser):
            _wait_live(db)
            prepare_s = time.perf_counter() - started
            load.append(round(os.getloadavg()[0], 2))
            samples: list[dict[str, Any]] = []
            for n in range(raters):
                samples += _rater_pair(browser, app_base, bare_base, f"bench-{n}", db)
    load.append(round(os.getloadavg()[0], 2))
    return {
        "benchmark": "rater_submit_to_next_screen_settled_demo",
        "setup": "python -m study run (fresh SQLite file) vs a bare Streamlit page with the same widgets; one "
                 "Submit on each in turn; settled = run finished, no running indicator, next screen up",
        "browser": "Debian chromium (headless, Playwright)",
        "demo_db": "copied from " + str(demo_db) if demo_db else "prepared by python -m study run",
        "prepare_and_start_s": round(prepare_s, 1),  # until the demo is live and the bare page is up
        **_report(samples),
        "wall_s": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "cpus": len(os.sched_getaffinity(0)),
                    "load_avg_1m_before_served_after": load},
    }
