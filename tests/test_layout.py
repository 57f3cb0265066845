"""Test and benchmark code is imported as packages: no path edits, no loading by file path."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: sys.path edits and file-path imports (spelled in pieces so this file does not match itself).
FORBIDDEN = re.compile("|".join([r"sys\.path\.(insert|append)", "spec_from_" + "file_location", r"\b_load_" + r"worker\b"]))


def test_no_test_or_benchmark_edits_sys_path_or_loads_files() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_ci_script_names_only_files_that_exist() -> None:
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(?:tests|benchmarks|docs|study)/[\w/.-]+\.(?:py|md)\b", text))
    assert named, "the CI script names no file: the check would be empty"
    assert [f for f in sorted(named) if not (ROOT / f).exists()] == []
