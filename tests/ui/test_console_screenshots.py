"""The console monitor and the dashboard in a real headless Chromium (and their screenshots).

A demo study is filled by simulated raters whose accuracy depends on the condition
(so the charts show something), the app is served with ``streamlit run``, and
Playwright logs in to both pages and checks they render without an exception.
With ``OVERSIGHT_SCREENSHOTS=1`` the screenshots replace docs/img/*.png (see
docs/console.md); otherwise they go to a temporary directory.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from support import rater_bot

from study.driver import Answer, RaterDriver

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
PASSWORD = "screenshot-secret"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: P(correct) on the logit scale per condition (reasoning raters mostly follow the AI).
SKILL = {"none": 1.0, "evidence": 1.45, "reasoning": 1.0, "debate": 1.1}
FOLLOW_AI = {"reasoning": 0.8}


def _answer(rng: random.Random, cond: str, skill: float, gold: str, ai: str, labels: list[str]) -> tuple[str, float]:
    if rng.random() < FOLLOW_AI.get(cond, 0.0):
        label = ai
    else:
        right = rng.random() < 1 / (1 + math.exp(-(SKILL[cond] + skill)))
        label = gold if right else next(x for x in labels if x != gold)
    sure = 0.55 + 0.45 * rng.random() ** (0.7 if label == gold else 1.6)
    return label, round(sure * 20) / 20


def _play(engine: Engine, name: str, rid: str, rng: random.Random, gold: dict[str, str], ai: dict[str, str],
          fate: str) -> None:
    driver = RaterDriver(engine, name, rid)
    driver.enrol()
    if fate == "decline":
        driver.consent(False)
        return
    driver.consent()
    driver.start()
    skill = rng.gauss(0, 0.5)
    for view in driver.items(stop_after=4 if fate == "quit" else None):
        item = view.item
        assert item is not None
        if item.is_attention_check:
            label = gold[item.item_id] if fate != "careless" else next(x for x in view.labels if x != gold[item.item_id])
            conf = 1.0
        else:
            label, conf = _answer(rng, item.condition, skill, gold[item.item_id], ai[item.item_id], view.labels)
        driver.submit(view, Answer(label, conf))
    if fate == "complete":
        driver.finish({"trust_in_ai": rng.randint(2, 6)})


def seed_study(db_url: str, n_raters: int = 84, seed: int = 5) -> str:
    """The demo study (fixture assistance) with simulated raters; returns its name."""
    from study.db import get_engine
    from study.testing import fixture_assistance_rows
    from tasks.importers import read_item_bank

    cfg = rater_bot.prepare_demo(db_url)
    engine = get_engine(db_url)
    from study.demo import DEMO_ITEMS

    items = list(read_item_bank(DEMO_ITEMS, "jsonl", labels=cfg.labels))
    gold = {it.item_id: it.gold_label for it in items}
    ai = {r.item_id: r.content["label"] for r in fixture_assistance_rows(items, cfg.labels, seed=cfg.seed)
          if r.kind == "verdict"}
    rng = random.Random(seed)
    fates = rng.choices(["complete", "quit", "careless", "decline"], weights=[16, 2, 1, 1], k=n_raters)
    for i, fate in enumerate(fates):
        _play(engine, cfg.name, f"sim-{i:03d}", rng, gold, ai, fate)
    return str(cfg.name)


def _shoot(page: Any, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit it."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": int(height) + 40})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": page.viewport_size["width"], "height": 1000})


_MAIN_WIDTH = "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]').getBoundingClientRect().width"


def _login(page: Any, url: str, ready: str) -> None:
    """Log in and wait for ``ready``; retried while the page shows the centred layout.

    The app sets ``layout="centered"`` and these pages then set ``"wide"`` in the same
    run; the browser occasionally keeps the first (reported to the lead). The pictures
    should show the wide layout the pages ask for.
    """
    for _ in range(4):
        page.goto(url)
        page.locator(".st-key-admin_password input").fill(PASSWORD)
        page.locator(".st-key-login button").click()
        _settle(page, ready)
        if page.evaluate(_MAIN_WIDTH) > 900:
            return


def _no_exception(page: Any) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def _settle(page: Any, selector: str, timeout: float = 90_000) -> None:
    page.wait_for_selector(selector, timeout=timeout)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') !== 'running'",
        timeout=timeout)
    page.wait_for_timeout(2500)  # vega-lite draws after the script run ends


@pytest.fixture
def browser_ready() -> Any:
    problem = rater_bot.browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return rater_bot


def test_monitor_and_dashboard_in_chromium(tmp_path: Path, browser_ready: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bot = browser_ready
    out = IMG if os.environ.get("OVERSIGHT_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{tmp_path / 'shots.db'}"
    name = seed_study(db_url)
    monkeypatch.setenv("OVERSIGHT_ADMIN_PASSWORD", PASSWORD)
    monkeypatch.setenv("STREAMLIT_CLIENT_TOOLBAR_MODE", "viewer")  # no "Deploy" button in the pictures
    with bot.streamlit_server(db_url, log=tmp_path / "server.log") as base, bot.chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
        _login(page, f"{base}/console", ".st-key-monitor_activity")
        _no_exception(page)
        assert page.locator(".st-key-monitor_raters [data-testid='stDataFrame']").count() == 1
        assert "Raters started" in page.locator("[data-testid='stMetric']").first.inner_text()
        assert f"Study {name} is live" in page.locator("[data-testid='stCaptionContainer']").all_inner_texts()[0]
        _shoot(page, out / "console-monitor.png")

        # The dashboard's own pictures come from tests/browser/test_dashboard_browser.py;
        # here it only has to render on this study.
        _login(page, f"{base}/dashboard", ".st-key-table_accuracy")
        _no_exception(page)
    assert (out / "console-monitor.png").stat().st_size > 20_000
