"""Benchmark: full analysis of a 1,000,000-judgment table vs a straightforward pandas version.

Run: python benchmarks/bench_analysis.py [--raters 5000 --items 400 --per-rater 200
     --n-boot 1000 --baseline-reps 3 --bootstrap auto|exact|additive]
Prints one JSON object (with the process's peak RSS after the analysis). The
1,000,000-judgment, 25,000-rater shape through the CLI is ``bench_analysis_scale.py``. The vectorised run is ``analysis.analyze`` (all metrics, the
routing curve, 5-fold cross-fitting, ``n_boot`` two-way bootstrap replicates; the
regression models are timed separately). The baseline recomputes the same numbers
with pandas groupby per condition, once per replicate (row weights from the same
multiplicity draws); it runs on ``--baseline-reps`` replicates plus the point estimate
and its time is extrapolated to ``n_boot`` replicates. Numbers are asserted identical
(max abs difference <= 1e-9) for the point estimates, the curve, and the replicates
the baseline ran, except the replicates of rater_brier and rater_ece, which the engine
sums in float32 for large conditions (``analysis.slot_sums``): max relative difference
<= 1e-6. The comparison uses the exact product-weight replicates; ``--bootstrap`` chooses
the bootstrap of the timed ``analyze`` (``auto``: the additive one at this size,
``analysis.additive``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import numpy as np
import pandas as pd

from analysis import SimulationProfile, analyze, engine, fit_models, simulate_judgments
from analysis.engine import STAT_NAMES
from analysis.routing import assign_folds


def _ece(w: pd.Series, p: pd.Series, right: pd.Series) -> float:
    bins = np.clip(np.floor(p.fillna(0) * 10), 0, 9)
    gaps = (w * (p - right)).groupby(bins).sum()
    return float(gaps.abs().sum() / w.sum())


def _best_threshold(g: pd.DataFrame) -> float:
    """Threshold maximising weighted #correct on g (ties -> largest T), pandas groupby/cumsum."""
    gain = (g["w"] * (g["correct"] - g["ai_right"])).groupby(g["ai_confidence"]).sum()
    cands = pd.Series(0.0, index=sorted({0.0, *gain.index}))
    cands.loc[gain.index] = gain.to_numpy()
    running = cands.cumsum()
    return float(running.index[::-1][int(np.argmax(running.to_numpy()[::-1]))])


def _cv_accuracy(g: pd.DataFrame, k: int, fold: pd.Series) -> float:
    routed_correct = 0.0
    for f in range(k):
        t = _best_threshold(g[fold != f])
        test = g[fold == f]
        routed_correct += float((test["w"] * np.where(test["ai_confidence"] > t, test["ai_right"],
                                                     test["correct"])).sum())
    return routed_correct / g["w"].sum()


def _condition(g: pd.DataFrame, k: int, splits: list[int]) -> dict[str, float]:
    w, total = g["w"], g["w"].sum()
    ws = lambda m: float((w * m).sum())  # noqa: E731
    right, wrong = g["ai_right"], 1 - g["ai_right"]
    two = g["initial_label"].notna()
    h0_ok = (g["initial_label"] == g["gold_label"]) & two
    out = {
        "accuracy": ws(g["correct"]) / total,
        "agreement_with_ai": ws(g["agree"]) / total,
        "over_reliance": ws(g["agree"] * wrong) / ws(wrong),
        "under_reliance": ws((1 - g["agree"]) * right) / ws(right),
        "accuracy_when_ai_correct": ws(g["correct"] * right) / ws(right),
        "accuracy_when_ai_wrong": ws(g["correct"] * wrong) / ws(wrong),
        "rair": ws(two & ~h0_ok & (g["agree"] == 1) & (right == 1)) / ws(two & ~h0_ok & (right == 1)),
        "rsr": ws(h0_ok & (g["final_label"] == g["initial_label"]) & (right == 0)) / ws(h0_ok & (right == 0)),
        "switch_rate": ws(two & (g["final_label"] != g["initial_label"])) / ws(two),
        "rater_brier": ws((g["confidence"] - g["correct"]) ** 2) / total,
        "rater_ece": _ece(w, g["confidence"], g["correct"]),
        "ai_brier": ws((g["ai_confidence"] - right) ** 2) / total,
        "ai_ece": _ece(w, g["ai_confidence"], right),
        "human_only": ws(g["correct"]) / total,
        "ai_only": ws(right) / total,
        "oracle": ws(np.maximum(g["correct"], right)) / total,
    }
    # Repeated cross-fitting: the median over the given fold splits (one split per replicate).
    out["cv_accuracy"] = float(np.median([_cv_accuracy(g, k, g[f"fold{s}"]) for s in splits]))
    out["complementarity"] = out["cv_accuracy"] - max(out["human_only"], out["ai_only"])
    return out


def baseline(df: pd.DataFrame, rater_w: dict, item_w: dict, k: int, splits: list[int]) -> dict[str, dict[str, float]]:
    """All statistics for one weighting, straightforward pandas."""
    g = df.assign(w=df["rater_id"].map(rater_w) * df["item_id"].map(item_w))
    return {cond: _condition(part, k, splits) for cond, part in g.groupby("condition")}


def baseline_curve(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for cond, g in df.groupby("condition"):
        gain = (g["correct"] - g["ai_right"]).groupby(g["ai_confidence"]).sum()
        count = g.groupby("ai_confidence").size()
        cands = sorted({0.0, *gain.index})
        gain, count = gain.reindex(cands, fill_value=0).cumsum(), count.reindex(cands, fill_value=0).cumsum()
        acc = (g["ai_right"].sum() + gain) / len(g)
        rows.append(pd.DataFrame({"condition": cond, "threshold": cands, "share_ai": 1 - count / len(g),
                                  "accuracy": acc.to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raters", type=int, default=5000)
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--per-rater", type=int, default=200)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--baseline-reps", type=int, default=3)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--models-rows", type=int, default=0, help="also time fit_models on a sample of this size")
    ap.add_argument("--bootstrap", default="auto", choices=["auto", "exact", "additive"])
    args = ap.parse_args()
    prof = SimulationProfile(rater_sd=0.5, item_sd=0.5)
    t0 = time.perf_counter()
    df = simulate_judgments(args.raters, args.items, prof, seed=0, items_per_rater=args.per_rater, two_stage=True)
    df["assistance_kind"] = df["condition"]  # the default profile's condition keys are the assistance kinds
    t_sim = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = analyze(df, n_boot=args.n_boot, seed=0, k=args.k, fit=False, bootstrap=args.bootstrap)
    t_fast = time.perf_counter() - t0
    peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"vectorised analysis: {t_fast:.2f} s", file=sys.stderr)

    # Baseline on the same replicates: same layout codes, same multiplicity draws.
    layout = engine.build_layout(df, k=args.k, seed=0, reference="none")
    rater_w, item_w = engine.draw_weights(layout, args.n_boot, seed=0)
    items = list(layout.item_ids)
    prepared = df.assign(
        correct=(df["final_label"] == df["gold_label"]).astype(float),
        agree=(df["final_label"] == df["ai_label"]).astype(float),
        ai_right=(df["ai_label"] == df["gold_label"]).astype(float),
        **{f"fold{s}": df["item_id"].map(dict(zip(items, assign_folds(len(items), layout.k, s), strict=True)))
           for s in range(layout.n_splits)},
    )
    t0 = time.perf_counter()
    base_point = baseline(prepared, dict.fromkeys(layout.rater_ids, 1.0), dict.fromkeys(items, 1.0), layout.k,
                          list(range(layout.n_splits)))
    base_curve = baseline_curve(prepared)
    t_base_point = time.perf_counter() - t0
    t0 = time.perf_counter()
    base_reps = [baseline(prepared, dict(zip(layout.rater_ids, rater_w[b], strict=True)),
                          dict(zip(items, item_w[b], strict=True)), layout.k, [b % layout.n_splits])
                 for b in range(args.baseline_reps)]
    t_base_rep = (time.perf_counter() - t0) / max(1, args.baseline_reps)
    t_base = t_base_point + t_base_rep * args.n_boot

    fast_reps = engine.compute(layout, rater_w[: args.baseline_reps], item_w[: args.baseline_reps])
    diffs = []
    metrics = res.metrics.set_index("condition")
    hyb = res.hybrid.set_index("condition")
    for cond, stats in base_point.items():
        for name, value in stats.items():
            got = metrics.loc[cond, name] if name in metrics.columns else hyb.loc[cond, name]
            diffs.append(abs(got - value))
    continuous = []  # replicates of the calibration metrics: float32 product (engine), 1e-6 relative
    for b, rep in enumerate(base_reps):
        for cond, stats in rep.items():
            for name, value in stats.items():
                got = fast_reps.stats[cond][b, STAT_NAMES.index(name)]
                if name in ("rater_brier", "rater_ece"):
                    continuous.append(abs(got - value) / max(abs(value), 1e-12))
                else:
                    diffs.append(abs(got - value))
    fast_curve = res.curve.sort_values(["condition", "threshold"], kind="stable").reset_index(drop=True)
    base_curve = base_curve.sort_values(["condition", "threshold"], kind="stable").reset_index(drop=True)
    assert fast_curve["condition"].tolist() == base_curve["condition"].tolist()
    curve_diff = float(np.max(np.abs(fast_curve[["threshold", "share_ai", "accuracy"]].to_numpy()
                                     - base_curve[["threshold", "share_ai", "accuracy"]].to_numpy())))
    max_diff = max(float(np.nanmax(diffs)), curve_diff)
    assert max_diff <= 1e-9, max_diff
    max_rel_continuous = float(np.nanmax(continuous)) if continuous else 0.0
    assert max_rel_continuous <= 1e-6, max_rel_continuous

    t_models = None
    if args.models_rows:
        t0 = time.perf_counter()
        fit_models(df.sample(min(len(df), args.models_rows), random_state=0))
        t_models = round(time.perf_counter() - t0, 2)
    print(json.dumps({
        "judgments": len(df), "raters": args.raters, "items": args.items, "conditions": df["condition"].nunique(),
        "n_boot": args.n_boot, "bootstrap": res.settings["bootstrap"], "k_folds": layout.k, "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "simulate_seconds": round(t_sim, 2),
        "vectorised_seconds": round(t_fast, 2),
        "peak_rss_gb_after_analysis": round(peak_rss_gb, 2),
        "baseline_point_seconds": round(t_base_point, 2),
        "baseline_seconds_per_replicate": round(t_base_rep, 2),
        "baseline_replicates_run": args.baseline_reps,
        "baseline_seconds_extrapolated": round(t_base, 1),
        "baseline_extrapolated": args.baseline_reps < args.n_boot,
        "speedup": round(t_base / t_fast, 1),
        "max_abs_difference": max_diff,
        "max_rel_difference_calibration_replicates": max_rel_continuous,
        "models_rows": args.models_rows,
        "models_seconds": t_models,
        "goal_met": bool(t_fast < 10 and t_base / t_fast >= 20),
    }, indent=2))


if __name__ == "__main__":
    main()
