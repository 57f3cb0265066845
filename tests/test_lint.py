"""The code stays lint- and type-clean (ruff on everything, mypy --strict on the packages: pyproject sets strict)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff() -> None:
    result = _run("ruff", "check", "study", "tasks", "analysis", "tests", "benchmarks", "app.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_on_packages() -> None:
    result = _run("mypy", "study", "tasks", "analysis")
    assert result.returncode == 0, result.stdout + result.stderr
