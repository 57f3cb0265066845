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
(non-negative least squares).

Every expectation is a sum over clusters (by covariate pattern when the design has few
distinct rows, :mod:`analysis.crossed_sums`), e.g. with P_g = X_g' W_g X_g,
Q_g = X_g' (S_c X)_g and O_c = X' S_c X,

    E_c[B V0 B] = O_c - sum_h sign_h sum_g (P_g B^-1 Q_g' + Q_g B^-1 P_g' - P_g B^-1 O_c B^-1 P_g').

The df (:mod:`analysis.crossed_df`) needs tr(A S_r A S_r) and tr(A S_i A S_i), from the Gram
matrix of the rater x item table of a w; when that is too large (``GRAM_LIMIT``,
thousands of raters and items) those two second-order terms are left out. A coefficient
whose screening df (:func:`analysis.crossed_df.independence_df`) is above ``LARGE_DF``
keeps it, the t quantile then hardly depending on df, unless the added shortfall is over
a third of t_k.

Fast path (:mod:`analysis.crossed_fast`): with many small clusters the corrections vanish
(a cluster's share of the information is tiny). A bound delta_k >= |t_k - E[V0_kk]| / t_k from
the clusters' leverage and the working model, and the screening df, are cheap; when every
delta_k <= ``FAST_TOLERANCE`` (0.02) and every screening df >= ``LARGE_DF``, the reported
covariance is V0 (negative eigenvalues set to 0) with the screening df: its variances are
within delta_k of the corrected ones (standard errors within 1%) and the df are the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from analysis import crossed_fast
from analysis import crossed_sums as cs
from analysis.crossed_df import independence_df, satterthwaite_df
from analysis.crossed_sums import COMPONENTS, KINDS, SIGN, Crossed, crossed_design
from analysis.nonnegative import nnls

__all__ = ["Crossed", "corrections", "covariance", "crossed_design", "expected_sandwich", "model_variance",
           "sandwich", "two_way", "working_components"]


def sandwich(cd: Crossed, resid: np.ndarray) -> np.ndarray:
    """V0 = B^-1 (M_rater + M_item - M_cell) B^-1, M_h = sum_g s_g s_g', s_g = sum_{i in g} x_i e_i."""
    meat = sum(SIGN[kind] * cs.outer_sum(cd, kind, resid) for kind in KINDS)
    out: np.ndarray = cd.bread @ meat @ cd.bread
    return out


def _random_effect_sums(cd: Crossed) -> dict[str, np.ndarray]:
    """m_c = sum_{i in c} w_i x_i for every rater and every item (C x p)."""
    return {comp: cs.xsums(cd, comp, cd.weight) for comp in COMPONENTS[1:]}


def _expected_cluster_squares(cd: Crossed, kind: str, m: dict[str, np.ndarray]) -> np.ndarray:
    """E[sum_g (sum_{i in g} e_i)^2], e = M y, under each working-model piece (kind: obs, rater or item).

    With f_g = sum_{i in g} w_i x_i and beta_M = sum_{i in M} w_i over the intersections M of g
    with the raters (items): E_phi = sum w - sum_g f_g' B^-1 f_g and
    E_c = sum_M beta_M^2 - 2 sum_g f_g' B^-1 sum_{M in g} beta_M m_c(M) + sum_g f_g' B^-1 K_c B^-1 f_g, K_c = m_c' m_c.
    """
    w, bread = cd.weight, cd.bread
    f_g = None if kind == "obs" else cs.xsums(cd, kind, w)

    def quad(mat: np.ndarray) -> float:  # sum_g f_g' mat f_g
        return cs.quad_sum(cd, kind, w, mat) if f_g is None else float(np.sum((f_g @ mat) * f_g))

    out = [float(w.sum()) - quad(bread)]
    for comp in COMPONENTS[1:]:
        m_c = m[comp]
        if kind == "obs":  # every judgment its own cluster: beta = w, the cross sum is w_i^2 x_i' B^-1 m_c(i)
            squares, cross = float(w @ w), float((w * w) @ cs.cross_values(cd, comp, m_c, bread))
        elif kind == comp:
            beta = cs.sums(cd, kind, w)
            squares, cross = float(beta @ beta), float(np.sum((f_g @ bread) * (beta[:, None] * m_c)))
        else:  # raters x items: the intersections are the cells
            beta = cs.sums(cd, "cell", w)
            own, other = (cd.cell_rater, cd.cell_item) if kind == "rater" else (cd.cell_item, cd.cell_rater)
            table = sparse.csr_matrix((beta, (own, other)), shape=(cd.sizes[kind], cd.sizes[comp]))
            squares, cross = float(beta @ beta), float(np.sum((f_g @ bread) * np.asarray(table @ m_c)))
        out.append(squares - 2.0 * cross + quad(bread @ (m_c.T @ m_c) @ bread))
    return np.array(out)


def working_components(cd: Crossed, resid: np.ndarray, m: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """(phi, tau_rater, tau_item) >= 0 by the method of moments (module docstring)."""
    m = _random_effect_sums(cd) if m is None else m
    e_obs, e_r, e_i = (_expected_cluster_squares(cd, kind, m) for kind in ("obs", "rater", "item"))
    ss = float(resid @ resid)
    stats_ = np.array([ss, np.sum(cs.sums(cd, "rater", resid) ** 2) - ss,
                       np.sum(cs.sums(cd, "item", resid) ** 2) - ss])
    theta: np.ndarray = nnls(np.array([e_obs, e_r - e_obs, e_i - e_obs]), stats_)
    return theta


def model_variance(cd: Crossed, m: dict[str, np.ndarray]) -> np.ndarray:
    """t_kc = (B^-1 X' S_c X B^-1)_kk, the coefficients' variances under each piece (p x 3)."""
    mids = [cd.bread] + [cd.bread @ (m[comp].T @ m[comp]) @ cd.bread for comp in COMPONENTS[1:]]
    return np.stack([np.diag(mid) for mid in mids], axis=1)


def expected_sandwich(cd: Crossed, m: dict[str, np.ndarray]) -> np.ndarray:
    """E[V0_kk] under each working-model piece (3 x p), module docstring; P_g = X_g' W_g X_g and
    Q_g = X_g' (S_c X)_g with (S_c X)_i = w_i x_i (phi) or w_i m_c(i); a cluster of one judgment i
    gives a_ik^2 (2 u_i' B^-1 y_i - u_i' B^-1 O_c B^-1 u_i) with u_i = w_i x_i, y_i = (S_c X)_i."""
    w, bread = cd.weight, cd.bread
    mids = {"phi": bread} | {comp: bread @ (m[comp].T @ m[comp]) @ bread for comp in COMPONENTS[1:]}
    out = np.array([np.diag(mids[comp]) for comp in COMPONENTS])
    own = {comp: w * w * (2.0 * (cs.row_values(cd, bread) if comp == "phi" else cs.cross_values(
        cd, comp, m[comp], bread)) - cs.row_values(cd, mids[comp])) for comp in COMPONENTS}
    for kind in KINDS:
        counts = np.bincount(cd.codes[kind], minlength=cd.sizes[kind])[cd.codes[kind]]
        single, many = counts == 1, np.flatnonzero(counts > 1)
        left = bread @ cs.blocks(cd, kind, w, many) if len(many) else None
        for c, comp in enumerate(COMPONENTS):
            part = cs.coefficient_sums(cd, np.where(single, own[comp], 0.0))
            if left is not None:  # diag of sum_g (2 L_g B^-1 R_g' - L_g mid L_g'), L = B^-1 P_g, R = B^-1 Q_g
                right = left if comp == "phi" else bread @ cs.blocks(cd, kind, w, many, (comp, m[comp]))
                part = part + np.einsum("gkb,gkb->k", left @ (2.0 * bread), right) - np.einsum(
                    "gkb,gkb->k", left @ mids[comp], left)
            out[c] -= SIGN[kind] * part
    return out


def corrections(cd: Crossed, theta: np.ndarray,
                m: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per coefficient: t_k, E[V0_kk] under the working model, and the shrink factor min(1, t_k / E[V0_kk])."""
    m = _random_effect_sums(cd) if m is None else m
    truth: np.ndarray = model_variance(cd, m) @ theta
    means: np.ndarray = theta @ expected_sandwich(cd, m)
    shrink: np.ndarray = np.where(means > truth, truth / np.where(means > 0, means, 1.0), 1.0)
    return truth, means, np.clip(shrink, 0.0, 1.0)


def two_way(x: np.ndarray, resid: np.ndarray, weight: np.ndarray, rater: np.ndarray | pd.Series,
            item: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Corrected two-way covariance and per-coefficient df of a design (:func:`covariance`)."""
    return covariance(crossed_design(x, weight, np.asarray(rater), np.asarray(item)), resid)


def covariance(cd: Crossed, resid: np.ndarray, fast: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Corrected two-way covariance D(c)^1/2 V0 D(c)^1/2 + D(max(t - E[V0], 0)), negative eigenvalues
    set to 0, and per-coefficient df; V0 and the screening df when the corrections are negligible
    (module docstring; ``fast=False``: always the full computation)."""
    m = _random_effect_sums(cd)
    plain = sandwich(cd, resid)  # first: its sums of resid by (cluster, pattern) serve the moment equations
    if fast:
        screening = np.maximum(independence_df(cd), 1.0)
        delta = crossed_fast.correction_bound(cd, crossed_fast.rough_components(cd, resid), m)
        if crossed_fast.negligible(delta, screening):
            return _clipped(plain), screening
    theta = working_components(cd, resid, m)
    truth, means, shrink = corrections(cd, theta, m)
    scale = np.sqrt(shrink)
    cov = plain * np.outer(scale, scale) + np.diag(np.maximum(truth - means, 0.0))
    return _clipped(cov), satterthwaite_df(cd, theta, truth, means, shrink)


def _clipped(cov: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2.0)
    out: np.ndarray = (vecs * np.clip(vals, 0.0, None)) @ vecs.T
    return out
