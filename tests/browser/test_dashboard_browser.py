"""The analyst dashboard in real headless Chromium, on a simulated demo study.

The demo study is set up as a first start sets it up (``study.demo.ensure_demo``: its
items, the assistance from the encoder with its controlled AI, right on 54 of the 64
items with calibrated confidences, then launched) and gets 40 simulated raters
(``study.simulate``, the default behaviour by assistance kind). An analyst logs in
and must see first the overview chart at the page's width, then the team and contrasts
tables without a horizontal scrollbar, and must be able to download the overview as
a PNG file. With ``OVERSIGHT_SCREENSHOTS=1`` the last test replaces docs/img/dashboard.png
and docs/img/dashboard-hybrid.png.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import rater_bot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "dashboard-browser-secret"
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
N_RATERS = 40


def seed_demo(db_url: str, n_raters: int = N_RATERS, seed: int = 3) -> str:
    """The default demo study (as a first start prepares it) filled by simulated raters; its name."""
    from study import service
    from study.assist import verdict_summary
    from study.db import get_engine, upgrade
    from study.demo import demo_config, ensure_demo
    from study.simulate import simulate_study

    upgrade(db_url)
    engine = get_engine(db_url)
    cfg = demo_config()
    assert ensure_demo(engine) and service.get_study(engine, cfg.name).status == "live"
    ai = verdict_summary(engine, cfg.name)
    assert abs(float(ai["accuracy"]) - 0.85) < 0.01 and float(ai["ece"]) < 0.05, ai  # the demo's controlled AI
    simulate_study(engine, cfg.name, n_raters, seed=seed)
    return str(cfg.name)


@pytest.fixture(scope="module")
def dashboard_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    problem = rater_bot.browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    tmp = tmp_path_factory.mktemp("dash")
    db_url = f"sqlite:///{tmp / 'dash.db'}"
    seed_demo(db_url)
    os.environ["OVERSIGHT_ADMIN_PASSWORD"] = PASSWORD
    try:
        with rater_bot.streamlit_server(db_url, log=tmp / "server.log") as base, rater_bot.chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, device_scale_factor=1,
                                    accept_downloads=True)
            open_dashboard(page, base)
            yield page
    finally:
        os.environ.pop("OVERSIGHT_ADMIN_PASSWORD", None)


def open_dashboard(page: Any, base: str, ready: str = ".st-key-table_contrasts") -> None:
    """Log in to the dashboard and wait until the first view and its charts are drawn."""
    page.goto(f"{base}/dashboard")
    page.locator(".st-key-admin_password input").fill(PASSWORD)
    page.locator(".st-key-login button").click()
    page.wait_for_selector(ready, timeout=120_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') "
        "!== 'running'", timeout=120_000)
    page.wait_for_selector(".st-key-chart_overview .vega-embed svg.marks, .st-key-chart_overview .vega-embed canvas", timeout=60_000)
    page.wait_for_timeout(1500)  # vega-lite draws after the script run ends


def _no_exception(page: Any) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def test_first_view_is_the_overview_chart_at_page_width(dashboard_page: Any) -> None:
    page = dashboard_page
    _no_exception(page)
    main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    chart = page.locator(".st-key-chart_overview .vega-embed svg.marks, .st-key-chart_overview .vega-embed canvas").first.bounding_box()
    assert chart["width"] >= 600 and chart["width"] >= 0.85 * main["width"], (chart, main)
    team = page.locator(".st-key-table_team").bounding_box()
    assert chart["y"] < team["y"], "the overview chart comes first"
    charts = page.locator(".vega-embed")
    first = charts.first.bounding_box()
    assert all(charts.nth(i).bounding_box() is None or charts.nth(i).bounding_box()["y"] >= first["y"]
               for i in range(charts.count()))


@pytest.mark.parametrize("key", ["table_team", "table_contrasts"])
def test_tables_show_their_interval_columns(dashboard_page: Any, key: str) -> None:
    page = dashboard_page
    frame = page.locator(f".st-key-{key} [data-testid='stDataFrame']")
    assert frame.count() == 1
    scroller = frame.locator(".dvn-scroller").first
    widths = scroller.evaluate("(e) => [e.scrollWidth, e.clientWidth]")
    assert widths[0] <= widths[1] + 2, f"{key} scrolls sideways: {widths}"
    headers = page.locator(f".st-key-{key}").inner_text() + " " + " ".join(
        frame.locator("[role='columnheader']").all_inner_texts())
    assert "95% CI" in headers and "condition" in headers
    if key == "table_contrasts":
        assert "p_holm" in headers


def test_overview_downloads_as_png(dashboard_page: Any, tmp_path: Path) -> None:
    page = dashboard_page
    with page.expect_download(timeout=60_000) as info:
        page.locator(".st-key-figure_png button").click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(str(path))
    data = path.read_bytes()
    assert download.suggested_filename == "overview.png"
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width = int.from_bytes(data[16:20], "big")
    assert width >= 1200  # FIGURE_WIDTH px at scale 2


def _shoot(page: Any, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit it."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": int(height) + 40})
    page.wait_for_timeout(2000)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_screenshots(dashboard_page: Any, tmp_path: Path) -> None:
    """docs/img/dashboard*.png with ``OVERSIGHT_SCREENSHOTS=1`` (else a temporary directory)."""
    page = dashboard_page
    out = IMG if os.environ.get("OVERSIGHT_SCREENSHOTS") == "1" else tmp_path
    _shoot(page, out / "dashboard.png")
    page.get_by_role("tab", name="Hybrid routing").click()
    page.wait_for_selector(".st-key-chart_hybrid .vega-embed", timeout=30_000)
    page.wait_for_timeout(2000)
    _no_exception(page)
    hybrid = page.locator(".st-key-chart_hybrid .vega-embed").bounding_box()
    assert hybrid["width"] >= 600
    _shoot(page, out / "dashboard-hybrid.png")
    for shot in ("dashboard.png", "dashboard-hybrid.png"):
        assert (out / shot).stat().st_size > 20_000
