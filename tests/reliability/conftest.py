"""Reliability tests (issue 7): load, dropouts, faults, scale-out, bad input, security.

The simulated-rater workers and the guarantee checks live in
``benchmarks/_load_worker.py`` (shared with ``benchmarks/bench_load.py``); the
browser helpers in ``tests/browser/rater_bot.py``. Both directories are put on
``sys.path`` here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "benchmarks", ROOT / "tests" / "browser"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))


@pytest.fixture
def browser_ready() -> None:
    """Skip (fail under CI=true) when Debian chromium or playwright is missing."""
    import os

    from rater_bot import browser_problem

    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """Where workers write their acknowledgement logs."""
    out = tmp_path / "acks"
    out.mkdir()
    return out
