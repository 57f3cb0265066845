"""Benchmark: ``oversight analyze --from-csv`` on 1,000,000 judgments, time against reading the CSV, peak RSS.

Run: python benchmarks/bench_analysis_scale.py [--raters 25000 --items 12500 --per-rater 40
     --n-boot 1000 --csv /tmp/oversight_scale.csv] [--no-models]
Prints one JSON object. The table (simulated two-stage study, 4 conditions, rater and item
SD 0.5, ``assistance_kind`` and ``position`` columns) is written once to ``--csv`` and
reused. Two child processes are timed with ``/usr/bin/time``: pandas reading the CSV
(``pd.read_csv``, best of two) and the full CLI command (reading included, default
exclusions, models unless ``--no-models``). Goal: CLI time <= 5 x read time and CLI
peak RSS <= 3 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _make_csv(path: Path, args: argparse.Namespace) -> None:
    from analysis import SimulationProfile, simulate_judgments

    df = simulate_judgments(args.raters, args.items, SimulationProfile(rater_sd=0.5, item_sd=0.5), seed=0,
                            items_per_rater=args.per_rater, two_stage=True)
    df["assistance_kind"] = df["condition"]  # the default profile's condition keys are the assistance kinds
    df["position"] = df.groupby("rater_id").cumcount()
    df.to_csv(path, index=False)


def _timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS GB) of a child process, from /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", out.name, *command], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, rss_kb = out.read().split()[-2:]
    return float(wall), float(rss_kb) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raters", type=int, default=25_000)
    ap.add_argument("--items", type=int, default=12_500)
    ap.add_argument("--per-rater", type=int, default=40)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--csv", type=Path, default=Path(tempfile.gettempdir()) / "oversight_scale.csv")
    ap.add_argument("--no-models", action="store_true")
    args = ap.parse_args()
    if not args.csv.exists():
        _make_csv(args.csv, args)
    read = [_timed([sys.executable, "-c", f"import pandas as pd; pd.read_csv({str(args.csv)!r})"]) for _ in range(2)]
    read_seconds = min(r[0] for r in read)
    out = Path(tempfile.gettempdir()) / "oversight_scale.json"
    cli = [sys.executable, "-c", "from study.cli import main; main()", "analyze", "--from-csv", str(args.csv),
           "--n-boot", str(args.n_boot), "--out", str(out)] + (["--no-models"] if args.no_models else [])
    seconds, rss = _timed(cli)
    result = json.loads(out.read_text())
    print(json.dumps({
        "judgments": sum(c["n"] for c in result["conditions"] if c["condition"] != "overall"),
        "raters": args.raters, "items": args.items, "n_boot": args.n_boot, "models": not args.no_models,
        "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
        "read_csv_seconds": read_seconds, "analyze_cli_seconds": seconds,
        "ratio_to_read": round(seconds / read_seconds, 2), "peak_rss_gb": round(rss, 2),
        "read_peak_rss_gb": round(min(r[1] for r in read), 2),
        "contrast_rows": len(result["contrasts"]), "team_rows": len(result["team"]),
        "goal_time_met": seconds <= 5 * read_seconds, "goal_rss_met": rss <= 3.0,
    }, indent=2))


if __name__ == "__main__":
    main()
