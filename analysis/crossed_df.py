"""Satterthwaite degrees of freedom of the corrected two-way covariance (:mod:`analysis.crossed`).

For a coefficient k, V0_kk = e' A e with a = X B^-1 e_k, A = D(a) (Z_r Z_r' + Z_i Z_i' - Z_c Z_c') D(a)
and e = M y. Under the working model S = sum_c theta_c S_c (c = phi, rater, item),
S~ = M S M' = sum_c theta_c (S_c + G_c C_c G_c') with G_c = [W X, S_c X] and
C_c = [[B^-1 O_c B^-1, -B^-1], [-B^-1, 0]], O_c = X' S_c X, so tr(A S~ A S~) expands into
traces without M, tr(A S_c A S_d), given by cluster sums (:func:`_plain_squares`), and
p x p products of A G_c and S_d A G_c. Gaussian errors: Var(V0_kk) = 2 tr(A S~ A S~).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from analysis.crossed_sums import COMPONENTS, KINDS, SIGN, Crossed, singletons, sums, weight_coefficient_sums

GRAM_LIMIT = 4_000_000  # most multiplications allowed for the Gram matrix of the exact second-order terms
LARGE_DF = 300.0  # above this the 97.5% t quantile is within 0.5% of the normal one


def _sigma(cd: Crossed, component: str, z: np.ndarray) -> np.ndarray:
    """S_c z for the working-model pieces: W (phi), D(w) Z Z' D(w) for raters or items."""
    w = cd.weight if z.ndim == 1 else cd.weight[:, None]
    out: np.ndarray = w * z if component == "phi" else w * sums(cd, component, w * z)[cd.codes[component]]
    return out


def _apply(cd: Crossed, a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A z = D(a) (Z_r Z_r' + Z_i Z_i' - Z_c Z_c') D(a) z for an n x m matrix z."""
    az = a[:, None] * z
    out = np.zeros_like(z)
    for kind in KINDS:
        out += SIGN[kind] * sums(cd, kind, az)[cd.codes[kind]]
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
        "phi.phi": float(sum(SIGN[kind] * np.sum(sums(cd, kind, q) ** 2) for kind in KINDS))}
    b_r, b_j, b_c = (sums(cd, kind, a * w) for kind in KINDS)
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
    p = cd.rows.shape[1]
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
    Depends on the design and weights only: computed once per weight (outcomes with the same
    weights, as the trial-position lines, share it).
    """
    return cd.cached("independence_df", lambda: _independence_df(cd))


def _independence_df(cd: Crossed) -> np.ndarray:
    square_sums = np.zeros(cd.rows.shape[1])
    for kind in KINDS:
        if singletons(cd, kind):
            square_sums += SIGN[kind] * weight_coefficient_sums(cd, 2, 4)
        elif cd.pattern is None:
            square_sums += SIGN[kind] * np.sum(sums(cd, kind, cd.weight[:, None] * (cd.x @ cd.bread) ** 2) ** 2, axis=0)
        else:
            square_sums += SIGN[kind] * np.sum((cd.weight_table(kind) @ (cd.rows @ cd.bread) ** 2) ** 2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.nan_to_num(weight_coefficient_sums(cd, 1, 2) ** 2 / square_sums, nan=1.0, posinf=1.0)
    return out


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
