"""Two-way (rater x item) cluster-robust covariance and its Satterthwaite degrees of freedom.

For a fitted GLM with design X (n x p), working weights w (logit: mu (1 - mu); linear: 1),
information B = X'WX and residuals e = o - mu, the covariance is (Cameron, Gelbach and
Miller 2011) V = V_rater + V_item - V_cell, each part in the cluster-jackknife (CR3) form

    V_h = (G_h - 1)/G_h * sum_{clusters g of kind h} d_g d_g',  d_g = (B - B_g)^-1 s_g,

with B_g and s_g = sum_{i in g} x_i e_i the information and score of cluster g alone.
Written per judgment, d_g = sum_{i in g} alpha_i^h e_i with the weights
alpha_i^h = sqrt((G_h - 1)/G_h) (B - B_g(i))^-1 x_i, so for a coefficient k,
V_kk = e' A e with A = sum_h sign_h D(alpha^h) Z_h Z_h' D(alpha^h) (sign +1 for rater and
item, -1 for cell; Z_h the cluster indicator matrix).

Degrees of freedom (one per coefficient): V_kk is a quadratic form in the residuals, and
the residuals are e = M y with M = I - W X B^-1 X' (the fit removes p directions from the
errors y). Under a working model of crossed random intercepts,

    Cov(y) = S = phi W + tau_r D(w) Z_r Z_r' D(w) + tau_i D(w) Z_i Z_i' D(w),

the Satterthwaite approximation V_kk ~ E[V_kk] chi2_df / df gives

    df_k = tr(A S~)^2 / tr(A S~ A S~),  S~ = M S M'

(Bell and McCaffrey 2002; Imbens and Kolesar 2016 estimate the working correlation
from the data as done here). (phi, tau_r, tau_i) >= 0 are method-of-moments estimates:
the sums e'e, sum_r (sum_{i in r} e_i)^2 - e'e and sum_j (sum_{i in j} e_i)^2 - e'e are
set equal to their expectations under S, E[e'Ce] = tr(C M S M'), which are linear in
(phi, tau_r, tau_i) (non-negative least squares). Every trace is computed from cluster
sums (O(n p^2) per coefficient) except tr(A S_r A S_r) and tr(A S_i A S_i), which need
the Gram matrix of the rater x item table of weights; when that table is too large
(``GRAM_LIMIT``) those two second-order terms are left out, which can only raise df and
happens only when there are thousands of raters and of items, where df is large anyway.
Ignoring the projection M or the random effects, as an earlier version did, gave the
interaction terms too many degrees of freedom (docs/benchmarks.md#model-calibration).
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


def jackknife_weights(cd: Crossed, kind: str) -> np.ndarray:
    """n x p weights alpha_i = sqrt((G-1)/G) (B - B_g(i))^-1 x_i for the clusters of one kind."""
    x, w, codes, size = cd.x, cd.weight, cd.codes[kind], cd.sizes[kind]
    p = x.shape[1]
    scale = np.sqrt((size - 1) / size) if size > 1 else 0.0
    if size == len(codes):  # one judgment per cluster: Sherman-Morrison
        lev = np.einsum("ij,jk,ik->i", x, cd.bread, x) * w
        out: np.ndarray = (x @ cd.bread) / (1.0 - np.clip(lev, None, 1.0 - 1e-12))[:, None]
        return out * scale
    b_g = np.zeros((size, p, p))
    for a in range(p):
        for b in range(a, p):
            b_g[:, a, b] = b_g[:, b, a] = np.bincount(codes, w * x[:, a] * x[:, b], minlength=size)
    try:
        inv = np.linalg.inv(cd.info[None, :, :] - b_g)
    except np.linalg.LinAlgError:  # leaving one cluster out leaves a term unidentified: CR1-type weights
        plain: np.ndarray = (x @ cd.bread) * scale
        return plain
    alpha: np.ndarray = np.zeros_like(x)
    for b in range(p):
        alpha += inv[codes, :, b] * x[:, b : b + 1]
    return alpha * scale


def covariance(cd: Crossed, resid: np.ndarray, alphas: dict[str, np.ndarray]) -> np.ndarray:
    """V = V_rater + V_item - V_cell with V_h = sum_g d_g d_g', d_g = sum_{i in g} alpha_i^h e_i."""
    cov = np.zeros_like(cd.info)
    for kind in KINDS:
        d_g = cluster_sums(cd, kind, alphas[kind] * resid[:, None])
        cov += SIGN[kind] * (d_g.T @ d_g)
    return cov


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


def _apply(cd: Crossed, al: dict[str, np.ndarray], z: np.ndarray) -> np.ndarray:
    """A z for one coefficient (``al``: its weights alpha^h per kind), z an n x m matrix."""
    out = np.zeros_like(z)
    for kind in KINDS:
        a = al[kind][:, None]
        out += SIGN[kind] * a * cluster_sums(cd, kind, a * z)[cd.codes[kind]]
    return out


def _gram_norm(cd: Crossed, values: np.ndarray) -> float | None:
    """||N N'||_F^2 for the rater x item table N of per-cell values; None when too large to form."""
    rows = np.bincount(cd.cell_rater, minlength=cd.sizes["rater"]).astype(float)
    cols = np.bincount(cd.cell_item, minlength=cd.sizes["item"]).astype(float)
    table = sparse.csr_matrix((values, (cd.cell_rater, cd.cell_item)), shape=(cd.sizes["rater"], cd.sizes["item"]))
    if min(float(rows @ rows), float(cols @ cols)) > GRAM_LIMIT:
        return None
    gram = table.T @ table if rows @ rows <= cols @ cols else table @ table.T
    return float(np.sum(gram.data**2))


def _plain_traces(cd: Crossed, al: dict[str, np.ndarray]) -> tuple[dict[str, float], dict[str, float | None]]:
    """tr(A S_a) and tr(A S_a A S_b) without the projection M (formulas in docs/metrics.md)."""
    w, c, r, j = cd.weight, cd.codes["cell"], cd.codes["rater"], cd.codes["item"]
    beta = {(h, m): cluster_sums(cd, m, al[h] * w) for h in KINDS for m in KINDS}
    tr = {"phi": float(sum(SIGN[h] * np.sum(al[h] ** 2 * w) for h in KINDS))}
    for comp in COMPONENTS[1:]:
        tr[comp] = float(sum(SIGN[h] * np.sum(beta[h, _meet(h, comp)] ** 2) for h in KINDS))
    sq: dict[str, float | None] = {"phi.phi": float(sum(
        SIGN[h] * SIGN[g] * np.sum(cluster_sums(cd, _meet(h, g), al[h] * al[g] * w) ** 2) for h in KINDS for g in KINDS))}
    b_rc, b_jc, b_cc = beta["rater", "cell"], beta["item", "cell"], beta["cell", "cell"]
    p_item = np.bincount(cd.cell_item, b_jc**2, minlength=cd.sizes["item"])
    p_rater = np.bincount(cd.cell_rater, b_rc**2, minlength=cd.sizes["rater"])
    own_cell = al["cell"] * b_cc[c]
    e_r = al["rater"] * beta["rater", "rater"][r] + al["item"] * b_jc[c] - own_cell
    sq["phi.rater"] = float(np.sum(w * (e_r**2 + al["item"] ** 2 * (p_item[j] - b_jc[c] ** 2))))
    e_i = al["item"] * beta["item", "item"][j] + al["rater"] * b_rc[c] - own_cell
    sq["phi.item"] = float(np.sum(w * (e_i**2 + al["rater"] ** 2 * (p_rater[r] - b_rc[c] ** 2))))
    sq["rater.item"] = float(np.sum((beta["rater", "rater"][cd.cell_rater] * b_rc
                                     + b_jc * beta["item", "item"][cd.cell_item] - b_cc**2) ** 2))
    for comp, own, other in (("rater", cd.cell_rater, b_jc), ("item", cd.cell_item, b_rc)):
        gram = _gram_norm(cd, other)
        off = np.bincount(own, other**2, minlength=cd.sizes[comp])
        own_sq = np.bincount(own, b_cc**2, minlength=cd.sizes[comp])
        sq[f"{comp}.{comp}"] = None if gram is None else float(
            gram - np.sum(off**2) + np.sum((beta[comp, comp] ** 2 - own_sq + off) ** 2))
    return tr, sq


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


def _moments(cd: Crossed, al: dict[str, np.ndarray], theta: np.ndarray,
             low: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """E[V_kk] = tr(A S~) and tr(A S~ A S~) for one coefficient, S~ = M S M' (module docstring)."""
    tr, sq = _plain_traces(cd, al)
    a_g = {comp: _apply(cd, al, low[comp][0]) for comp in COMPONENTS}
    weights = dict(zip(COMPONENTS, theta, strict=True))
    mean = sum(weights[a] * (tr[a] + float(np.trace(low[a][1] @ (low[a][0].T @ a_g[a])))) for a in COMPONENTS)
    var = 0.0
    for i, a in enumerate(COMPONENTS):
        for b in COMPONENTS[i:]:
            plain = sq[f"{a}.{b}"]
            if plain is None:  # second-order term too large to form: left out (module docstring)
                continue
            (g_a, c_a), (g_b, c_b) = low[a], low[b]
            term = (plain + float(np.trace(c_b @ (a_g[b].T @ _sigma(cd, a, a_g[b]))))
                    + float(np.trace(c_a @ (a_g[a].T @ _sigma(cd, b, a_g[a]))))
                    + float(np.trace(c_a @ (g_a.T @ a_g[b]) @ c_b @ (g_b.T @ a_g[a]))))
            var += (1.0 if a == b else 2.0) * weights[a] * weights[b] * term
    return float(mean), var


def independence_df(cd: Crossed) -> np.ndarray:
    """Screening df (sum_i q_i)^2 / (sum_r Q_r^2 + sum_j Q_j^2 - sum_c Q_c^2), q_i = w_i (x_i' B^-1 e_k)^2.

    The Satterthwaite df under independent judgments, ignoring the projection M and the
    jackknife; only used to skip the full computation where df is large anyway.
    """
    q = cd.weight[:, None] * (cd.x @ cd.bread) ** 2
    square_sums = np.zeros(cd.x.shape[1])
    for kind in KINDS:
        square_sums += SIGN[kind] * np.sum(cluster_sums(cd, kind, q) ** 2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.nan_to_num(q.sum(axis=0) ** 2 / square_sums, nan=1.0, posinf=1.0)
    return out


def satterthwaite_df(cd: Crossed, alphas: dict[str, np.ndarray], resid: np.ndarray) -> np.ndarray:
    """Per-coefficient df = tr(A S~)^2 / tr(A S~ A S~), at least 1 (module docstring).

    Coefficients whose screening df (:func:`independence_df`) exceeds ``LARGE_DF`` keep
    that df: there the t quantile hardly depends on it and the full computation is the
    slow part of a fit with a million judgments.
    """
    out: np.ndarray = np.maximum(independence_df(cd), 1.0)
    todo = [k for k in range(cd.x.shape[1]) if out[k] < LARGE_DF]
    theta, low = (working_components(cd, resid), _low_rank(cd)) if todo else (np.zeros(3), {})
    for k in todo:
        mean, var = _moments(cd, {kind: alphas[kind][:, k] for kind in KINDS}, theta, low)
        out[k] = max(mean**2 / var, 1.0) if mean > 0 and var > 0 else 1.0
    return out


def two_way(x: np.ndarray, resid: np.ndarray, weight: np.ndarray, rater: np.ndarray,
            item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-way CR3 covariance (negative eigenvalues set to 0) and per-coefficient Satterthwaite df."""
    cd = crossed_design(x, weight, rater, item)
    alphas = {kind: jackknife_weights(cd, kind) for kind in KINDS}
    cov = covariance(cd, resid, alphas)
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2.0)
    dof = satterthwaite_df(cd, alphas, resid)
    return (vecs * np.clip(vals, 0.0, None)) @ vecs.T, dof
