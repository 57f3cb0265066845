"""The analysis commands of the CLI: power from a study's design; exclusion flags."""

from __future__ import annotations

from typer.testing import CliRunner

from study.cli import app
from study.db import get_engine, upgrade
from study.testing import ready_study, small_config


def test_power_takes_the_study_design(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    cfg = small_config(conditions=[{"key": "control", "assistance": "none"}, {"key": "shown", "assistance": "reasoning"}],
                       items_per_rater=8, target_ratings_per_item=4)
    ready_study(get_engine(sqlite_url), cfg)
    res = CliRunner().invoke(app, ["power", "--study", "t", "--b", "shown", "--grid", "4", "--sims", "10",
                                   "--n-boot", "20", "--db", sqlite_url])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("design: control (reference) vs shown, 8 items per rater, 4 ratings per item per "
                               "condition, rater SD 0.5, item SD 0.5")
    assert lines[2].split()[:2] == ["4", "8"]  # 4 raters x 8 items / 4 ratings per item = 8 items in the bank
    missing = CliRunner().invoke(app, ["power", "--b", "shown", "--sims", "10"])
    assert missing.exit_code == 2 and "give --a" in missing.stderr
