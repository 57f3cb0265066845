"""Benchmark: are the regression models' p-values and intervals calibrated under crossed raters and items?

Run: python benchmarks/bench_model_calibration.py [--studies 200 --raters 40 --items 40
     --rater-sd 0.5 --item-sd 0.5 --effect 0.418 --seed 0]
Prints one JSON object: per model and term, the rejection rate at 5% over ``--studies``
null studies and the 95% interval coverage over ``--studies`` studies with an effect.

Design (as in the analysis): ``--raters`` raters split evenly between two conditions
(``none`` = reference, ``treated``), every rater judges all ``--items`` items; the AI is
right on an item with probability 0.8 (``ai_correct``, an item covariate with no effect).
Correctness: logit P(correct) = 0.85 + effect * [treated] + u_r + v_j,
u_r ~ N(0, rater_sd^2), v_j ~ N(0, item_sd^2). The fitted model is the package's
``correct ~ condition * ai_correct`` logistic regression.

The package's model estimates population-averaged (marginal) log-odds ratios, so the
coverage truth for ``condition[treated]`` is the marginal effect implied by the
conditional one: logit(E[p | treated]) - logit(E[p | none]) with the expectation over
u + v ~ N(0, rater_sd^2 + item_sd^2), computed by Gauss-Hermite quadrature. Coverage
of the conditional value ``--effect`` is printed too. Truth for ``ai_correct`` and the
interaction is 0.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from analysis import models  # noqa: E402

BASE = 0.85  # logit of about 0.70, the default simulated skill


def marginal_effect(effect: float, sd: float) -> float:
    """Population-averaged log-odds ratio for a conditional effect with N(0, sd^2) intercepts."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    mean = lambda shift: float(np.sum(weights * expit(BASE + shift + sd * nodes)))  # noqa: E731
    return float(logit(mean(effect)) - logit(mean(0.0)))


def study(rng: np.random.Generator, args: argparse.Namespace, effect: float) -> pd.DataFrame:
    """One simulated study in the models' data layout."""
    n_r, n_i = args.raters, args.items
    cond = np.where(rng.permutation(n_r) % 2 == 0, "none", "treated")
    u, v = rng.normal(0, args.rater_sd, n_r), rng.normal(0, args.item_sd, n_i)
    ai_correct = (rng.random(n_i) < 0.8).astype(float)
    r, j = np.repeat(np.arange(n_r), n_i), np.tile(np.arange(n_i), n_r)
    lin = BASE + effect * (cond[r] == "treated") + u[r] + v[j]
    correct = (rng.random(len(r)) < expit(lin)).astype(float)
    return pd.DataFrame({"rater": r, "item": j, "condition": cond[r], "correct": correct,
                         "agree_with_ai": correct, "ai_correct": ai_correct[j]})


def run(args: argparse.Namespace, effect: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for sim in range(args.studies):
        data = study(rng, args, effect)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in models.fit_logit_2way(data, "correct", "none"):
                rows.append({**row, "sim": sim})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--raters", type=int, default=40)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--rater-sd", type=float, default=0.5)
    ap.add_argument("--item-sd", type=float, default=0.5)
    ap.add_argument("--effect", type=float, default=0.418)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    null = run(args, 0.0, args.seed)
    alt = run(args, args.effect, args.seed + 1)
    marginal = marginal_effect(args.effect, float(np.hypot(args.rater_sd, args.item_sd)))
    truth = {"condition[treated]": marginal, "ai_correct": 0.0, "condition[treated]:ai_correct": 0.0}
    out: dict[str, object] = {}
    for model in models.MODELS:
        per_term = {}
        for term, value in truth.items():
            n0 = null[(null["model"] == model) & (null["term"] == term)]
            n1 = alt[(alt["model"] == model) & (alt["term"] == term)]
            cover = ((n1["ci_low"] <= value) & (value <= n1["ci_high"])).mean()
            per_term[term] = {
                "null_rejection_5pct": round(float((n0["p_value"] < 0.05).mean()), 3),
                "coverage_95": round(float(cover), 3),
                "truth": round(value, 4),
                "mean_estimate": round(float(n1["estimate"].mean()), 4),
                "sd_estimate": round(float(n1["estimate"].std()), 4),
                "mean_se": round(float(n1["se"].mean()), 4),
            }
            if term == "condition[treated]":
                cond_cover = ((n1["ci_low"] <= args.effect) & (args.effect <= n1["ci_high"])).mean()
                per_term[term]["coverage_95_of_conditional_effect"] = round(float(cond_cover), 3)
        out[model] = per_term
    print(json.dumps({"studies": args.studies, "raters": args.raters, "items": args.items,
                      "rater_sd": args.rater_sd, "item_sd": args.item_sd, "effect_conditional": args.effect,
                      "effect_marginal": round(marginal, 4), "seconds": round(time.perf_counter() - t0, 1),
                      "models": out, "goal": "null rejection 0.03-0.07, coverage 0.93-0.97"}, indent=2))


if __name__ == "__main__":
    main()
