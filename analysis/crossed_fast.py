"""When the corrections of the two-way covariance are negligible: a bound from the clusters' leverage.

Notation of :mod:`analysis.crossed`; whitened: u_i = B^-1/2 x_i, b = B^-1/2 e_k (so a_i = u_i'b and
||b||^2 = (B^-1)_kk), H_g = sum_{i in g} w_i u_i u_i' (cluster g's share of the information, summing
to I over the clusters of one kind), m_q = sum_{i in q} w_i x_i and z_q = B^-1/2 m_q for a rater or
item q, W_g = sum_{i in g} w_i, Omega = B^-1/2 X'SX B^-1/2. As e = y - W X B^-1 X'y, a cluster's
score is s_g(e) = s_g(y) - b'H_g eta, eta = B^-1/2 X'y (covariance Omega), and as A and S couple
exactly the pairs of judgments sharing a rater or an item, tr(A S) = a'Sa = t_k. Hence

    t_k - E[V0_kk] = sum_h sign_h sum_g (2 b'H_g c_g - b'H_g Omega H_g b),
    c_g = Cov(eta, s_g(y)) = phi H_g b + sum_{c = rater, item} tau_c sum_{i in g} a_i w_i z_{c(i)}.

With lambda_g >= the largest eigenvalue of H_g and beta_gk = b'H_g b = sum_{i in g} w_i a_ik^2,
Cauchy-Schwarz (b'H_g^2 b <= lambda_g beta_gk, |b'H_g z| <= sqrt(lambda_g beta_gk) ||z||,
sum_{i in g} |a_i| w_i <= sqrt(W_g beta_gk), b'H_g Omega H_g b <= ||Omega|| lambda_g beta_gk) gives

    |t_k - E[V0_kk]| <= sum_{h = rater, item, cell} sum_g beta_gk f_g,
    f_g = (2 phi + ||Omega||) lambda_g + 2 sqrt(lambda_g W_g) sum_c tau_c max_q ||z_q||,

and, divided by t_k, the bound delta_k on the relative correction. lambda_g is the smaller of
tr H_g = sum_{i in g} w_i x_i' B^-1 x_i and, for a design with few distinct rows X_p (weights
C_gp per cluster and row, G_pq = X_p' B^-1 X_q), the Gershgorin bound
max_p sum_q sqrt(C_gp C_gq) |G_pq| on the same eigenvalues; for a two-column design with few rows (a
line, as the trial-position slopes) the largest eigenvalue itself, that of B^-1 M_g with
M_g = sum_p C_gp X_p X_p': (tr + sqrt(tr^2 - 4 det)) / 2. For the cells, and for designs with
many distinct rows, sum_g beta_gk f_g <= max_g f_g (B^-1)_kk, with lambda_g <= W_g max_i x_i' B^-1 x_i
for a cell.

theta here solves the moment equations of :func:`analysis.crossed.working_components` without
the projection M (E[e'Ce] ~ tr(C S); the projection changes them by terms of the same leverage
order, checked against the exact solution in the tests):

    e'e = phi sum w + (tau_r + tau_i) sum w^2,
    sum_r s_r^2 - e'e = tau_r (sum_r W_r^2 - sum w^2) + tau_i (sum_c W_c^2 - sum w^2),
    sum_j s_j^2 - e'e = tau_r (sum_c W_c^2 - sum w^2) + tau_i (sum_j W_j^2 - sum w^2).

Rule (:func:`negligible`): when delta_k <= ``FAST_TOLERANCE`` and the screening df
(:func:`analysis.crossed_df.independence_df`) is at least ``LARGE_DF`` for every coefficient,
the corrected variance differs from V0_kk by at most delta_k t_k (the shortfall added) or by the
factor 1 - delta_k / (1 + delta_k) at most (an excess removed), and the Satterthwaite df is the
screening df, so :func:`analysis.crossed.two_way` reports V0 and the screening df. Many small
clusters (a million judgments from 25,000 raters and 12,500 items: delta_k ~ 0.01) qualify;
40 raters x 40 items (delta_k > 1) never do.
"""

from __future__ import annotations

import numpy as np

from analysis.crossed_df import LARGE_DF
from analysis.crossed_sums import Crossed, singletons, sums
from analysis.nonnegative import nnls

FAST_TOLERANCE = 0.02  # largest relative correction of a variance (1% on a standard error) left out


def rough_components(cd: Crossed, resid: np.ndarray) -> np.ndarray:
    """(phi, tau_rater, tau_item) >= 0 from the moment equations without the projection (module docstring)."""
    lhs = cd.cached("moment_matrix", lambda: _moment_matrix(cd))
    ss = float(resid @ resid)
    rhs = np.array([ss, np.sum(sums(cd, "rater", resid) ** 2) - ss, np.sum(sums(cd, "item", resid) ** 2) - ss])
    theta: np.ndarray = nnls(lhs, rhs)
    return theta


def _moment_matrix(cd: Crossed) -> np.ndarray:
    """The left-hand side of the moment equations (module docstring), from the weights only."""
    w = cd.weight
    if cd.pattern is None:
        total, squares = float(w.sum()), float(w @ w)
    else:
        total, squares = float(cd.weight_sums(1).sum()), float(cd.weight_sums(2).sum())
    pairs = {kind: 0.0 if singletons(cd, kind) else float(np.sum(cluster_weights(cd, kind) ** 2)) - squares
             for kind in ("rater", "item", "cell")}
    return np.array([[total, squares, squares], [0.0, pairs["rater"], pairs["cell"]],
                     [0.0, pairs["cell"], pairs["item"]]])


def cluster_weights(cd: Crossed, kind: str) -> np.ndarray:
    """W_g = sum_{i in g} w_i for the clusters of one kind."""
    if cd.pattern is not None and kind != "cell":
        out: np.ndarray = cd.weight_table(kind).sum(axis=1)
        return out
    return cd.weight if cd.sizes[kind] == len(cd.weight) else sums(cd, kind, cd.weight)


def _largest_share(cd: Crossed, kind: str) -> np.ndarray:
    """lambda_g >= the largest eigenvalue of H_g, per rater or item (module docstring); once per weight."""
    return cd.cached(f"share.{kind}", lambda: _share(cd, kind))


def _share(cd: Crossed, kind: str) -> np.ndarray:
    if cd.pattern is None:
        return sums(cd, kind, cd.weight * np.einsum("ij,jk,ik->i", cd.x, cd.bread, cd.x))
    table = cd.weight_table(kind)
    if cd.rows.shape[1] == 2:  # a line: the largest eigenvalue itself, (tr + sqrt(tr^2 - 4 det)) / 2 of B^-1 M_g
        a, b = cd.rows[:, 0], cd.rows[:, 1]
        m = table @ np.column_stack([a * a, a * b, b * b])  # M_g = sum_p C_gp X_p X_p': entries 11, 12, 22
        inv = cd.bread
        trace = inv[0, 0] * m[:, 0] + 2.0 * inv[0, 1] * m[:, 1] + inv[1, 1] * m[:, 2]
        det = float(np.linalg.det(inv)) * (m[:, 0] * m[:, 2] - m[:, 1] ** 2)
        line: np.ndarray = 0.5 * (trace + np.sqrt(np.maximum(trace**2 - 4.0 * det, 0.0)))
        return line * (1.0 + 1e-6)  # a margin over rounding (the rule's tolerance is 0.02)
    gram = cd.rows @ cd.bread @ cd.rows.T
    root = np.sqrt(table)
    out: np.ndarray = np.minimum(table @ np.diag(gram), np.max(root * (root @ np.abs(gram)), axis=1))
    return out


def _cell_term(cd: Crossed, phi: float, spread: float, reach: float) -> float:
    """max over cells of f_g, with lambda_g <= tr H_g <= W_g max_i x_i' B^-1 x_i."""
    rows = cd.x if cd.pattern is None else cd.rows
    if singletons(cd, "cell") and cd.pattern_weight is not None:  # the cells are the judgments: max_p w_p
        weight = float(np.max(cd.pattern_weight[cd.count_table("pattern")[0] > 0], initial=0.0))
    else:
        weight = float(np.max(cluster_weights(cd, "cell"), initial=0.0))
    share = weight * float(np.max(np.einsum("ij,jk,ik->i", rows, cd.bread, rows), initial=0.0))
    return (2.0 * phi + spread) * share + 2.0 * float(np.sqrt(share * weight)) * reach


def correction_bound(cd: Crossed, theta: np.ndarray, m: dict[str, np.ndarray]) -> np.ndarray:
    """delta_k >= |t_k - E[V0_kk]| / t_k, per coefficient (module docstring); inf where t_k <= 0."""
    phi, tau_r, tau_i = theta
    outer = phi * cd.info + tau_r * m["rater"].T @ m["rater"] + tau_i * m["item"].T @ m["item"]
    spread = float(np.max(np.linalg.eigvals(cd.bread @ outer).real))  # ||Omega||
    reach = sum(tau * np.sqrt(np.max(np.sum((m[c] @ cd.bread) * m[c], axis=1), initial=0.0))
                for tau, c in ((tau_r, "rater"), (tau_i, "item")))
    total = _cell_term(cd, phi, spread, reach) * np.diag(cd.bread)
    for kind in ("rater", "item"):
        share = _largest_share(cd, kind)
        f_g = (2.0 * phi + spread) * share + 2.0 * np.sqrt(share * cluster_weights(cd, kind)) * reach
        if cd.pattern is None:
            total += np.max(f_g, initial=0.0) * np.diag(cd.bread)
        else:  # sum_g f_g beta_gk, beta_gk = sum_p C_gp (X_p' B^-1 e_k)^2
            total += f_g @ cd.weight_table(kind) @ (cd.rows @ cd.bread) ** 2
    truth = np.stack([np.diag(cd.bread)] + [np.sum((m[c] @ cd.bread) ** 2, axis=0) for c in ("rater", "item")], 1)
    t_k = truth @ theta
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.where(t_k > 0, total / np.where(t_k > 0, t_k, 1.0), np.inf)
    return out


def negligible(delta: np.ndarray, screening_df: np.ndarray) -> bool:
    """The fast-path rule: every delta_k <= FAST_TOLERANCE and every screening df >= LARGE_DF."""
    return bool(np.all(delta <= FAST_TOLERANCE) and np.all(screening_df >= LARGE_DF))
