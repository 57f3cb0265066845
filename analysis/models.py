"""Regression models of correctness and of agreement with the AI, valid under crossed raters and items.

Model (logit link), for outcome o in {correct = [h == y], agree_with_ai = [h == a]}:
    logit P(o = 1) = b0 + b_cond[k] + b_ai * ai_correct + b_int[k] * ai_correct
with treatment coding of condition against the reference condition (see
:func:`analysis.conditions.reference_condition`) and ai_correct = [a == y].

``logit_2way``: the logistic regression is fitted by maximum likelihood (Newton-Raphson,
checked against statsmodels ``GLM`` with the binomial family). Its covariance is two-way cluster-robust (Cameron, Gelbach
and Miller 2011), clustered by rater and by item, with the cluster-jackknife (CR3)
form of each part so that few or unbalanced clusters do not make it over-confident:

    V = V_rater + V_item - V_cell,
    V_g = (G_g - 1)/G_g * sum_{clusters G} d_G d_G',  d_G = (B - B_G)^-1 s_G,
    B = X' W X, W = diag(mu (1 - mu)), B_G = the same sum over cluster G only,
    s_G = sum_{i in G} x_i (o_i - mu_i),

where "cell" is the intersection (rater, item) and G_g the number of clusters of kind
g (d_G is the one-step change of the coefficients when cluster G is left out).
Negative eigenvalues of V are set to 0. Each coefficient k gets its own t degrees of
freedom (Bell-McCaffrey style, under a working model of independent judgments):
df_k = (sum_i q_ik)^2 / (sum_r Q_rk^2 + sum_j Q_jk^2 - sum_cells Q_ck^2), with
q_ik = w_i (x_i' B^-1 e_k)^2 and Q the sums of q over a rater, an item or a cell,
so a term informed by few items (e.g. ``ai_correct``) gets few degrees of freedom.
ci = estimate +- t_{0.975, df_k} se, p = 2 P(T_{df_k} > |estimate / se|).

A crossed-random-effects GLMM fitted by variational Bayes (``BinomialBayesMixedGLM``)
and a GEE clustered by rater only were removed: over simulated studies with rater and
item variation their intervals covered the truth far less than 95% of the time
(docs/benchmarks.md, ``benchmarks/bench_model_calibration.py``).

Degenerate data (missing columns, fewer than two conditions, ai_correct constant, an
empty or constant condition x ai_correct cell: (quasi-)perfect separation) give one
row per outcome with NaN numbers and the reason in ``note``, never an exception.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import special  # Student t: stdtrit = t.ppf, stdtr(df, -x) = t.sf(x); lighter than scipy.stats

from analysis import cluster_sums
from analysis import conditions as cn
from analysis import schema as s

MODEL_COLUMNS = ["model", "outcome", "term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "note"]
MODELS = ("logit_2way",)
OUTCOMES = ("correct", "agree_with_ai")


def _model_data(df: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    gaps = s.missing(df, (s.RATER, s.ITEM, s.CONDITION, s.GOLD, s.AI_LABEL, s.FINAL))
    if gaps:
        return None, f"missing column(s) {', '.join(gaps)}"
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    ok = (y >= 0) & (a >= 0) & (h >= 0)
    data = pd.DataFrame({
        "rater": s.id_codes(df, s.RATER)[0],  # cluster codes (shared with the other analyses)
        "item": s.id_codes(df, s.ITEM)[0],
        "condition": df[s.CONDITION].astype("string").to_numpy(dtype=object),
        "correct": (h == y).astype(float),
        "agree_with_ai": (h == a).astype(float),
        "ai_correct": (a == y).astype(float),
    })
    return (data if ok.all() else data[ok].reset_index(drop=True)), ""


def _degenerate(data: pd.DataFrame, outcome: str) -> str:
    conds = data["condition"].nunique()
    if conds < 2:
        return f"needs at least 2 conditions (found {conds})"
    if data["ai_correct"].nunique() < 2:
        return "ai_correct takes one value, its effect is not identified"
    cells = data.groupby(["condition", "ai_correct"])[outcome].agg(["mean", "size"])
    if len(cells) < 2 * conds:
        return "an empty condition x ai_correct cell: interaction not identified"
    flat = cells[(cells["mean"] <= 0.0) | (cells["mean"] >= 1.0)]
    if len(flat):
        cond, ai = flat.index[0]
        return f"perfect separation: {outcome} constant in condition {cond!r}, ai_correct={int(ai)}"
    return ""


def design(data: pd.DataFrame, reference: str) -> tuple[np.ndarray, list[str]]:
    """Treatment-coded design: Intercept, condition[k], ai_correct, condition[k]:ai_correct."""
    levels = [reference] + sorted(c for c in data["condition"].unique() if c != reference)
    cond = data["condition"].to_numpy(dtype=object)
    ai = data["ai_correct"].to_numpy(dtype=float)
    n_k = len(levels) - 1
    x = np.empty((2 + 2 * n_k, len(data))).T  # filled in place, column by column (column-major)
    x[:, 0], x[:, 1 + n_k] = 1.0, ai
    for i, k in enumerate(levels[1:]):
        x[:, 1 + i] = cond == k
        np.multiply(x[:, 1 + i], ai, out=x[:, 2 + n_k + i])
    names = ["Intercept", *(f"condition[{k}]" for k in levels[1:]), "ai_correct",
             *(f"condition[{k}]:ai_correct" for k in levels[1:])]
    return x, names


def _jackknife_part(x: np.ndarray, scores: np.ndarray, weight: np.ndarray, bread_inv: np.ndarray,
                    groups: np.ndarray, fast: cluster_sums.PatternSums | None = None) -> np.ndarray:
    """CR3 (cluster jackknife) sum for one clustering: (G-1)/G sum_g d_g d_g', d_g = (B - B_g)^-1 s_g.

    ``fast``: the same sums by covariate pattern (:mod:`analysis.cluster_sums`).
    """
    codes, n_groups = fast.group_codes(groups) if fast is not None else _codes(groups)
    p = x.shape[1]
    if n_groups == len(codes) and fast is not None:
        return (n_groups - 1) / n_groups * fast.singleton_outer(bread_inv)
    if n_groups == len(codes):  # one judgment per cluster (e.g. rater x item cells): Sherman-Morrison
        lev = np.einsum("ij,jk,ik->i", x, np.linalg.inv(bread_inv), x) * weight
        d_i = (scores @ np.linalg.inv(bread_inv)) / (1.0 - np.clip(lev, None, 1.0 - 1e-12))[:, None]
        out: np.ndarray = (n_groups - 1) / n_groups * (d_i.T @ d_i)
        return out
    if fast is not None:
        b_g, s_g = fast.cluster_sums(groups)
    else:
        b_g = np.zeros((n_groups, p, p))
        for a in range(p):
            for b in range(a, p):
                b_g[:, a, b] = b_g[:, b, a] = np.bincount(codes, weight * x[:, a] * x[:, b], minlength=n_groups)
        s_g = np.stack([np.bincount(codes, scores[:, a], minlength=n_groups) for a in range(p)], axis=1)
    d_g: np.ndarray
    try:
        d_g = np.linalg.solve(bread_inv[None, :, :] - b_g, s_g[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # dropping one cluster leaves a term unidentified: one-step CR1 instead
        d_g = s_g @ np.linalg.inv(bread_inv)
    return (n_groups - 1) / n_groups * (d_g.T @ d_g)


def _codes(groups: np.ndarray) -> tuple[np.ndarray, int]:
    codes = pd.factorize(groups)[0]
    return codes, int(codes.max()) + 1 if len(codes) else 0


def _group_square_sums(q: np.ndarray, groups: np.ndarray) -> np.ndarray:
    codes, n_groups = _codes(groups)
    return np.array([np.sum(np.bincount(codes, q[:, a], minlength=n_groups) ** 2) for a in range(q.shape[1])])


def two_way_covariance(x: np.ndarray, resid: np.ndarray, weight: np.ndarray, rater: np.ndarray,
                       item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-way (rater, item) cluster-robust covariance of a GLM and per-coefficient t degrees of freedom.

    ``resid`` = o - mu, ``weight`` = mu (1 - mu). See the module docstring for V and the df.
    """
    fast = cluster_sums.by_pattern(x, resid, weight)  # few distinct design rows: sums by pattern
    info = x.T @ (x * weight[:, None]) if fast is None else fast.information()
    bread = np.linalg.inv(info)
    scores = x * resid[:, None] if fast is None else x[:0]
    cell = rater.astype(np.int64) * (int(item.max()) + 1) + item.astype(np.int64)
    cov = np.zeros_like(info)
    q = weight[:, None] * (x @ bread) ** 2 if fast is None else x[:0]  # q_ik = w_i (x_i' B^-1 e_k)^2
    square_sums = np.zeros(x.shape[1])
    for groups, sign in ((rater, 1.0), (item, 1.0), (cell, -1.0)):
        cov += sign * _jackknife_part(x, scores, weight, info, groups, fast)
        square_sums += sign * (_group_square_sums(q, groups) if fast is None else fast.square_sums(bread, groups))
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dof = (q.sum(axis=0) if fast is None else fast.q_total(bread)) ** 2 / square_sums
    return (vecs * np.clip(vals, 0.0, None)) @ vecs.T, np.maximum(np.nan_to_num(dof, nan=1.0), 1.0)


def logistic_mle(x: np.ndarray, o: np.ndarray, max_iter: int = 50, tol: float = 1e-10,
                 trials: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood logistic coefficients by Newton-Raphson (IRLS) on the p x p information.

    Same estimates as statsmodels ``GLM(o, x, Binomial()).fit()`` (tested), without its
    n x p decompositions, so a million judgments take well under a second per outcome.
    ``trials``: row i stands for trials[i] judgments with o[i] successes (the same
    likelihood as the judgments one by one). Raises ``RuntimeError`` when it does not
    converge (e.g. separation).
    """
    beta = np.zeros(x.shape[1])
    n_t = np.ones(len(o)) if trials is None else trials
    for _ in range(max_iter):
        mu = 1.0 / (1.0 + np.exp(-(x @ beta)))
        step = np.linalg.solve(x.T @ (x * (n_t * mu * (1.0 - mu))[:, None]), x.T @ (o - n_t * mu))
        beta += step
        if np.max(np.abs(step)) < tol * (1.0 + np.max(np.abs(beta))):
            return beta
    raise RuntimeError("logistic regression did not converge")


def fit_logit_2way(data: pd.DataFrame, outcome: str, reference: str) -> list[dict[str, object]]:
    """Logistic regression with two-way cluster-robust Wald-t intervals (see module docstring)."""
    x, names = design(data, reference)
    o = data[outcome].to_numpy(dtype=float)
    found = cluster_sums.patterns(x)  # few distinct design rows: fit on (successes, trials) per row
    params = logistic_mle(x, o) if found is None else logistic_mle(
        found[1], np.bincount(found[0], o), trials=np.bincount(found[0]).astype(float))
    mu = 1.0 / (1.0 + np.exp(-(x @ params)))
    cov, df_t = two_way_covariance(x, o - mu, mu * (1.0 - mu), data["rater"].to_numpy(), data["item"].to_numpy())
    se = np.sqrt(np.diag(cov))
    crit = special.stdtrit(df_t, 0.975)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * special.stdtr(df_t, -np.abs(params / se))
    return [{"model": "logit_2way", "outcome": outcome, "term": t, "estimate": float(e), "se": float(v),
             "ci_low": float(e - c * v), "ci_high": float(e + c * v), "p_value": float(q),
             "n": len(data), "note": ""}
            for t, e, v, q, c in zip(names, params, se, p, crit, strict=True)]


def _null(model: str, outcome: str, note: str, n: int = 0) -> list[dict[str, object]]:
    return [{"model": model, "outcome": outcome, "term": None, "estimate": np.nan, "se": np.nan,
             "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "n": n, "note": note}]


def fit_models(df: pd.DataFrame, *, seed: int = 0, models: tuple[str, ...] = MODELS,
               reference: str | None = None) -> pd.DataFrame:
    """Tidy table of the models for both outcomes (columns ``MODEL_COLUMNS``).

    Expects a prepared table. Terms: ``Intercept``, ``condition[<k>]``, ``ai_correct``,
    ``condition[<k>]:ai_correct`` (log-odds scale). ``seed`` is accepted for API
    stability (the fit is deterministic). The reference level is ``reference``, else
    the condition whose ``assistance_kind`` is ``none``, else the first condition
    alphabetically (with a note).
    """
    del seed
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; available: {list(MODELS)}")
    data, reason = _model_data(df)
    ref, _ = cn.reference_or_first(df, reference)
    rows: list[dict[str, object]] = []
    for outcome in OUTCOMES:
        why = (reason or _degenerate(data, outcome)) if data is not None else reason
        for model in models:
            if why or data is None or ref is None:
                rows += _null(model, outcome, why or "no conditions", 0 if data is None else len(data))
                continue
            rows += _fit_safely(model, data, outcome, ref)
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def _fit_safely(model: str, data: pd.DataFrame, outcome: str, reference: str) -> list[dict[str, object]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = fit_logit_2way(data, outcome, reference)
    except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:  # numerical failure -> null row
        return _null(model, outcome, f"fit failed: {type(exc).__name__}: {exc}", len(data))
    finite = [math.isfinite(float(str(r["estimate"]))) and math.isfinite(float(str(r["se"]))) for r in rows]
    if not all(finite):
        return _null(model, outcome, "fit did not converge to finite estimates", len(data))
    return rows
