"""Regression models of correctness and of agreement with the AI.

Model (logit link), for outcome o in {correct = [h == y], agree_with_ai = [h == a]}:
    logit P(o = 1) = b0 + b_cond[k] + b_ai * ai_correct + b_int[k] * ai_correct (+ random effects)
with treatment coding of condition (reference ``none`` when present, else the first
condition alphabetically) and ai_correct = [a == y].

- ``mixed_vb``: statsmodels ``BinomialBayesMixedGLM`` with random intercepts for rater
  and item (u_r ~ N(0, s_r^2), v_j ~ N(0, s_i^2)), fitted by variational Bayes
  (``fit_vb``). estimate/se are the posterior mean/sd of each fixed effect;
  ci = estimate +- 1.96 se; p_value = 2 * (1 - Phi(|estimate / se|)) (normal
  approximation to the posterior). Rows ``sd(rater)``/``sd(item)`` report
  exp(posterior mean of log s) with its interval.
- ``gee_rater``: GEE (independence working correlation, i.e. logistic GLM point
  estimates) with the cluster-robust sandwich covariance clustered by rater; Wald
  intervals and p-values.

Degenerate data (missing columns, fewer than two conditions, ai_correct constant, an
empty or constant condition x ai_correct cell: (quasi-)perfect separation) give one
row per model with NaN numbers and the reason in ``note``, never an exception.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import patsy
import scipy.sparse as sp
import statsmodels.api as sm
from scipy import stats
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

from analysis import schema as s

MODEL_COLUMNS = ["model", "outcome", "term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "note"]
MODELS = ("mixed_vb", "gee_rater")
OUTCOMES = ("correct", "agree_with_ai")
_Z = float(stats.norm.ppf(0.975))


def _model_data(df: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    gaps = s.missing(df, (s.RATER, s.ITEM, s.CONDITION, s.GOLD, s.AI_LABEL, s.FINAL))
    if gaps:
        return None, f"missing column(s) {', '.join(gaps)}"
    y, a, h = (s.labels(df, c) for c in (s.GOLD, s.AI_LABEL, s.FINAL))
    ok = (y.notna() & a.notna() & h.notna()).to_numpy(dtype=bool)
    data = pd.DataFrame({
        "rater": df[s.RATER].astype("string").to_numpy(dtype=object),
        "item": df[s.ITEM].astype("string").to_numpy(dtype=object),
        "condition": df[s.CONDITION].astype("string").to_numpy(dtype=object),
        "correct": s.same(h, y).astype(float),
        "agree_with_ai": s.same(h, a).astype(float),
        "ai_correct": s.same(a, y).astype(float),
    })[ok].reset_index(drop=True)
    return data, ""


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


def _design(data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    levels = s.conditions_in(data)
    formula = f"C(condition, Treatment(reference={levels[0]!r})) * ai_correct"
    mat = patsy.dmatrix(formula, data, return_type="dataframe")
    names = [c.replace(f"C(condition, Treatment(reference={levels[0]!r}))[T.", "condition[") for c in mat.columns]
    return mat.to_numpy(dtype=float), names


def _null(model: str, outcome: str, note: str, n: int = 0) -> list[dict[str, object]]:
    return [{"model": model, "outcome": outcome, "term": None, "estimate": np.nan, "se": np.nan,
             "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "n": n, "note": note}]


def _rows(model: str, outcome: str, names: list[str], est: np.ndarray, se: np.ndarray,
          p: np.ndarray, n: int) -> list[dict[str, object]]:
    return [{"model": model, "outcome": outcome, "term": t, "estimate": float(e), "se": float(v),
             "ci_low": float(e - _Z * v), "ci_high": float(e + _Z * v), "p_value": float(q), "n": n, "note": ""}
            for t, e, v, q in zip(names, est, se, p, strict=True)]


def _onehot(codes: np.ndarray, n: int) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), n))


def fit_mixed(data: pd.DataFrame, outcome: str, seed: int = 0) -> list[dict[str, object]]:
    """BinomialBayesMixedGLM (rater and item random intercepts) fitted with ``fit_vb``."""
    exog, names = _design(data)
    rater, n_r = pd.factorize(data["rater"])[0], data["rater"].nunique()
    item, n_i = pd.factorize(data["item"])[0], data["item"].nunique()
    exog_vc = sp.hstack([_onehot(rater, n_r), _onehot(item, n_i)]).tocsr()
    ident = np.r_[np.zeros(n_r, dtype=int), np.ones(n_i, dtype=int)]
    glmm = BinomialBayesMixedGLM(data[outcome].to_numpy(), exog, exog_vc, ident,
                                 fep_names=names, vcp_names=["rater", "item"])
    # L-BFGS-B reaches the same optimum as the default BFGS about 3x faster (many VB parameters).
    res = glmm.fit_vb(fit_method="L-BFGS-B", rng=np.random.default_rng(seed))
    est, se = np.asarray(res.fe_mean), np.asarray(res.fe_sd)
    p = 2.0 * stats.norm.sf(np.abs(est / se))
    rows = _rows("mixed_vb", outcome, names, est, se, p, len(data))
    for name, m, v in zip(("sd(rater)", "sd(item)"), res.vcp_mean, res.vcp_sd, strict=True):
        rows.append({"model": "mixed_vb", "outcome": outcome, "term": name, "estimate": float(np.exp(m)),
                     "se": np.nan, "ci_low": float(np.exp(m - _Z * v)), "ci_high": float(np.exp(m + _Z * v)),
                     "p_value": np.nan, "n": len(data), "note": "exp(posterior mean of log sd)"})
    return rows


def fit_gee(data: pd.DataFrame, outcome: str) -> list[dict[str, object]]:
    """Logistic GEE, independence working correlation, robust covariance clustered by rater."""
    exog, names = _design(data)
    groups = pd.factorize(data["rater"])[0]
    model = sm.GEE(data[outcome].to_numpy(), exog, groups=groups, family=sm.families.Binomial(),
                   cov_struct=sm.cov_struct.Independence())
    res = model.fit()
    return _rows("gee_rater", outcome, names, np.asarray(res.params), np.asarray(res.bse),
                 np.asarray(res.pvalues), len(data))


def fit_models(df: pd.DataFrame, *, seed: int = 0, models: tuple[str, ...] = MODELS) -> pd.DataFrame:
    """Tidy table of both models for both outcomes (columns ``MODEL_COLUMNS``).

    Expects a prepared table. Terms: ``Intercept``, ``condition[<k>]``, ``ai_correct``,
    ``condition[<k>]:ai_correct`` (log-odds scale), plus ``sd(rater)``/``sd(item)`` for
    the mixed model.
    """
    data, reason = _model_data(df)
    rows: list[dict[str, object]] = []
    for outcome in OUTCOMES:
        why = (reason or _degenerate(data, outcome)) if data is not None else reason
        for model in models:
            if why:
                rows += _null(model, outcome, why, 0 if data is None else len(data))
                continue
            rows += _fit_safely(model, data, outcome, seed)
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def _fit_safely(model: str, data: pd.DataFrame, outcome: str, seed: int) -> list[dict[str, object]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = fit_mixed(data, outcome, seed) if model == "mixed_vb" else fit_gee(data, outcome)
    except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:  # numerical failure -> null row
        return _null(model, outcome, f"fit failed: {type(exc).__name__}: {exc}", len(data))
    finite = [math.isfinite(float(str(r["estimate"]))) and math.isfinite(float(str(r["se"])))
              for r in rows if r["note"] == ""]
    if not all(finite):
        return _null(model, outcome, "fit did not converge to finite estimates", len(data))
    return rows
