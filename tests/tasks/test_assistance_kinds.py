"""The assistance-kind vocabulary is declared once, in tasks.assistance.kinds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import tasks.assistance as ta
from analysis.simulation import DEFAULT_PROFILE_BY_KIND
from study import config, models
from tasks.assistance import kinds, pipeline

ROOT = Path(__file__).resolve().parents[2]


def test_kind_tables_agree() -> None:
    assert list(get_args(kinds.AssistanceKind)) == list(kinds.ASSISTANCE_KINDS)
    assert set(kinds.DEFAULT_DISPLAY) == set(kinds.ASSISTANCE_KINDS)
    assert set(DEFAULT_PROFILE_BY_KIND) == set(kinds.ASSISTANCE_KINDS)
    assert kinds.ASSISTANCE_ROW_KINDS == ("verdict", "evidence", "reasoning", "debate", "consultancy")
    assert list(get_args(kinds.AssistanceRowKind)) == list(kinds.ASSISTANCE_ROW_KINDS)


def test_every_user_imports_the_one_declaration() -> None:
    assert config.ASSISTANCE_KINDS is kinds.ASSISTANCE_KINDS is ta.ASSISTANCE_KINDS
    assert config.AssistanceKind is kinds.AssistanceKind is ta.AssistanceKind
    assert models.ASSISTANCE_ROW_KINDS is kinds.ASSISTANCE_ROW_KINDS is pipeline.KINDS is ta.KINDS
    assert {"ASSISTANCE_KINDS", "ASSISTANCE_ROW_KINDS", "AssistanceKind", "DEFAULT_DISPLAY"} <= set(ta.__all__)


def test_no_module_spells_the_kinds_out_again() -> None:
    """The Literal, the row-kind tuple and the kind -> description table appear only in the kinds module."""
    listing = re.compile(
        r"""Literal\[\s*["'](none|verdict)["']|=\s*\(\s*["']verdict["']\s*,|["']none["']\s*:\s*["']nothing"""
    )
    found = []
    for package in ("study", "tasks", "analysis"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "kinds.py" or "migrations" in path.parts:
                continue
            if listing.search(path.read_text(encoding="utf-8")):
                found.append(str(path.relative_to(ROOT)))
    assert found == []
