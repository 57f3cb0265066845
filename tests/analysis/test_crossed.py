"""Two-way cluster-robust inference: degrees of freedom and working model against dense matrix algebra and simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analysis import crossed, models


def _design(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An incomplete crossed design (some cells empty, some with two judgments), 3 conditions."""
    rng = np.random.default_rng(seed)
    n_r, n_i = 12, 10
    rater, item = np.repeat(np.arange(n_r), n_i), np.tile(np.arange(n_i), n_r)
    keep = rng.random(len(rater)) < 0.8
    rater, item = rater[keep], item[keep]
    twice = rng.random(len(rater)) < 0.2
    rater, item = np.concatenate([rater, rater[twice]]), np.concatenate([item, item[twice]])
    data = pd.DataFrame({"rater": rater, "item": item, "condition": np.array(["a", "b", "c"])[rater % 3],
                         "ai_correct": (rng.random(n_i) < 0.6)[item].astype(float)})
    x, _ = models.design(data, "a")
    o = (rng.random(len(rater)) < expit(0.5 + rng.normal(0, 0.5, n_r)[rater] + rng.normal(0, 0.5, n_i)[item]))
    beta = models.logistic_mle(x, o.astype(float))
    mu = expit(x @ beta)
    return x, o - mu, mu * (1 - mu), rater, item


def _indicator(groups: np.ndarray) -> np.ndarray:
    codes = pd.factorize(groups)[0]
    return np.eye(codes.max() + 1)[codes]


def _dense_quadratic_forms(x: np.ndarray, w: np.ndarray, rater: np.ndarray, item: np.ndarray) -> list[np.ndarray]:
    """Q_k with V_kk = y' Q_k y: residual maker M, leave-one-cluster-out inverses by an explicit loop."""
    info = x.T @ (x * w[:, None])
    resid_maker = np.eye(len(w)) - (w[:, None] * x) @ np.linalg.inv(info) @ x.T
    cell = rater * (item.max() + 1) + item
    forms = [np.zeros((len(w), len(w))) for _ in range(x.shape[1])]
    for groups, sign in ((rater, 1.0), (item, 1.0), (cell, -1.0)):
        labels = np.unique(groups)
        alpha = np.zeros_like(x)
        for g in labels:
            m = groups == g
            alpha[m] = x[m] @ np.linalg.inv(info - x[m].T @ (x[m] * w[m, None]))
        alpha *= np.sqrt((len(labels) - 1) / len(labels))
        z = _indicator(groups)
        for k in range(x.shape[1]):
            forms[k] += sign * (alpha[:, k, None] * (z @ z.T) * alpha[None, :, k])
    return [resid_maker.T @ q @ resid_maker for q in forms]


def _working_pieces(w: np.ndarray, rater: np.ndarray, item: np.ndarray) -> list[np.ndarray]:
    zr, zi = _indicator(rater), _indicator(item)
    return [np.diag(w), np.outer(w, w) * (zr @ zr.T), np.outer(w, w) * (zi @ zi.T)]


def test_working_components_solve_the_dense_moment_equations() -> None:
    x, resid, w, rater, item = _design(5)
    info = x.T @ (x * w[:, None])
    resid_maker = np.eye(len(w)) - (w[:, None] * x) @ np.linalg.inv(info) @ x.T
    zr, zi = _indicator(rater), _indicator(item)
    eye = np.eye(len(w))
    stats_matrices = [eye, zr @ zr.T - eye, zi @ zi.T - eye]
    lhs = np.array([[np.sum(c * (resid_maker @ s @ resid_maker.T)) for s in _working_pieces(w, rater, item)]
                    for c in stats_matrices])
    want = np.linalg.solve(lhs, [resid @ c @ resid for c in stats_matrices])
    assert np.all(want > 0)  # interior solution: the non-negative least squares must find it exactly
    got = crossed.working_components(crossed.crossed_design(x, w, rater, item), resid)
    assert got == pytest.approx(want, rel=1e-8)


def test_satterthwaite_df_equals_dense_trace_formula() -> None:
    x, resid, w, rater, item = _design(5)
    cd = crossed.crossed_design(x, w, rater, item)
    theta = crossed.working_components(cd, resid)
    sigma = sum(t * s for t, s in zip(theta, _working_pieces(w, rater, item), strict=True))
    want = []
    for q in _dense_quadratic_forms(x, w, rater, item):
        qs = q @ sigma
        want.append(np.trace(qs) ** 2 / np.sum(qs * qs.T))
    alphas = {kind: crossed.jackknife_weights(cd, kind) for kind in crossed.KINDS}
    got = crossed.satterthwaite_df(cd, alphas, resid)
    assert got == pytest.approx(np.array(want), rel=1e-8)
    # the covariance is the dense quadratic form evaluated at the errors' residuals
    cov, _ = models.two_way_covariance(x, resid, w, rater, item)
    forms = _dense_quadratic_forms(x, w, rater, item)
    raw = crossed.covariance(cd, resid, alphas)
    assert np.diag(raw) == pytest.approx([resid @ q @ resid for q in forms], rel=1e-8)
    assert cov.shape == raw.shape


def test_df_matches_simulated_spread_of_the_variance_estimate() -> None:
    """Crossed random intercepts (linear model, known truth): over 400 replicates of a fixed design
    (16 raters in 2 conditions x 12 items, 3 with ai_correct = 0) the spread of V_kk gives an effective
    df 2 E[V]^2 / Var(V); the reported df (its mean over replicates) lies within 30% of it for every
    coefficient. The earlier formula (independence, no projection), still computed for screening,
    gave the interaction 43% more df than simulated here."""
    rng = np.random.default_rng(11)
    n_r, n_i = 16, 12
    rater, item = np.repeat(np.arange(n_r), n_i), np.tile(np.arange(n_i), n_r)
    data = pd.DataFrame({"rater": rater, "item": item, "condition": np.where(rater % 2, "b", "a"),
                         "ai_correct": (np.arange(n_i) >= 3)[item].astype(float)})
    x, _ = models.design(data, "a")
    w = np.ones(len(rater))
    info_inv = np.linalg.inv(x.T @ x)
    variances, dofs = [], []
    for _ in range(400):
        y = rng.normal(0, 1, len(rater)) + rng.normal(0, 0.7, n_r)[rater] + rng.normal(0, 0.7, n_i)[item]
        resid = y - x @ (info_inv @ (x.T @ y))
        cov, dof = models.two_way_covariance(x, resid, w, rater, item)
        variances.append(np.diag(cov))
        dofs.append(dof)
    v = np.array(variances)
    simulated = 2 * v.mean(axis=0) ** 2 / v.var(axis=0)
    reported = np.array(dofs).mean(axis=0)
    assert reported == pytest.approx(simulated, rel=0.3)
