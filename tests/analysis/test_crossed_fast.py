"""Fast path of the two-way covariance: taken only when the leverage bound is small, and then within 1% of the full one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from analysis import crossed, crossed_fast, models
from analysis.crossed_df import independence_df


def _study(n_raters: int, per_rater: int, n_items: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Raters nested in 4 conditions, each judging ``per_rater`` distinct random items; rater and item SD 0.5."""
    rng = np.random.default_rng(seed)
    rater = np.repeat(np.arange(n_raters), per_rater)
    item = np.concatenate([rng.choice(n_items, per_rater, replace=False) for _ in range(n_raters)])
    cond, ai = rater % 4, (np.arange(n_items) % 3 > 0)[item].astype(float)
    x = np.column_stack([np.ones(len(rater)), *(cond == k for k in (1, 2, 3)), ai,
                         *((cond == k) * ai for k in (1, 2, 3))]).astype(float)
    eta = x @ np.array([0.2, 0.1, -0.2, 0.3, 0.8, 0.0, 0.2, -0.3])
    eta += rng.normal(0, 0.5, n_raters)[rater] + rng.normal(0, 0.5, n_items)[item]
    o = (rng.random(len(rater)) < expit(eta)).astype(float)
    found = models.cluster_sums.patterns(x)
    assert found is not None
    params = models.logistic_mle(found[1], np.bincount(found[0], o), trials=np.bincount(found[0]).astype(float))
    mu = expit(x @ params)
    return x, o - mu, mu * (1 - mu), rater, item, params


def _paths(x: np.ndarray, resid: np.ndarray, w: np.ndarray, rater: np.ndarray,
           item: np.ndarray) -> tuple[crossed.Crossed, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    cd = crossed.crossed_design(x, w, rater, item)
    return cd, crossed.covariance(cd, resid), crossed.covariance(cd, resid, fast=False)


def test_fast_path_agrees_with_the_corrected_covariance_on_a_large_study() -> None:
    x, resid, w, rater, item, params = _study(20_000, 40, 10_000)  # 800,000 judgments
    cd, (fast_v, fast_df), (full_v, full_df) = _paths(x, resid, w, rater, item)
    delta = crossed_fast.correction_bound(cd, crossed_fast.rough_components(cd, resid), crossed._random_effect_sums(cd))
    assert crossed_fast.negligible(delta, independence_df(cd))  # the fast path was taken
    assert crossed_fast.rough_components(cd, resid) == pytest.approx(crossed.working_components(cd, resid), rel=0.01)
    se_fast, se_full = np.sqrt(np.diag(fast_v)), np.sqrt(np.diag(full_v))
    assert se_fast == pytest.approx(se_full, rel=0.01)
    assert np.abs(np.diag(fast_v) / np.diag(full_v) - 1) == pytest.approx(0, abs=float(delta.max()))
    assert fast_df == pytest.approx(full_df, rel=1e-12)
    fast_ci, full_ci = models.t_interval(params, se_fast, fast_df), models.t_interval(params, se_full, full_df)
    for a, b in zip(fast_ci[:2], full_ci[:2], strict=True):  # interval ends move by under 1% of a standard error
        assert np.all(np.abs(a - b) <= 0.01 * se_full * 1.96)
    assert np.abs(fast_ci[2] - full_ci[2]).max() < 0.005


def test_small_studies_take_the_full_path() -> None:
    x, resid, w, rater, item, _ = _study(40, 40, 40)  # the calibration benchmark's size
    cd, (fast_v, fast_df), (full_v, full_df) = _paths(x, resid, w, rater, item)
    delta = crossed_fast.correction_bound(cd, crossed_fast.rough_components(cd, resid), crossed._random_effect_sums(cd))
    assert delta.min() > 10 * crossed_fast.FAST_TOLERANCE
    assert fast_v == pytest.approx(full_v, rel=1e-12, abs=1e-15)
    assert fast_df == pytest.approx(full_df, rel=1e-12)


def test_line_share_is_the_largest_eigenvalue_of_each_cluster() -> None:
    """Two-column design by pattern (a trial-position line): lambda_g in closed form is at least the
    largest eigenvalue of H_g (within its rounding margin) and at most the trace and Gershgorin bounds."""
    rng = np.random.default_rng(3)
    rater, item = np.repeat(np.arange(30), 12), rng.integers(0, 50, 360)
    position = np.tile(np.arange(12), 30).astype(float)
    rows = np.column_stack([np.ones(12), np.arange(12) / 10.0])
    w = rng.uniform(0.5, 2.0, 12)
    cd = crossed.crossed_design(None, w[position.astype(int)], rater, item, found=(position.astype(int), rows),
                                pattern_weight=w)
    for kind in ("rater", "item"):
        table = cd.weight_table(kind)
        gram = rows @ cd.bread @ rows.T
        root = np.sqrt(table)
        older = np.minimum(table @ np.diag(gram), np.max(root * (root @ np.abs(gram)), axis=1))
        exact = [np.linalg.eigvals(cd.bread @ np.einsum("p,pa,pb->ab", t, rows, rows)).real.max() for t in table]
        share = crossed_fast._largest_share(cd, kind)
        assert np.all(share >= np.array(exact) * (1 - 1e-12)) and np.all(share <= older * (1 + 1e-5))
        assert share == pytest.approx(exact, rel=1e-5)
