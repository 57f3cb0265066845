"""Coverage of the 95% two-way cluster-bootstrap intervals over simulated studies.

Run: python benchmarks/bench_coverage.py [--studies 200 --raters 40 --items 40 --n-boot 1000]
     [--per-rater N] [--bootstrap exact|additive|auto]
Prints one JSON object: per statistic, the share of studies whose interval contains the
true population value (target 90-99% for a nominal 95% interval), including the central
contrast ``reasoning - none`` of accuracy (interval from the joint replicates), and the
rejection rate of its bootstrap test at 5% (the truth is not 0, so this is power).
``--per-rater`` gives each rater a random subset of the items (default: all);
``--bootstrap additive`` checks :mod:`analysis.additive` (the large-study default).

Each study: two between-subjects conditions (``none``: skill s; ``reasoning``: skill s,
AI label shown, reliance r), raters and items with logit-normal random effects
(sd 0.5 each), a fresh item bank whose AI is right with probability q. Population
truths, with E[p] = E[expit(logit(s) + w)], w ~ N(0, 0.5^2 + 0.5^2) (Gauss-Hermite):
none: accuracy = E[p], over_reliance = under_reliance = 1 - E[p];
reasoning: accuracy = q(r + (1-r)E[p]) + (1-q)(1-r)E[p], over_reliance =
r + (1-r)(1-E[p]), under_reliance = (1-r)(1-E[p]); ai_only = q in both.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.special import expit, logit

from analysis import SimulationProfile, contrasts, engine, simulate_judgments

S, R, Q, SD = 0.7, 0.4, 0.75, 0.5


def truths() -> dict[tuple[str, str], float]:
    x, w = np.polynomial.hermite_e.hermegauss(80)
    ep = float(np.sum(w * expit(logit(S) + np.sqrt(2 * SD**2) * x)) / np.sqrt(2 * np.pi))
    return {
        ("none", "accuracy"): ep, ("none", "over_reliance"): 1 - ep, ("none", "under_reliance"): 1 - ep,
        ("reasoning", "accuracy"): Q * (R + (1 - R) * ep) + (1 - Q) * (1 - R) * ep,
        ("reasoning", "over_reliance"): R + (1 - R) * (1 - ep),
        ("reasoning", "under_reliance"): (1 - R) * (1 - ep),
        ("none", "ai_only"): Q, ("reasoning", "ai_only"): Q,
        ("reasoning-none", "accuracy"): Q * (R + (1 - R) * ep) + (1 - Q) * (1 - R) * ep - ep,
    }


def _interval(run: engine.Run, cond: str, name: str) -> tuple[float, float]:
    if "-" not in cond:
        return engine.interval(run, cond, name)
    left, right = cond.split("-")
    return engine.percentile_interval(engine.replicates(run, left, name) - engine.replicates(run, right, name))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--raters", type=int, default=40)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--per-rater", type=int, default=None)
    ap.add_argument("--bootstrap", default="exact", choices=["exact", "additive", "auto"])
    args = ap.parse_args()
    prof = SimulationProfile.from_dict({
        "rater_sd": SD, "item_sd": SD, "ai": {"accuracy": Q},
        "conditions": {"none": {"skill": S}, "reasoning": {"skill": S, "shows_ai_label": True, "reliance": R}},
    })
    truth = truths()
    hits = {key: 0 for key in truth}
    widths: dict[tuple[str, str], list[float]] = {key: [] for key in truth}
    rejected, modes = 0, set()
    t0 = time.perf_counter()
    for study in range(args.studies):
        df = simulate_judgments(args.raters, args.items, prof, seed=10_000 + study, items_per_rater=args.per_rater)
        run = engine.run(df, n_boot=args.n_boot, seed=study, k=5, bootstrap=args.bootstrap)
        modes.add(run.bootstrap)
        for (cond, name), value in truth.items():
            low, high = _interval(run, cond, name)
            hits[(cond, name)] += int(low <= value <= high)
            widths[(cond, name)].append(high - low)
        diffs = engine.replicates(run, "reasoning", "accuracy") - engine.replicates(run, "none", "accuracy")
        rejected += int(contrasts.bootstrap_p(diffs) < 0.05)
    elapsed = time.perf_counter() - t0
    coverage = {f"{c}.{n}": round(hits[(c, n)] / args.studies, 3) for c, n in truth}
    print(json.dumps({
        "studies": args.studies, "raters_per_study": args.raters, "items_per_study": args.items,
        "items_per_rater": args.per_rater or args.items, "judgments_per_study": len(df),
        "bootstrap": sorted(modes), "n_boot": args.n_boot, "nominal": 0.95, "rater_sd": SD, "item_sd": SD,
        "truth": {f"{c}.{n}": round(v, 4) for (c, n), v in truth.items()},
        "coverage": coverage,
        "mean_width": {f"{c}.{n}": round(float(np.mean(widths[(c, n)])), 4) for c, n in truth},
        "all_within_90_99": all(0.90 <= v <= 0.99 for v in coverage.values()),
        "contrast_accuracy_rejection_at_5pct": round(rejected / args.studies, 3),
        "seconds": round(elapsed, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
