"""Reliability tests (issue 7): load, dropouts, faults, scale-out, bad input, security.

The simulated-rater workers and the guarantee checks are ``support.load``, shared with
``benchmarks/bench_load.py``; the browser helpers are ``support.rater_bot``
(both in tests/support).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.rater_bot import browser_problem


@pytest.fixture
def browser_ready() -> None:
    """Skip (fail under CI=true) when Debian chromium or playwright is missing."""
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
