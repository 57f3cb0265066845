"""Rater page latency: from clicking Submit to the next item being visible, in Chromium.

Two set-ups. ``--demo`` (the default) times the default demo as a newcomer gets it:
``python -m study run`` on a fresh SQLite file prepares the demo study (practice items,
an attention check, real assistance from the encoder) and serves it; one rater per
condition goes through the whole flow. A bare Streamlit page with the same widgets
(``support.latency.BARE_PAGE``, no database) is timed in the same minutes, one Submit
on each in turn, so both see the same machine load; the JSON gives p50/p95 of both and
their ratio. ``--demo-db FILE`` starts from a copy of a demo database prepared earlier
(``python -m study demo --db sqlite:///FILE``) instead of preparing one (~1 min).

``--fixture`` is the earlier set-up:  ``streamlit run app.py`` on a temp SQLite file holding the demo study (fixture
assistance, no practice or attention items, ``--items`` items per rater), enrols one
rater per condition, and times every Submit in headless Debian chromium:

- ``visible_ms``: pointer-down on Submit -> the next item's progress text and claim are
  on screen with a usable Submit button (nothing stale or still loading);
- ``settled_ms``: pointer-down on Submit -> Streamlit reports the script run finished.

Both are measured inside the page (``performance.now()``, polled every animation frame),
so Playwright's own overhead is not counted. ``floor_visible_ms`` times a bare Streamlit
page of the same shape (no database) the same way, right after: what the machine allows
at that moment, so a busy machine is visible in the figures. Prints one JSON object.

The app server and the bot are ``support.rater_bot`` (tests/support/rater_bot.py, shared
with the browser tests), so run it from the repository root with ``tests`` on the path:

    PYTHONPATH=tests python benchmarks/bench_rater_latency.py [--raters 4] [--demo-db FILE]
    PYTHONPATH=tests python benchmarks/bench_rater_latency.py --fixture [--items 15] [--raters 4] [--no-floor]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    from support.latency import run_demo
    from support.rater_bot import RaterBot, browser_problem, chromium, prepare_demo, streamlit_server
except ModuleNotFoundError as err:  # pragma: no cover - a usage error, not a result
    raise SystemExit("bench_rater_latency needs tests/support: run `PYTHONPATH=tests python "
                     "benchmarks/bench_rater_latency.py` from the repository root") from err

_ARM_JS = """
() => {
  if (!window.__ovlArmed) {
    document.addEventListener('pointerdown', (e) => {
      if (e.target.closest('.st-key-submit')) window.__ovlT0 = performance.now();
    }, true);
    window.__ovlArmed = true;
  }
  window.__ovlT0 = null;
}
"""

# Truthy (the elapsed ms) once the next item is visible and usable.
_VISIBLE_JS = """
(prev) => {
  if (window.__ovlT0 === null) return false;
  const text = (sel) => { const el = document.querySelector(sel); return el ? el.innerText : ''; };
  const moved = text('.st-key-progress') !== prev.progress && text('.st-key-claim') !== prev.claim;
  const done = document.querySelector('.st-key-finish button, .st-key-completion_code');
  const button = document.querySelector('.st-key-submit button');
  const ready = button && !button.closest('[data-stale="true"]')
    && !document.querySelector('[data-testid="stSkeleton"]');
  return ((moved && ready) || done) ? performance.now() - window.__ovlT0 : false;
}
"""

_SETTLED_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-script-state') !== 'running'
    && !document.querySelector('[data-stale="true"]') ? performance.now() - window.__ovlT0 : false;
}
"""


# The floor: a bare Streamlit page of the same shape (progress, claim, 20 paragraphs, a
# form with per-item widgets) with no database, timed the same way on the same machine.
_FLOOR_APP = """
import streamlit as st

def _next():
    st.session_state["n"] = st.session_state.get("n", 0) + 1

n = st.session_state.get("n", 0)
with st.container(key="progress"):
    st.progress(n % 60 / 60, text=f"Item {n + 1}")
with st.container(key="claim", border=True):
    st.html(f"<div>Claim number {n}</div>")
for i in range(20):
    st.html(f"<div>Paragraph {i} of item {n}</div>")
with st.form(f"answer-{n}", border=False):
    st.radio("Is it correct?", ["correct", "incorrect"], index=None, key=f"label-{n}", horizontal=True)
    st.slider("How sure?", 50, 100, 75, step=5, key=f"confidence-{n}")
    with st.container(key="submit"):
        st.form_submit_button("Submit", key=f"submit-{n}", on_click=_next)
"""


def _floor(samples: int) -> list[float]:
    """Submit -> next page latency of the bare Streamlit page (what this machine allows)."""
    import subprocess

    from support.rater_bot import _wait_healthy, free_port

    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "floor_app.py"
        app.write_text(_FLOOR_APP, encoding="utf-8")
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port), "--server.headless", "true",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", proc)
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1100, "height": 1400})
                bot = RaterBot(page, f"http://127.0.0.1:{port}")
                page.goto(bot.base_url)
                page.locator(".st-key-submit button").wait_for()
                out = []
                for _ in range(samples):
                    bot.wait_screen()
                    before = bot.probe()
                    page.evaluate(_ARM_JS)
                    page.locator(".st-key-submit button").click()
                    out.append(page.wait_for_function(_VISIBLE_JS, arg=before, polling="raf").json_value())
                return out
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100])."""
    ordered = sorted(values)
    rank = max(1, int(round(q / 100 * len(ordered) + 0.4999)))
    return ordered[min(rank, len(ordered)) - 1]


def _time_rater(bot: RaterBot, rater: str) -> list[dict[str, Any]]:
    page = bot.page
    bot.open(rater)
    bot.click("consent")
    bot.click("start")
    samples = []
    while bot.probe()["screen"] == "submit":
        before = bot.probe()
        bot.choose("", bot.pick_label(before))
        bot.answered.append("x")
        page.evaluate(_ARM_JS)
        page.locator(".st-key-submit button").click()
        visible = page.wait_for_function(_VISIBLE_JS, arg=before, polling="raf", timeout=20_000).json_value()
        settled = page.wait_for_function(_SETTLED_JS, polling="raf", timeout=20_000).json_value()
        samples.append({"rater": rater, "item": before["progress"], "visible_ms": visible, "settled_ms": settled})
        bot.wait_screen(changed_from=before)
    return samples


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "p95": round(_percentile(values, 95), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=15, help="items per rater (demo bank has 64)")
    parser.add_argument("--raters", type=int, default=4, help="raters (balanced over the 4 conditions)")
    parser.add_argument("--no-floor", action="store_true", help="skip timing the bare Streamlit page")
    parser.add_argument("--fixture", action="store_true", help="fixture demo study, no practice items (old set-up)")
    parser.add_argument("--demo-db", type=Path, help="copy of a prepared demo SQLite file (default: prepare one)")
    args = parser.parse_args(argv)
    problem = browser_problem()
    if problem:
        raise SystemExit(problem)
    if not args.fixture:
        result = run_demo(raters=args.raters, demo_db=args.demo_db)
        print(json.dumps(result, indent=2))
        return result
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'oversight.db'}"
        prepare_demo(url, items_per_rater=args.items, practice_items=0, attention_checks=0)
        started = time.perf_counter()
        load_before = round(os.getloadavg()[0], 2)  # other work on the machine shows up in the figures
        samples: list[dict[str, Any]] = []
        with streamlit_server(url) as base, chromium() as browser:
            for n in range(args.raters):
                context = browser.new_context(viewport={"width": 1100, "height": 1400})
                samples += _time_rater(RaterBot(context.new_page(), base), f"bench-{n}")
                context.close()
        from sqlalchemy import text

        from study.db import get_engine

        with get_engine(url).connect() as conn:
            conditions = dict(conn.execute(text(
                "select r.external_id, c.key from rater r join condition c on c.id = r.condition_id")).all())
    by_condition: dict[str, list[float]] = {}
    for s in samples:
        s["condition"] = conditions[s["rater"]]
        by_condition.setdefault(s["condition"], []).append(s["visible_ms"])
    visible = [s["visible_ms"] for s in samples]
    result = {
        "benchmark": "rater_submit_to_next_item",
        "browser": "Debian chromium (headless, Playwright)",
        "database": "SQLite (WAL) temp file",
        "n_submits": len(samples),
        "visible_ms": _summary(visible),
        "settled_ms": _summary([s["settled_ms"] for s in samples]),
        "visible_p95_by_condition": {k: round(_percentile(v, 95), 1) for k, v in sorted(by_condition.items())},
        "floor_visible_ms": None if args.no_floor else _summary(_floor(30)),
        "target_p95_ms": 300,
        "meets_target": _percentile(visible, 95) < 300,
        "wall_s": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus(),
                    "load_avg_1m_before_after": [load_before, round(os.getloadavg()[0], 2)]},
    }
    print(json.dumps(result, indent=2))
    return result


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


if __name__ == "__main__":
    main()
