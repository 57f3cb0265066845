"""Fixtures for the analysis tests: a small hand-built table (see test_metrics_hand.py)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

# One condition, two raters, three items, two-stage. Columns: rater, item, gold y,
# AI label a, AI confidence c, initial h0, final h, rater confidence p.
HAND_ROWS = [
    ("r1", "i1", "T", "T", 0.9, "F", "T", 0.9),
    ("r1", "i2", "T", "F", 0.6, "T", "F", 0.6),
    ("r1", "i3", "F", "F", 0.8, "F", "F", 0.7),
    ("r2", "i1", "T", "T", 0.9, "F", "F", 0.55),
    ("r2", "i2", "T", "F", 0.6, "T", "T", 0.95),
    ("r2", "i3", "F", "F", 0.8, "T", "F", 0.8),
]


def hand_table(condition: str = "reasoning") -> pd.DataFrame:
    cols = ["rater_id", "item_id", "gold_label", "ai_label", "ai_confidence", "initial_label",
            "final_label", "confidence"]
    df = pd.DataFrame(HAND_ROWS, columns=cols)
    df["condition"] = condition
    df["initial_confidence"] = 0.7
    df["time_ms"] = 10_000
    df["is_practice"] = False
    df["is_attention_check"] = False
    return df


@pytest.fixture
def make_hand_table() -> Callable[..., pd.DataFrame]:
    """The hand table builder (a fixture, since tests run with --import-mode=importlib)."""
    return hand_table
