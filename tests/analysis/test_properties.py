"""Hypothesis properties of the metrics and routing on random small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import METRIC_NAMES, condition_metrics, hybrid_summary, simulate_judgments

LABELS = ["A", "B", "C"]


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n_items = draw(st.integers(2, 6))
    items = [
        (f"i{j}", draw(st.sampled_from(LABELS)), draw(st.sampled_from(LABELS)),
         draw(st.sampled_from([0.5, 0.6, 0.75, 0.9, 1.0])))
        for j in range(n_items)
    ]
    rows = []
    for r in range(draw(st.integers(1, 5))):
        cond = draw(st.sampled_from(["none", "reasoning"]))
        for item_id, gold, ai, conf in items:
            if draw(st.booleans()):
                continue
            two = draw(st.booleans())
            rows.append({"rater_id": f"r{r}", "item_id": item_id, "condition": cond, "gold_label": gold,
                         "ai_label": ai, "ai_confidence": conf,
                         "initial_label": draw(st.sampled_from(LABELS)) if two else None,
                         "final_label": draw(st.sampled_from(LABELS)),
                         "confidence": draw(st.floats(0.0, 1.0))})
    if not rows:
        rows.append({"rater_id": "r0", "item_id": items[0][0], "condition": "none", "gold_label": items[0][1],
                     "ai_label": items[0][2], "ai_confidence": items[0][3], "initial_label": None,
                     "final_label": "A", "confidence": 0.5})
    return pd.DataFrame(rows)


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(tables())
def test_metrics_are_proportions(df: pd.DataFrame) -> None:
    out = condition_metrics(df, n_boot=20, seed=0)
    for name in METRIC_NAMES:
        for col in (name, f"{name}_ci_low", f"{name}_ci_high"):
            values = out[col].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            assert ((values >= -1e-12) & (values <= 1 + 1e-12)).all(), col


@FAST
@given(tables(), st.integers(0, 2**16))
def test_invariant_to_row_order(df: pd.DataFrame, perm_seed: int) -> None:
    shuffled = df.sample(frac=1.0, random_state=perm_seed).reset_index(drop=True)
    a = condition_metrics(df, n_boot=20, seed=3)
    b = condition_metrics(shuffled, n_boot=20, seed=3)
    pd.testing.assert_frame_equal(a, b, rtol=1e-12, atol=1e-12)
    ha = hybrid_summary(df, k=2, n_boot=10, seed=3)
    hb = hybrid_summary(shuffled, k=2, n_boot=10, seed=3)
    pd.testing.assert_frame_equal(ha, hb, rtol=1e-12, atol=1e-12)


@FAST
@given(tables())
def test_oracle_dominates(df: pd.DataFrame) -> None:
    out = hybrid_summary(df, k=2, n_boot=10, seed=0)
    for row in out.itertuples():
        assert row.oracle >= max(row.human_only, row.ai_only) - 1e-12
        assert row.oracle >= row.cv_accuracy - 1e-12
        assert min(row.human_only, row.ai_only) - 1e-12 <= row.oracle <= 1 + 1e-12


@pytest.mark.parametrize("seed", [0, 1])
def test_bootstrap_is_seeded(seed: int) -> None:
    df = simulate_judgments(12, 10, seed=5)
    one = condition_metrics(df, n_boot=50, seed=seed)
    two = condition_metrics(df, n_boot=50, seed=seed)
    other = condition_metrics(df, n_boot=50, seed=seed + 10)
    pd.testing.assert_frame_equal(one, two)
    assert not np.allclose(one["accuracy_ci_low"], other["accuracy_ci_low"])
