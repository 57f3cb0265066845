"""Regression models of correctness and of agreement with the AI, valid under crossed raters and items.

Model (logit link), for outcome o in {correct = [h == y], agree_with_ai = [h == a]}:
    logit P(o = 1) = b0 + b_cond[k] + b_ai * ai_correct + b_int[k] * ai_correct
with treatment coding of condition against the reference condition (see
:func:`analysis.conditions.reference_condition`) and ai_correct = [a == y].

``logit_2way``: the logistic regression is fitted by maximum likelihood (Newton-Raphson,
checked against statsmodels ``GLM`` with the binomial family). Its covariance is two-way
cluster-robust (Cameron, Gelbach and Miller 2011), clustered by rater and by item:

    V0 = B^-1 (M_rater + M_item - M_cell) B^-1,  M_g = sum_{clusters G of kind g} s_G s_G',
    B = X' W X, W = diag(mu (1 - mu)), s_G = sum_{i in G} x_i (o_i - mu_i),

"cell" being the intersection (rater, item); negative eigenvalues are set to 0. V0 is
biased: the fit absorbs rater and item effects from the rater and item sums but not from
the cell sums (too small for within-rater, within-item contrasts such as the
interaction), and few clusters shrink the sums (too small for terms informed by few
items). Under a working model of crossed rater and item random intercepts, whose
variances are estimated from the residuals, each coefficient's expected shortfall
t_k - E[V0_kk] (t_k its variance under that model) is added to V0_kk (an expected excess
is removed in proportion), and each coefficient gets its own t degrees of freedom, the
Satterthwaite df under the same model (a term informed by few items, e.g.
``ai_correct``, gets few). Formulas: :mod:`analysis.crossed`.
ci = estimate +- t_{0.975, df_k} se, p = 2 P(T_{df_k} > |estimate / se|).
With many small clusters (every coefficient's bound delta_k on the relative correction
<= 0.02 and its df under independent judgments >= 300, :mod:`analysis.crossed_fast`) the
corrections are negligible and V0 with that df is reported (standard errors within 1%).

A crossed-random-effects GLMM fitted by variational Bayes (``BinomialBayesMixedGLM``)
and a GEE clustered by rater only were removed: over simulated studies with rater and
item variation their intervals covered the truth far less than 95% of the time
(docs/benchmarks.md, ``benchmarks/bench_model_calibration.py``).

Degenerate data (missing columns, fewer than two conditions, ai_correct constant or
one of its values on a single item, a condition with a single rater, an empty or
constant condition x ai_correct cell: (quasi-)perfect separation) give one
row per outcome with NaN numbers and the reason in ``note``, never an exception.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special  # Student t: stdtrit = t.ppf, stdtr(df, -x) = t.sf(x); lighter than scipy.stats
from threadpoolctl import threadpool_limits

from analysis import cluster_sums, crossed
from analysis import conditions as cn
from analysis import schema as s

MODEL_COLUMNS = ["model", "outcome", "term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "note"]
MODELS = ("logit_2way",)
OUTCOMES = ("correct", "agree_with_ai")


@dataclass(frozen=True)
class ModelData:
    """Per analysed judgment: rater and item codes, condition code (-1: missing) with the sorted
    condition names, ai_correct = [a == y] (0/1) and the outcomes (0/1 floats)."""

    rater: np.ndarray
    item: np.ndarray
    condition: np.ndarray
    names: list[str]
    ai: np.ndarray
    outcomes: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ai)

    @cached_property
    def cell(self) -> np.ndarray:
        """The condition x ai_correct cell of each judgment: 2 + 2 condition + ai_correct (0, 1: no condition)."""
        key = self.condition * 2
        key += 2
        key += self.ai
        return key

    @cached_property
    def cell_counts(self) -> np.ndarray:
        """Judgments per cell (2 + 2 #conditions)."""
        return np.bincount(self.cell, minlength=2 * len(self.names) + 2)

    def subset(self, keep: np.ndarray) -> ModelData:
        """The judgments with ``keep`` True."""
        return ModelData(self.rater[keep], self.item[keep], self.condition[keep], self.names, self.ai[keep],
                         {key: v[keep] for key, v in self.outcomes.items()})


def _model_data(df: pd.DataFrame) -> tuple[ModelData | None, str]:
    gaps = s.missing(df, (s.RATER, s.ITEM, s.CONDITION, s.GOLD, s.AI_LABEL, s.FINAL))
    if gaps:
        return None, f"missing column(s) {', '.join(gaps)}"
    y, a, h = s.label_codes(df, (s.GOLD, s.AI_LABEL, s.FINAL))
    ok = (y >= 0) & (a >= 0) & (h >= 0)
    codes, names = s.id_codes(df, s.CONDITION)
    cond = codes.astype(np.int64)
    cond = np.where(names[cond] == "<missing>", -1, cond) if "<missing>" in names else cond
    data = ModelData(s.id_codes(df, s.RATER)[0], s.id_codes(df, s.ITEM)[0],  # codes shared with the other analyses
                     cond, [str(n) for n in names], (a == y).astype(np.int8),
                     {"correct": (h == y).astype(float), "agree_with_ai": (h == a).astype(float)})
    return (data if ok.all() else data.subset(ok)), ""


def _from_frame(data: pd.DataFrame | ModelData) -> ModelData:
    """ModelData of a frame with columns rater, item, condition, ai_correct and the outcomes."""
    if isinstance(data, ModelData):
        return data
    cond, names = _condition_codes(data)
    return ModelData(np.asarray(data["rater"]), np.asarray(data["item"]), cond, names,
                     data["ai_correct"].to_numpy(dtype=np.int64),
                     {o: data[o].to_numpy(dtype=float) for o in OUTCOMES if o in data.columns})


def _condition_codes(data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """(code of each row's condition, -1 if missing; the condition names, sorted)."""
    column = data["condition"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, names = column.cat.codes.to_numpy(), [str(c) for c in column.cat.categories]
        if list(names) != sorted(names):
            codes, names = pd.factorize(column, sort=True)[0], sorted(names)
    else:
        codes, uniques = pd.factorize(column.to_numpy(dtype=object), sort=True)
        names = [str(c) for c in uniques]
    return np.asarray(codes, dtype=np.int64), names


def _degenerate(data: ModelData | pd.DataFrame, outcome: str) -> str:
    """Why the model cannot be fitted (module docstring), or ""; counts by bincount on integer codes."""
    d = _from_frame(data)
    return _table_problem(d) or _separation(d, outcome)


def _with_condition(d: ModelData) -> ModelData:
    return d if not d.cell_counts[:2].any() else d.subset(d.condition >= 0)


def _table_problem(data: ModelData) -> str:
    """The outcome-free checks of :func:`_degenerate` (judgments with a condition)."""
    n_c = len(data.names)
    cells = data.cell_counts[2:].reshape(n_c, 2)  # condition x ai_correct
    present = np.flatnonzero(cells.sum(axis=1))
    if len(present) < 2:
        return f"needs at least 2 conditions (found {len(present)})"
    if np.count_nonzero(cells.sum(axis=0)) < 2:
        return "ai_correct takes one value, its effect is not identified"
    d = _with_condition(data)
    items = _distinct_by(d.item, d.ai, 2)
    if items.min() < 2:  # one item: no item-to-item variation to estimate, intervals would be arbitrary
        return f"ai_correct = {int(np.argmin(items))} on only one item: its item-level variance is not estimable"
    raters = _distinct_by(d.rater, d.condition, n_c)[present]
    if raters.min() < 2:
        return f"condition {d.names[present[np.argmin(raters)]]!r} has one rater: its rater-level variance is not estimable"
    if np.count_nonzero(cells) < 2 * len(present):
        return "an empty condition x ai_correct cell: interaction not identified"
    return ""


def _separation(data: ModelData, outcome: str, shared: SharedDesign | None = None) -> str:
    """(Quasi-)perfect separation: the outcome constant in a condition x ai_correct cell; by the
    design's patterns when each is one cell (the same sums)."""
    if shared is not None and shared.cells is not None:
        cells, size, total = shared.cells, shared.counts, shared.successes(data, outcome)
    else:  # by cell, leaving out the judgments without a condition (cells 0, 1)
        cells, size = np.arange(2 * len(data.names)), data.cell_counts[2:]
        total = np.bincount(data.cell, data.outcomes[outcome], minlength=len(cells) + 2)[2:]
    mean = total / np.maximum(size, 1)
    flat = np.sort(cells[(size > 0) & ((mean <= 0.0) | (mean >= 1.0))])
    if len(flat):
        return f"perfect separation: {outcome} constant in condition {data.names[flat[0] // 2]!r}, ai_correct={flat[0] % 2}"
    return ""


def _small_codes(values: np.ndarray) -> np.ndarray:
    """Non-negative integer codes below 4 n as they are (bincount-sized), others renumbered 0 .. G - 1."""
    if values.dtype.kind in "iu" and len(values) and values.min() >= 0 and values.max() < 4 * len(values):
        return values
    return cluster_sums._dense_codes(values)[0]


def _distinct_by(values: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """Number of distinct codes in each group 0 .. groups - 1."""
    present = np.bincount(_pair_key(_small_codes(values), group, groups)) > 0
    return np.bincount(np.flatnonzero(present) % groups, minlength=groups)


def _pair_key(codes: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """codes * groups + group as bincount's index type (one copy, then in place)."""
    key = codes.astype(np.intp)
    key *= groups
    key += group
    return key


def design(data: pd.DataFrame, reference: str) -> tuple[np.ndarray, list[str]]:
    """Treatment-coded design: Intercept, condition[k], ai_correct, condition[k]:ai_correct."""
    codes, names = _condition_codes(data)
    present = set(np.unique(codes[codes >= 0]).tolist())
    levels = [reference] + [c for i, c in enumerate(names) if i in present and c != reference]
    index = {c: i for i, c in enumerate(names)}
    ai = data["ai_correct"].to_numpy(dtype=float)
    n_k = len(levels) - 1
    x = np.empty((2 + 2 * n_k, len(data))).T  # filled in place, column by column (column-major)
    x[:, 0], x[:, 1 + n_k] = 1.0, ai
    for i, k in enumerate(levels[1:]):
        x[:, 1 + i] = codes == index[k]
        np.multiply(x[:, 1 + i], ai, out=x[:, 2 + n_k + i])
    names_out = ["Intercept", *(f"condition[{k}]" for k in levels[1:]), "ai_correct",
                 *(f"condition[{k}]:ai_correct" for k in levels[1:])]
    return x, names_out


def two_way_covariance(x: np.ndarray, resid: np.ndarray, weight: np.ndarray, rater: np.ndarray,
                       item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-way (rater, item) cluster-robust covariance of a GLM, bias-corrected, and per-coefficient t df.

    ``resid`` = o - mu, ``weight`` = mu (1 - mu) (1 for least squares); see
    :mod:`analysis.crossed` for V and the Satterthwaite degrees of freedom.
    """
    return crossed.two_way(x, resid, weight, rater, item)


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


@dataclass
class SharedDesign:
    """The design of one table by covariate pattern, shared by the outcomes' fits."""

    names: list[str]
    found: tuple[np.ndarray, np.ndarray]  # (pattern of each judgment, distinct rows), as cluster_sums.patterns
    counts: np.ndarray  # judgments per pattern
    cells: np.ndarray | None  # condition code * 2 + ai_correct of each pattern (None: judgments without a condition)
    clusters: crossed.Crossed | None = None  # set by the first fit
    _successes: dict[str, np.ndarray] = field(default_factory=dict)

    def successes(self, data: ModelData, outcome: str) -> np.ndarray:
        """Sum of the outcome over each pattern's judgments (once per outcome)."""
        if outcome not in self._successes:
            self._successes[outcome] = np.bincount(self.found[0], data.outcomes[outcome], minlength=len(self.counts))
        return self._successes[outcome]


def _row(level: int, ai: int, n_k: int) -> list[float]:
    """The design row of a condition level (0: reference) and ai_correct value (:func:`design`)."""
    one_hot = [float(level == k) for k in range(1, n_k + 1)]
    return [1.0, *one_hot, float(ai), *(ai * v for v in one_hot)]


def shared_design(data: ModelData | pd.DataFrame, reference: str) -> SharedDesign:
    """The rows of :func:`design` straight from the condition and ai_correct codes: the pattern of a
    judgment is its (level, ai_correct) pair, the patterns numbered as :func:`analysis.cluster_sums.patterns`
    numbers them (rows read as binary numbers, ascending), so no n x p design is formed."""
    d = _from_frame(data)
    n_c, by_cell = len(d.names), d.cell_counts
    present = np.flatnonzero(by_cell[2:].reshape(n_c, 2).sum(axis=1))
    levels = [reference] + [d.names[i] for i in present if d.names[i] != reference]
    level_of = np.zeros(n_c + 1, dtype=np.int64)  # by condition code + 1; missing or reference: level 0
    for i, k in enumerate(levels[1:], 1):
        level_of[d.names.index(k) + 1] = i
    n_k = len(levels) - 1
    combo_of = np.repeat(level_of, 2) * 2 + np.tile([0, 1], n_c + 1)  # (level, ai_correct) of each cell
    rows = np.array([_row(level, ai, n_k) for level in range(n_k + 1) for ai in (0, 1)])
    counts = np.bincount(combo_of, by_cell, minlength=len(rows)).astype(np.int64)
    seen = np.flatnonzero(counts)
    order = seen[np.argsort([int("".join("1" if v else "0" for v in rows[c]), 2) for c in seen], kind="stable")]
    rank = np.zeros(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(order))
    names_out = ["Intercept", *(f"condition[{k}]" for k in levels[1:]), "ai_correct",
                 *(f"condition[{k}]:ai_correct" for k in levels[1:])]
    cell_of = np.array([d.names.index(k) if k in d.names else -1 for k in levels])  # condition code of a level
    cells = (cell_of[order // 2] * 2 + order % 2) if not by_cell[:2].any() else None
    return SharedDesign(names_out, (rank[combo_of][d.cell], rows[order]), counts[order], cells)


def fit_logit_2way(data: ModelData | pd.DataFrame, outcome: str, reference: str,
                   shared: SharedDesign | None = None) -> list[dict[str, object]]:
    """Logistic regression with two-way cluster-robust Wald-t intervals (see module docstring).

    Fitted on (successes, trials) per design pattern; ``shared``: the table's design
    (:func:`shared_design`), built once for both outcomes."""
    data = _from_frame(data)
    d = shared_design(data, reference) if shared is None else shared
    o = data.outcomes[outcome]
    pattern, rows = d.found
    params = logistic_mle(rows, d.successes(data, outcome), trials=d.counts.astype(float))
    mu_p = 1.0 / (1.0 + np.exp(-(rows @ params)))
    w_p = mu_p * (1.0 - mu_p)
    d.clusters = crossed.crossed_design(None, w_p[pattern], data.rater, data.item, like=d.clusters, found=d.found,
                                        pattern_weight=w_p)
    resid = mu_p[pattern]
    np.subtract(o, resid, out=resid)  # o - mu
    cov, df_t = crossed.covariance(d.clusters, resid)
    se = np.sqrt(np.diag(cov))
    low, high, p = t_interval(params, se, df_t)
    return [{"model": "logit_2way", "outcome": outcome, "term": t, "estimate": float(e), "se": float(v),
             "ci_low": float(lo), "ci_high": float(hi), "p_value": float(q), "n": len(data), "note": ""}
            for t, e, v, lo, hi, q in zip(d.names, params, se, low, high, p, strict=True)]


def t_interval(estimate: np.ndarray, se: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """95% Wald-t interval and two-sided p: estimate -+ t_{df, 0.975} se, p = 2 P(T_df > |estimate / se|)."""
    crit = special.stdtrit(df, 0.975)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * special.stdtr(df, -np.abs(estimate / se))
    return estimate - crit * se, estimate + crit * se, p


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
    with threadpool_limits(1, "blas"):  # small products (clusters x patterns): BLAS threads only contend
        return _fit_models(df, models, reference)


def _fit_models(df: pd.DataFrame, models: tuple[str, ...], reference: str | None) -> pd.DataFrame:
    data, reason = _model_data(df)
    ref, _ = cn.reference_or_first(df, reference)
    rows: list[dict[str, object]] = []
    shared: list[SharedDesign] = []  # built on the first fit, reused by the next
    reason = reason or (_table_problem(data) if data is not None else "")
    if data is not None and not reason and ref is not None:
        shared.append(shared_design(data, ref))
    for outcome in OUTCOMES:
        why = (reason or _separation(data, outcome, shared[0] if shared else None)) if data is not None else reason
        for model in models:
            if why or data is None or ref is None:
                rows += _null(model, outcome, why or "no conditions", 0 if data is None else len(data))
                continue
            rows += _fit_safely(model, data, outcome, ref, shared)
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def _fit_safely(model: str, data: ModelData, outcome: str, reference: str,
                shared: list[SharedDesign]) -> list[dict[str, object]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not shared:
                shared.append(shared_design(data, reference))
            rows = fit_logit_2way(data, outcome, reference, shared[0])
    except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:  # numerical failure -> null row
        return _null(model, outcome, f"fit failed: {type(exc).__name__}: {exc}", len(data))
    finite = [math.isfinite(float(str(r["estimate"]))) and math.isfinite(float(str(r["se"]))) for r in rows]
    if not all(finite):
        return _null(model, outcome, "fit did not converge to finite estimates", len(data))
    return rows
