"""Two-way (rater x item) cluster-robust covariance, bias-corrected, with Satterthwaite degrees of freedom.

For a fitted GLM with design X (n x p), working weights w (logit: mu (1 - mu); linear: 1),
information B = X'WX and residuals e = o - mu, the two-way sandwich (Cameron, Gelbach
and Miller 2011) is

    V0 = B^-1 (M_rater + M_item - M_cell) B^-1,  M_h = sum_{clusters g of kind h} s_g s_g',
    s_g = sum_{i in g} x_i e_i,

"cell" being the (rater, item) intersection. For a coefficient k, V0_kk = e' A e with
a = X B^-1 e_k and A = D(a) (Z_r Z_r' + Z_i Z_i' - Z_c Z_c') D(a) (Z_h: cluster indicators).

Working model: crossed random intercepts, Cov(y) = S = phi W + tau_r D(w) Z_r Z_r' D(w) +
tau_i D(w) Z_i Z_i' D(w), y the errors; the residuals are e = M y, M = I - W X B^-1 X'.
Under S the coefficient's variance is t_k = a' S a = e_k' B^-1 X'SX B^-1 e_k, while
E[V0_kk] = tr(A M S M'). The two differ: the fit absorbs the rater and item effects that
are constant within a condition x ai_correct group from the rater and item sums but not
from the cell sums (so V0 is too small for within-rater, within-item contrasts such as
the interaction), and few clusters shrink the sums (V0 too small for terms informed by
few items). The reported variance removes that difference, so that E[V_kk] = t_k under
the working model:

    V_kk = V0_kk + (t_k - E[V0_kk])      when E[V0_kk] <= t_k (the usual case: the shortfall is added),
    V_kk = c_k V0_kk, c_k = t_k / E[V0_kk] when E[V0_kk] > t_k (an excess is removed in proportion),

(the idea of Bell and McCaffrey's CR2 correction, one coefficient at a time). As a
matrix, V = D(c)^1/2 V0 D(c)^1/2 + D(max(t - E[V0], 0)) with c_k = 1 in the first case,
then negative eigenvalues set to 0.

Degrees of freedom: V_kk ~ t_k chi2_df / df (Satterthwaite), treating the added shortfall
as known: with S~ = M S M' and Var(V0_kk) = 2 tr(A S~ A S~) (Gaussian errors),

    df_k = t_k^2 / (c_k^2 tr(A S~ A S~))

(Bell and McCaffrey 2002; Imbens and Kolesar 2016 estimate the working correlation from
the data, as done here). (phi, tau_r, tau_i) >= 0 are method-of-moments estimates: the
sums e'e, sum_r (sum_{i in r} e_i)^2 - e'e and sum_j (sum_{i in j} e_i)^2 - e'e are set
equal to their expectations under S, E[e'Ce] = tr(C M S M'), linear in the parameters
(non-negative least squares). Every trace is computed from cluster sums (O(n p) per
coefficient) except tr(A S_r A S_r) and tr(A S_i A S_i), which need the Gram matrix of the
rater x item table of a w; when that is too large (``GRAM_LIMIT``, thousands of raters
and items) those two second-order terms are left out. A coefficient whose screening df
(:func:`independence_df`) is above ``LARGE_DF`` keeps it, the t quantile then hardly
depending on df, unless the added shortfall is over a third of t_k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import nnls

KINDS = ("rater", "item", "cell")
SIGN = {"rater": 1.0, "item": 1.0, "cell": -1.0}
COMPONENTS = ("phi", "rater", "item")  # the working model's variance parameters, in order
GRAM_LIMIT = 4_000_000  # most multiplications allowed for the Gram matrix of the exact second-order terms
LARGE_DF = 300.0  # above this the 97.5% t quantile is within 0.5% of the normal one


@dataclass(frozen=True)
class Crossed:
    """A design with its rater, item and cell (rater x item) clusterings."""

    x: np.ndarray
    weight: np.ndarray
    info: np.ndarray
    bread: np.ndarray
    codes: dict[str, np.ndarray]
    sizes: dict[str, int]
    cell_rater: np.ndarray  # rater code of each cell
    cell_item: np.ndarray  # item code of each cell
    indicators: dict[str, sparse.csr_matrix]  # G x n cluster membership, for sums of matrix rows


def crossed_design(x: np.ndarray, weight: np.ndarray, rater: np.ndarray, item: np.ndarray) -> Crossed:
    """Cluster codes of a design; cells are the distinct (rater, item) pairs."""
    r = pd.factorize(rater)[0].astype(np.int64)
    j = pd.factorize(item)[0].astype(np.int64)
    n_items = int(j.max()) + 1 if len(j) else 0
    cell, cell_keys = pd.factorize(r * n_items + j)
    keys = np.asarray(cell_keys, dtype=np.int64)
    info = x.T @ (x * weight[:, None])
    codes = {"rater": r, "item": j, "cell": cell.astype(np.int64), "obs": np.arange(len(r))}
    sizes = {kind: int(c.max()) + 1 if len(c) else 0 for kind, c in codes.items()}
    ones, obs = np.ones(len(r)), np.arange(len(r))
    indicators = {kind: sparse.csr_matrix((ones, (codes[kind], obs)), shape=(sizes[kind], len(r))) for kind in KINDS}
    return Crossed(x, weight, info, np.linalg.inv(info), codes, sizes, keys // max(n_items, 1),
                   keys % max(n_items, 1), indicators)


def cluster_sums(cd: Crossed, kind: str, v: np.ndarray) -> np.ndarray:
    """Sums of v (a vector, or the rows of a matrix) over the clusters of one kind."""
    if kind == "obs":
        return v
    if v.ndim == 1:
        return np.bincount(cd.codes[kind], v, minlength=cd.sizes[kind])
    return np.asarray(cd.indicators[kind] @ v)


def _meet(kind: str, other: str) -> str:
    """The clustering whose clusters are the intersections of one cluster of each kind."""
    if kind == other:
        return kind
    return "obs" if "obs" in (kind, other) else "cell"


def _owner(cd: Crossed, meet: str, kind: str) -> np.ndarray:
    """For each cluster of the ``meet`` clustering, the code of the cluster of ``kind`` holding it."""
    if meet == kind:
        return np.arange(cd.sizes[kind])
    if meet == "obs":
        return cd.codes[kind]
    return cd.cell_rater if kind == "rater" else cd.cell_item


def sandwich(cd: Crossed, resid: np.ndarray) -> np.ndarray:
    """V0 = B^-1 (M_rater + M_item - M_cell) B^-1, M_h = sum_g s_g s_g', s_g = sum_{i in g} x_i e_i."""
    meat = np.zeros_like(cd.info)
    scores = cd.x * resid[:, None]
    for kind in KINDS:
        s_g = cluster_sums(cd, kind, scores)
        meat += SIGN[kind] * (s_g.T @ s_g)
    out: np.ndarray = cd.bread @ meat @ cd.bread
    return out


def _sigma(cd: Crossed, component: str, z: np.ndarray) -> np.ndarray:
    """S_c z for the working-model pieces: W (phi), D(w) Z Z' D(w) for raters or items."""
    w = cd.weight if z.ndim == 1 else cd.weight[:, None]
    out: np.ndarray = w * z if component == "phi" else w * cluster_sums(cd, component, w * z)[cd.codes[component]]
    return out


def _expected_sumsq(cd: Crossed, alpha: np.ndarray, kind: str) -> np.ndarray:
    """E[sum_g (sum_{i in g} alpha_i e_i)^2] under S = each working-model piece, e = M y.

    With c_g = alpha 1_g - X B^-1 F_g, F_g = sum_{i in g} alpha_i w_i x_i: E = c_g' S c_g summed.
    """
    x, w = cd.x, cd.weight
    f_g = cluster_sums(cd, kind, (alpha * w)[:, None] * x)
    g_g = f_g @ cd.bread
    out = [float(np.sum(alpha**2 * w) - np.sum(g_g * f_g))]
    for comp in COMPONENTS[1:]:
        m_c = cluster_sums(cd, comp, w[:, None] * x)
        meet = _meet(kind, comp)
        beta = cluster_sums(cd, meet, alpha * w)
        owner = _owner(cd, meet, kind)
        cross = cluster_sums_by(owner, beta[:, None] * m_c[_owner(cd, meet, comp)], cd.sizes[kind])
        out.append(float(np.sum(beta**2) - 2.0 * np.sum(g_g * cross) + np.sum((g_g @ (m_c.T @ m_c)) * g_g)))
    return np.array(out)


def cluster_sums_by(codes: np.ndarray, v: np.ndarray, size: int) -> np.ndarray:
    """Column-wise bincount of a matrix."""
    return np.stack([np.bincount(codes, v[:, b], minlength=size) for b in range(v.shape[1])], axis=1)


def working_components(cd: Crossed, resid: np.ndarray) -> np.ndarray:
    """(phi, tau_rater, tau_item) >= 0 by the method of moments (module docstring)."""
    ones = np.ones(len(resid))
    e_obs, e_r, e_i = (_expected_sumsq(cd, ones, kind) for kind in ("obs", "rater", "item"))
    ss = float(resid @ resid)
    stats_ = np.array([ss, np.sum(cluster_sums(cd, "rater", resid) ** 2) - ss,
                       np.sum(cluster_sums(cd, "item", resid) ** 2) - ss])
    theta: np.ndarray = nnls(np.array([e_obs, e_r - e_obs, e_i - e_obs]), stats_)[0]
    return theta


def _apply(cd: Crossed, a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A z = D(a) (Z_r Z_r' + Z_i Z_i' - Z_c Z_c') D(a) z for an n x m matrix z."""
    az = a[:, None] * z
    out = np.zeros_like(z)
    for kind in KINDS:
        out += SIGN[kind] * cluster_sums(cd, kind, az)[cd.codes[kind]]
    result: np.ndarray = a[:, None] * out
    return result


def _gram_norm(cd: Crossed, values: np.ndarray) -> float | None:
    """||N N'||_F^2 for the rater x item table N of per-cell values; None when too large to form."""
    rows = np.bincount(cd.cell_rater, minlength=cd.sizes["rater"]).astype(float)
    cols = np.bincount(cd.cell_item, minlength=cd.sizes["item"]).astype(float)
    table = sparse.csr_matrix((values, (cd.cell_rater, cd.cell_item)), shape=(cd.sizes["rater"], cd.sizes["item"]))
    if min(float(rows @ rows), float(cols @ cols)) > GRAM_LIMIT:
        return None
    gram = table.T @ table if rows @ rows <= cols @ cols else table @ table.T
    return float(np.sum(gram.data**2))


def _plain_squares(cd: Crossed, a: np.ndarray) -> dict[str, float | None]:
    """tr(A S_a A S_b) for the working-model pieces, without the projection M.

    With q = a^2 w, beta = sums of a w over raters (b_r), items (b_j), cells (b_c),
    Q the sums of q and P_j = sum_{c in j} b_c^2, P_r likewise:
    (phi, phi) = sum Q_r^2 + sum Q_j^2 - sum Q_c^2; (phi, rater) = sum_i q_i (b_r(i)^2 + P_j(i) - b_c(i)^2);
    (rater, item) = sum_c b_c^2 (b_r + b_j - b_c)^2; (rater, rater) = ||N N'||^2 - sum P_r^2 + sum b_r^4
    with N the rater x item table of b_c (None when too large to form).
    """
    w, c, r, j = cd.weight, cd.codes["cell"], cd.codes["rater"], cd.codes["item"]
    q = a * a * w
    sq: dict[str, float | None] = {
        "phi.phi": float(sum(SIGN[kind] * np.sum(cluster_sums(cd, kind, q) ** 2) for kind in KINDS))}
    b_r, b_j, b_c = (cluster_sums(cd, kind, a * w) for kind in KINDS)
    p_r = np.bincount(cd.cell_rater, b_c**2, minlength=cd.sizes["rater"])
    p_j = np.bincount(cd.cell_item, b_c**2, minlength=cd.sizes["item"])
    sq["phi.rater"] = float(np.sum(q * (b_r[r] ** 2 + p_j[j] - b_c[c] ** 2)))
    sq["phi.item"] = float(np.sum(q * (b_j[j] ** 2 + p_r[r] - b_c[c] ** 2)))
    sq["rater.item"] = float(np.sum(b_c**2 * (b_r[cd.cell_rater] + b_j[cd.cell_item] - b_c) ** 2))
    gram = _gram_norm(cd, b_c)
    sq["rater.rater"] = None if gram is None else gram - float(np.sum(p_r**2) - np.sum(b_r**4))
    sq["item.item"] = None if gram is None else gram - float(np.sum(p_j**2) - np.sum(b_j**4))
    return sq


def _low_rank(cd: Crossed) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """M S_a M' = S_a + G_a C_a G_a' with G_a = [W X, S_a X], C_a = [[B^-1 O B^-1, -B^-1], [-B^-1, 0]], O = X' S_a X."""
    p = cd.x.shape[1]
    out = {}
    for comp in COMPONENTS:
        s_x = _sigma(cd, comp, cd.x)
        omega = cd.x.T @ s_x
        c_mat = np.block([[cd.bread @ omega @ cd.bread, -cd.bread], [-cd.bread, np.zeros((p, p))]])
        out[comp] = (np.hstack([cd.weight[:, None] * cd.x, s_x]), c_mat)
    return out


def _second_moment(cd: Crossed, a: np.ndarray, theta: np.ndarray,
                   low: dict[str, tuple[np.ndarray, np.ndarray]]) -> float:
    """tr(A S~ A S~), S~ = M S M' = sum_c theta_c (S_c + G_c C_c G_c'), expanded block by block."""
    sq = _plain_squares(cd, a)
    a_g = {comp: _apply(cd, a, low[comp][0]) for comp in COMPONENTS}
    weights = dict(zip(COMPONENTS, theta, strict=True))
    total = 0.0
    for i, one in enumerate(COMPONENTS):
        for two in COMPONENTS[i:]:
            plain = sq[f"{one}.{two}"]
            if plain is None:  # second-order term too large to form: left out (module docstring)
                continue
            (g_1, c_1), (g_2, c_2) = low[one], low[two]
            term = (plain + float(np.trace(c_2 @ (a_g[two].T @ _sigma(cd, one, a_g[two]))))
                    + float(np.trace(c_1 @ (a_g[one].T @ _sigma(cd, two, a_g[one]))))
                    + float(np.trace(c_1 @ (g_1.T @ a_g[two]) @ c_2 @ (g_2.T @ a_g[one]))))
            total += (1.0 if one == two else 2.0) * weights[one] * weights[two] * term
    return total


def independence_df(cd: Crossed) -> np.ndarray:
    """Screening df (sum_i q_i)^2 / (sum_r Q_r^2 + sum_j Q_j^2 - sum_c Q_c^2), q_i = w_i (x_i' B^-1 e_k)^2.

    The Satterthwaite df under independent judgments, ignoring the projection M (what an
    earlier version reported); only used to skip the full computation where df is large.
    """
    q = cd.weight[:, None] * (cd.x @ cd.bread) ** 2
    square_sums = np.zeros(cd.x.shape[1])
    for kind in KINDS:
        square_sums += SIGN[kind] * np.sum(cluster_sums(cd, kind, q) ** 2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.nan_to_num(q.sum(axis=0) ** 2 / square_sums, nan=1.0, posinf=1.0)
    return out


def _per_cluster(cd: Crossed, kind: str, u: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """B^-1 X_g' U_g for the clusters g of ``kind`` (those holding ``rows``, or all): a G x p x p array."""
    if rows is None:
        ind, x = cd.indicators[kind], cd.x
    else:
        codes = pd.factorize(cd.codes[kind][rows])[0]
        ind = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                                shape=(int(codes.max()) + 1, len(codes)))
        x, u = cd.x[rows], u[rows]
    blocks = np.stack([np.asarray(ind @ (x[:, a : a + 1] * u)) for a in range(x.shape[1])], axis=1)
    out: np.ndarray = np.einsum("kb,gbc->gkc", cd.bread, blocks)
    return out


def expected_sandwich(cd: Crossed) -> np.ndarray:
    """E[V0_kk] under each working-model piece (3 x p): diag of B^-1 E[meat] B^-1 with

    E[meat] = O_c - sum_h sign_h sum_g (P_g B^-1 Q_g' + Q_g B^-1 P_g' - P_g B^-1 O_c B^-1 P_g'),
    P_g = X_g' W_g X_g, Q_g = X_g' (S_c X)_g, O_c = X' S_c X (what the residual maker takes
    from each cluster's sum); a cluster of one judgment i gives a_ik^2 (2 u_i'B^-1 y_i - u_i'B^-1 O_c B^-1 u_i).
    """
    u, weights = cd.weight[:, None] * cd.x, cd.x @ cd.bread
    ys = {comp: u if comp == "phi" else _sigma(cd, comp, cd.x) for comp in COMPONENTS}
    mids = {comp: cd.bread @ (cd.x.T @ ys[comp]) @ cd.bread for comp in COMPONENTS}
    out = np.array([np.diag(mids[comp]) for comp in COMPONENTS])
    for kind in KINDS:
        counts = np.bincount(cd.codes[kind], minlength=cd.sizes[kind])[cd.codes[kind]]
        one, many = counts == 1, np.flatnonzero(counts > 1)
        rows = None if len(many) == len(counts) else many
        left = _per_cluster(cd, kind, u, rows) if len(many) else None
        for c, comp in enumerate(COMPONENTS):
            cross = (2.0 * np.einsum("ij,jk,ik->i", u[one], cd.bread, ys[comp][one])
                     - np.einsum("ij,jk,ik->i", u[one], mids[comp], u[one]))
            part = (weights[one] ** 2).T @ cross
            if left is not None:
                right = left if comp == "phi" else _per_cluster(cd, kind, ys[comp], rows)
                part += (2.0 * np.einsum("gkb,bc,gkc->k", left, cd.bread, right)
                         - np.einsum("gkb,bc,gkc->k", left, mids[comp], left))
            out[c] -= SIGN[kind] * part
    return out


def model_variance(cd: Crossed) -> np.ndarray:
    """t_kc = (B^-1 X' S_c X B^-1)_kk, the coefficients' variances under each piece (p x 3)."""
    return np.stack([np.diag(cd.bread @ (cd.x.T @ _sigma(cd, comp, cd.x)) @ cd.bread) for comp in COMPONENTS], axis=1)


def corrections(cd: Crossed, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per coefficient: t_k, E[V0_kk] under the working model, and the shrink factor min(1, t_k / E[V0_kk])."""
    truth: np.ndarray = model_variance(cd) @ theta
    means: np.ndarray = theta @ expected_sandwich(cd)
    shrink: np.ndarray = np.where(means > truth, truth / np.where(means > 0, means, 1.0), 1.0)
    return truth, means, np.clip(shrink, 0.0, 1.0)


def satterthwaite_df(cd: Crossed, theta: np.ndarray, truth: np.ndarray, means: np.ndarray,
                     shrink: np.ndarray) -> np.ndarray:
    """df_k = t_k^2 / (c_k^2 tr(A S~ A S~)), c_k the shrink factor, at least 1 (module docstring).

    Where the screening df is above ``LARGE_DF`` it is kept, unless the added shortfall
    t_k - E[V0_kk] exceeds a third of t_k (V0 then carries little of the variance)."""
    dof: np.ndarray = np.maximum(independence_df(cd), 1.0)
    todo = [k for k in range(len(dof)) if dof[k] < LARGE_DF or truth[k] - means[k] > truth[k] / 3.0]
    low = _low_rank(cd) if todo else {}
    weights = cd.x @ cd.bread
    for k in todo:
        spread = shrink[k] ** 2 * _second_moment(cd, weights[:, k], theta, low)
        dof[k] = max(truth[k] ** 2 / spread, 1.0) if truth[k] > 0 and spread > 0 else 1.0
    return dof


def two_way(x: np.ndarray, resid: np.ndarray, weight: np.ndarray, rater: np.ndarray,
            item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corrected two-way covariance D(c)^1/2 V0 D(c)^1/2 + D(max(t - E[V0], 0)), negative eigenvalues
    set to 0, and per-coefficient df."""
    cd = crossed_design(x, weight, rater, item)
    theta = working_components(cd, resid)
    truth, means, shrink = corrections(cd, theta)
    scale = np.sqrt(shrink)
    cov = sandwich(cd, resid) * np.outer(scale, scale) + np.diag(np.maximum(truth - means, 0.0))
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2.0)
    return (vecs * np.clip(vals, 0.0, None)) @ vecs.T, satterthwaite_df(cd, theta, truth, means, shrink)
