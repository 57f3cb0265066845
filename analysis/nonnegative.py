"""Non-negative least squares for a few unknowns (the working-model variance components).

min ||A x - b||^2 subject to x >= 0 is convex, and its solution is the unconstrained least
squares solution on its own support (the components it leaves above 0). So for p unknowns
(here 3) every support S among the 2^p subsets is tried: x_S = lstsq(A_S, b), kept when
x_S > 0; the feasible candidate with the smallest residual is the solution. Same answer as
``scipy.optimize.nnls`` (tested), without importing ``scipy.optimize`` (about 0.15 s at start-up).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

MAX_UNKNOWNS = 8  # 2^8 subsets: beyond that use scipy.optimize.nnls


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x >= 0 minimising ||a x - b|| (a: (m, p), p <= ``MAX_UNKNOWNS``)."""
    p = a.shape[1]
    if p > MAX_UNKNOWNS:
        raise ValueError(f"nnls here is for at most {MAX_UNKNOWNS} unknowns, not {p}")
    best, best_cost = np.zeros(p), float(b @ b)
    for size in range(1, p + 1):
        for support in combinations(range(p), size):
            cols = list(support)
            x_s = np.linalg.lstsq(a[:, cols], b, rcond=None)[0]
            if np.any(x_s <= 0):
                continue
            x = np.zeros(p)
            x[cols] = x_s
            resid = a @ x - b
            cost = float(resid @ resid)
            if cost < best_cost:
                best, best_cost = x, cost
    return best
