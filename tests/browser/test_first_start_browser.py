"""A newcomer's first start in real headless Chromium: plain ``streamlit run app.py`` on an empty database.

The app prepares the real demo study (items, the encoder's assistance, launch) on a
thread of its own server. The page must say so at once, "oversight-lab is starting",
with "Step x of 4" and a progress bar, never a blank page or a bare spinner for long,
and must then turn into the app by itself (the rater's welcome), with the demo live.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from support.rater_bot import browser_problem, chromium, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
#: Longest time a page may show nothing readable (the browser loading, the app's first import).
MAX_BLANK_S = 8.0


def _main_text(page: object) -> str:
    main = page.locator("[data-testid='stMain']")  # type: ignore[attr-defined]
    return str(main.inner_text()) if main.count() else ""


def test_plain_streamlit_run_shows_the_demo_being_prepared(tmp_path: Path) -> None:
    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    from study import preparing
    from study.db import get_engine

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    steps: list[str] = []
    bars = 0
    with streamlit_server(url, log=tmp_path / "streamlit.log", demo=True) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        start = time.monotonic()
        page.goto(base)
        blank_since: float | None = start
        while time.monotonic() - start < 300:
            text = _main_text(page)
            if "Welcome" in text:
                break
            if text.strip():
                blank_since = None
            else:
                blank_since = blank_since or time.monotonic()
                assert time.monotonic() - blank_since < MAX_BLANK_S, "the page stayed blank"
            steps += [s for s in re.findall(r"Step (\d) of 4", text) if s not in steps]
            bars += page.locator(".st-key-preparing [data-testid='stProgress']").count()
            time.sleep(0.1)
        else:
            pytest.fail("the app did not continue by itself after the demo was prepared")
        assert "oversight-lab is starting" not in _main_text(page)
    assert "3" in steps, steps  # the long step (the encoder's assistance) was on screen
    assert bars > 0, "no progress bar was shown"
    assert preparing.demo_ready(get_engine(url))
