"""A scripted rater for real-browser runs: app server, demo study, Playwright bot.

Used by tests/browser, tests/reliability, tests/ui/test_console_screenshots.py and
benchmarks/bench_rater_latency.py (run with ``PYTHONPATH=tests``).
The bot only uses the automation contract of docs/automation.md (widget keys, which
Streamlit turns into ``st-key-<key>`` CSS classes), like a lab's own bot would.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: The widget keys a bot looks for, in the order they are checked.
SCREENS = ("completion_code", "finish", "next", "reveal", "submit", "start", "consent", "decline")

# One browser-side probe per poll: which screen is up, the progress text, whether
# Streamlit is still running the script.
_PROBE_JS = """
(screens) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app ? app.getAttribute('data-test-script-state') : null;
  let screen = null;
  for (const k of screens) { if (document.querySelector('.st-key-' + k)) { screen = k; break; } }
  const prog = document.querySelector('.st-key-progress');
  const claim = document.querySelector('.st-key-claim');
  const loading = document.querySelectorAll('[data-testid="stSkeleton"], [data-stale="true"]').length;
  return { state, screen, loading, progress: prog ? prog.innerText : '', claim: claim ? claim.innerText : '' };
}
"""


def browser_problem() -> str | None:
    """Why a real-browser run cannot happen here (None when it can)."""
    if not Path(CHROMIUM).exists():
        return f"Debian chromium not found at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_demo(db_url: str, **overrides: Any) -> Any:
    """Create and launch the demo study with fixture assistance (no model needed).

    The app finds a live ``demo`` study and leaves it as it is, so the browser test
    does not depend on the real encoder. ``overrides`` change demo config fields.
    """
    from study import service
    from study.config import parse_config
    from study.db import get_engine, upgrade
    from study.demo import DEMO_ITEMS, demo_config
    from study.testing import fixture_assistance_rows
    from tasks.importers import read_item_bank

    upgrade(db_url)
    engine = get_engine(db_url)
    cfg = parse_config({**demo_config().model_dump(mode="json", by_alias=True), **overrides})
    items = read_item_bank(DEMO_ITEMS, "jsonl", labels=cfg.labels)
    service.create_study(engine, cfg)
    service.import_items(engine, cfg.name, items, origin=str(DEMO_ITEMS))
    service.add_assistance(engine, cfg.name, fixture_assistance_rows(list(items), cfg.labels, seed=cfg.seed))
    service.set_status(engine, cfg.name, "live")
    return cfg


@contextmanager
def streamlit_server(db_url: str, *, port: int | None = None, log: Path | None = None,
                     demo: bool = False) -> Iterator[str]:
    """Run ``streamlit run app.py`` on ``db_url``; yields the base URL.

    ``demo``: let the app prepare the demo study itself on its first page (as a
    newcomer's plain ``streamlit run app.py`` does); by default it is switched off.
    """
    port = port or free_port()
    env = {**os.environ, "OVERSIGHT_DATABASE_URL": db_url, "OVERSIGHT_NO_DEMO": "1",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    if demo:
        env.pop("OVERSIGHT_NO_DEMO")
        env.pop("OVERSIGHT_PREPARING", None)
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not become healthy at {base} within {timeout}s")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian chromium browser (Playwright, no downloaded browsers)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


_ATTENTION = re.compile(r"answer (?:that this claim is |')?(\w+)", re.IGNORECASE)


@dataclass
class RaterBot:
    """Plays the rater flow through the widget keys; records what it saw."""

    page: Any
    base_url: str
    labels: tuple[str, ...] = ("correct", "incorrect")
    timeout_s: float = 20.0
    answered: list[str] = field(default_factory=list)

    def open(self, rater: str, **params: str) -> None:
        query = "&".join(f"{k}={v}" for k, v in {"rater": rater, **params}.items())
        self.page.goto(f"{self.base_url}/?{query}")
        self.wait_screen()

    def probe(self) -> dict[str, Any]:
        return self.page.evaluate(_PROBE_JS, list(SCREENS))

    def wait_screen(self, changed_from: dict[str, Any] | None = None) -> dict[str, Any]:
        """Wait until the script is idle and a screen is up (different from ``changed_from``)."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            now = self.probe()
            idle = now["state"] != "running" and now["screen"] is not None and not now["loading"]
            moved = changed_from is None or (now["screen"], now["progress"], now["claim"]) != (
                changed_from["screen"], changed_from["progress"], changed_from["claim"])
            if idle and moved:
                return now
            if time.monotonic() > deadline:
                raise TimeoutError(f"screen did not change from {changed_from} (now {now})")
            time.sleep(0.01)

    def click(self, key: str, *, double: bool = False) -> dict[str, Any]:
        before = self.probe()
        button = self.page.locator(f".st-key-{key} button")
        if double:
            button.dblclick()
        else:
            button.click()
        return self.wait_screen(changed_from=before)

    def choose(self, prefix: str, label: str, confidence_steps: int = 2) -> None:
        """Pick a label and move the confidence slider up by ``confidence_steps`` steps."""
        group = self.page.locator(f".st-key-{prefix}label")
        group.get_by_text(label, exact=True).click()
        thumb = self.page.locator(f".st-key-{prefix}confidence input[type='range']")
        thumb.focus()
        for _ in range(confidence_steps):
            thumb.press("ArrowRight")

    def pick_label(self, probe: dict[str, Any]) -> str:
        """Attention checks say what to answer; otherwise alternate the labels."""
        found = _ATTENTION.search(probe.get("claim") or "")
        if found and found.group(1).lower() in self.labels:
            return found.group(1).lower()
        return self.labels[len(self.answered) % len(self.labels)]

    def step(self, *, double_click: bool = False) -> dict[str, Any]:
        """Do whatever the current screen asks; returns the next screen's probe."""
        now = self.probe()
        screen = now["screen"]
        if screen in ("consent", "start", "next"):
            return self.click(screen)
        if screen == "reveal":
            self.choose("initial_", self.pick_label(now))
            return self.click("reveal")
        if screen == "submit":
            label = self.pick_label(now)
            self.choose("", label)
            self.answered.append(label)
            return self.click("submit", double=double_click)
        if screen == "finish":
            self.page.locator(".st-key-exit_trust").get_by_text("5", exact=True).click()
            return self.click("finish")
        raise RuntimeError(f"no action for screen {screen!r}")

    def completion_code(self) -> str:
        return self.page.locator(".st-key-completion_code").inner_text().strip()
