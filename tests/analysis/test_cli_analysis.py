"""The analysis commands of the CLI: power from a study's design; exclusion flags."""

from __future__ import annotations

from pathlib import Path

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


def test_the_one_shot_command_freezes_start_up_objects_and_in_process_calls_do_not(tmp_path: Path) -> None:
    """``oversight analyze`` as its own process freezes what the imports built (gc.freeze); called
    in-process (a test, a notebook) it leaves the collector alone. The output is the same."""
    import gc
    import json
    import subprocess
    import sys

    from analysis import simulate_judgments

    csv = tmp_path / "j.csv"
    simulate_judgments(20, 10, seed=1).to_csv(csv, index=False)
    script = ("import gc, sys\nfrom study.cli import main\n"
              f"sys.argv = ['oversight', 'analyze', '--from-csv', {str(csv)!r}, '--n-boot', '20', '--out', "
              f"{str(tmp_path / 'a.json')!r}]\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\nprint(gc.get_freeze_count())\n")
    frozen = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert int(frozen.stdout.strip().splitlines()[-1]) > 0
    before = gc.get_freeze_count()
    res = CliRunner().invoke(app, ["analyze", "--from-csv", str(csv), "--n-boot", "20", "--out", str(tmp_path / "b.json")])
    assert res.exit_code == 0, res.output
    assert gc.get_freeze_count() == before
    assert json.loads((tmp_path / "a.json").read_text()) == json.loads((tmp_path / "b.json").read_text())
