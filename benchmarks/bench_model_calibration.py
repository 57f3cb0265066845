"""Benchmark: are the regression models' p-values and intervals calibrated under crossed raters and items?

Run: python benchmarks/bench_model_calibration.py [--studies 200 --raters 40 --items 40
     --rater-sd 0.5 --item-sd 0.5 --effect 0.418 --conditions 2 --allocation 1,1
     --ai-effect 0 --interaction 0 --seed 0]
Prints one JSON object: per model and term, the rejection rate at 5% over ``--studies``
null studies and the 95% interval coverage over ``--studies`` studies with an effect.

Design (as in the analysis): ``--raters`` raters split between ``--conditions`` conditions
in the proportions ``--allocation`` (``none`` = reference, then ``treated`` or
``treated1``, ``treated2``, ...); every rater judges all ``--items`` items; the AI is right
on an item with probability 0.8 (``ai_correct``, an item covariate).
Correctness: logit P(correct) = 0.85 + effect_k + (ai_effect + interaction_k) ai_correct + u_r + v_j,
u_r ~ N(0, rater_sd^2), v_j ~ N(0, item_sd^2), with effect_k = effect * k / (K - 1) and
interaction_k = interaction * k / (K - 1) for the k-th treated condition (k = 1..K-1).
Null studies: effect = ai_effect = interaction = 0. The fitted model is the package's
``correct ~ condition * ai_correct`` logistic regression.

Truth. The model is saturated in the condition x ai_correct cells, so its coefficients
are contrasts of the logits of the cell shares, and the shares converge to the
population-averaged (marginal) probabilities m(c, a) = E[expit(eta(c, a) + u + v)] with
u + v ~ N(0, rater_sd^2 + item_sd^2) (Gauss-Hermite quadrature): Intercept =
logit m(none, 0), condition[k] = logit m(k, 0) - logit m(none, 0), ai_correct =
logit m(none, 1) - logit m(none, 0), condition[k]:ai_correct = logit m(k, 1) -
logit m(k, 0) - ai_correct. ``--check-target N`` instead simulates N large studies
(1,000 raters x 1,000 items) and prints the mean estimates next to these values and the
conditional ones. Studies where the model is not identified (an empty or constant
condition x ai_correct cell) are skipped and counted.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from analysis import models

BASE = 0.85  # logit of about 0.70, the default simulated skill
AI_ACCURACY = 0.8


def condition_names(k: int) -> list[str]:
    return ["none", "treated"] if k == 2 else ["none", *(f"treated{i}" for i in range(1, k))]


def linear_predictors(args: argparse.Namespace, null: bool) -> dict[tuple[str, int], float]:
    """eta(condition, ai_correct) without the random effects."""
    names, scale = condition_names(args.conditions), 0.0 if null else 1.0
    out = {}
    for k, name in enumerate(names):
        share = k / (len(names) - 1)
        for a in (0, 1):
            out[name, a] = BASE + scale * (args.effect * share + a * (args.ai_effect + args.interaction * share))
    return out


def truth(args: argparse.Namespace, null: bool, sd: float) -> dict[str, float]:
    """Population-averaged coefficients (module docstring); sd = 0 gives the conditional ones."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    cell = {key: float(logit(np.sum(weights * expit(eta + sd * nodes))))
            for key, eta in linear_predictors(args, null).items()}
    ai = cell["none", 1] - cell["none", 0]
    out = {"Intercept": cell["none", 0], "ai_correct": ai}
    for name in condition_names(args.conditions)[1:]:
        out[f"condition[{name}]"] = cell[name, 0] - cell["none", 0]
        out[f"condition[{name}]:ai_correct"] = cell[name, 1] - cell[name, 0] - ai
    return out


def study(rng: np.random.Generator, args: argparse.Namespace, null: bool, raters: int, items: int) -> pd.DataFrame:
    """One simulated study in the models' data layout."""
    names = condition_names(args.conditions)
    shares = np.array([float(v) for v in args.allocation.split(",")]) if args.allocation else np.ones(len(names))
    counts = np.floor(raters * shares / shares.sum()).astype(int)
    counts[: raters - counts.sum()] += 1
    cond = rng.permutation(np.repeat(np.arange(len(names)), counts))
    u, v = rng.normal(0, args.rater_sd, raters), rng.normal(0, args.item_sd, items)
    ai_correct = (rng.random(items) < AI_ACCURACY).astype(int)
    r, j = np.repeat(np.arange(raters), items), np.tile(np.arange(items), raters)
    eta = linear_predictors(args, null)
    table = np.array([[eta[name, 0], eta[name, 1]] for name in names])
    correct = (rng.random(len(r)) < expit(table[cond[r], ai_correct[j]] + u[r] + v[j])).astype(float)
    return pd.DataFrame({"rater": r, "item": j, "condition": np.array(names, dtype=object)[cond[r]], "correct": correct,
                         "agree_with_ai": correct, "ai_correct": ai_correct[j].astype(float)})


def run(args: argparse.Namespace, null: bool, seed: int) -> tuple[pd.DataFrame, int]:
    rng = np.random.default_rng(seed)
    rows, skipped = [], 0
    for sim in range(args.studies):
        data = study(rng, args, null, args.raters, args.items)
        if models._degenerate(data, "correct"):
            skipped += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows += [{**row, "sim": sim} for row in models.fit_logit_2way(data, "correct", "none")]
    return pd.DataFrame(rows), skipped


def summarise(null: pd.DataFrame, alt: pd.DataFrame, null_truth: dict[str, float],
              alt_truth: dict[str, float]) -> dict[str, dict[str, float]]:
    out = {}
    for term, value in alt_truth.items():
        n0, n1 = null[null["term"] == term], alt[alt["term"] == term]
        t0 = null_truth[term]
        row = {
            "null_rejection_5pct": float(((n0["ci_low"] > t0) | (n0["ci_high"] < t0)).mean()),
            "coverage_95": float(((n1["ci_low"] <= value) & (value <= n1["ci_high"])).mean()),
            "truth": value,
            "mean_estimate": float(n1["estimate"].mean()),
            "sd_estimate": float(n1["estimate"].std()),
            "rms_se": float(np.sqrt((n1["se"] ** 2).mean())),
        }
        out[term] = {k: round(v, 4) for k, v in row.items()}
    return out


def check_target(args: argparse.Namespace) -> None:
    """Mean estimates over large studies against the marginal and the conditional coefficients."""
    rng = np.random.default_rng(args.seed)
    estimates = []
    for _ in range(args.check_target):
        data = study(rng, args, False, 1000, 1000)
        x, names = models.design(data, "none")
        estimates.append(models.logistic_mle(x, data["correct"].to_numpy()))
    est = np.array(estimates)
    marginal = truth(args, False, float(np.hypot(args.rater_sd, args.item_sd)))
    conditional = truth(args, False, 0.0)
    print(json.dumps({name: {"mean_estimate": round(float(est[:, k].mean()), 4),
                             "se_of_mean": round(float(est[:, k].std(ddof=1) / np.sqrt(len(est))), 4),
                             "marginal": round(marginal[name], 4), "conditional": round(conditional[name], 4)}
                      for k, name in enumerate(names)}, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--raters", type=int, default=40)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--rater-sd", type=float, default=0.5)
    ap.add_argument("--item-sd", type=float, default=0.5)
    ap.add_argument("--effect", type=float, default=0.418)
    ap.add_argument("--conditions", type=int, default=2)
    ap.add_argument("--allocation", default="", help="rater shares per condition, e.g. 0.5,0.3,0.2")
    ap.add_argument("--ai-effect", type=float, default=0.0)
    ap.add_argument("--interaction", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-target", type=int, default=0, help="instead: N large studies, mean estimates")
    args = ap.parse_args()
    if args.check_target:
        check_target(args)
        return
    t0 = time.perf_counter()
    null, skipped_null = run(args, True, args.seed)
    alt, skipped_alt = run(args, False, args.seed + 1)
    sd = float(np.hypot(args.rater_sd, args.item_sd))
    out = {model: summarise(null[null["model"] == model], alt[alt["model"] == model], truth(args, True, sd),
                            truth(args, False, sd)) for model in models.MODELS}
    print(json.dumps({"studies": args.studies, "skipped_null": skipped_null, "skipped_effect": skipped_alt,
                      "raters": args.raters, "items": args.items, "conditions": condition_names(args.conditions),
                      "allocation": args.allocation or "equal", "rater_sd": args.rater_sd, "item_sd": args.item_sd,
                      "effect_conditional": args.effect, "ai_effect": args.ai_effect, "interaction": args.interaction,
                      "seed": args.seed, "seconds": round(time.perf_counter() - t0, 1), "models": out,
                      "goal": "null rejection 0.03-0.07, coverage 0.93-0.97"}, indent=2))


if __name__ == "__main__":
    main()
