"""The vectorised two-way bootstrap equals a plain loop over replicates with row weights."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from analysis import SimulationProfile, engine, simulate_judgments, slot_sums, units


def _loop_replicate(df: pd.DataFrame, rater_w: dict[str, float], item_w: dict[str, float]) -> dict[str, float]:
    w = df["rater_id"].map(rater_w) * df["item_id"].map(item_w)
    h, y, a = df["final_label"], df["gold_label"], df["ai_label"]
    wrong = a != y
    p, ok = df["confidence"], (h == y).astype(float)
    bins = np.minimum(np.floor(p * 10), 9)
    ece = sum(abs((w * (p - ok))[bins == b].sum()) for b in range(10)) / w.sum()
    return {
        "accuracy": (w * (h == y)).sum() / w.sum(),
        "over_reliance": (w * ((h == a) & wrong)).sum() / (w * wrong).sum(),
        "rater_ece": ece,
    }


def test_replicates_equal_weighted_loop() -> None:
    df = simulate_judgments(20, 15, SimulationProfile(rater_sd=0.5), seed=9, items_per_rater=10)
    layout = engine.build_layout(df, k=3, seed=0)
    rater_w, item_w = engine.draw_weights(layout, 5, seed=0)
    reps = engine.compute(layout, rater_w, item_w)
    for b in range(5):
        rw = dict(zip(layout.rater_ids, rater_w[b], strict=True))
        iw = dict(zip(layout.item_ids, item_w[b], strict=True))
        for cond, rows in df.groupby("condition"):
            expected = _loop_replicate(rows, rw, iw)
            for name, value in expected.items():
                got = reps.stats[cond][b, engine.STAT_NAMES.index(name)]
                assert got == pytest.approx(value, rel=1e-12, nan_ok=True), (cond, name, b)


def test_raters_resampled_within_condition_strata() -> None:
    df = simulate_judgments(12, 5, seed=1)
    layout = engine.build_layout(df)
    rater_w, item_w = engine.draw_weights(layout, 200, seed=2)
    for cells in layout.cells:  # between-subjects: each condition keeps its number of raters
        assert (rater_w[:, cells.raters].sum(axis=1) == len(cells.raters)).all()
    assert (item_w.sum(axis=1) == len(layout.item_ids)).all()
    assert rater_w.std() > 0 and item_w.std() > 0
    compact = engine.draw_weights(layout, 200, seed=2, compact=True)  # what engine.run uses
    assert compact[0].dtype == np.uint8 and compact[1].dtype == np.uint8
    np.testing.assert_array_equal(compact[0], rater_w)
    np.testing.assert_array_equal(compact[1], item_w)


@pytest.mark.parametrize(("m", "n_boot"), [(1, 9), (7, 9), (12, 9), (25_001, 400)])
def test_multiplicities_drawn_in_chunks_equal_one_draw_per_replicate(m: int, n_boot: int) -> None:
    """25,001 units x 400 replicates spans three chunks (and an odd number of draws per replicate)."""
    rng = np.random.default_rng(5)
    want = np.stack([np.bincount(rng.integers(0, m, size=m), minlength=m) for _ in range(n_boot)])
    got = units._draw_into(np.random.default_rng(5), np.zeros((n_boot, m), dtype=np.uint8), None)
    np.testing.assert_array_equal(got, want)
    assert (got.sum(axis=1, dtype=np.int64) == m).all()
    cols = np.arange(m)[::-1]  # into chosen columns of a wider array
    into = units._draw_into(np.random.default_rng(5), np.zeros((n_boot, m + 3)), cols)
    np.testing.assert_array_equal(into[:, cols], want)
    assert (into[:, m:] == 0).all() or m < 3


class _AlwaysFirst:
    """A stand-in generator whose every draw is unit 0 (a count of m for that unit)."""

    def integers(self, low: int, high: int, size: tuple[int, int]) -> np.ndarray:
        return np.zeros(size, dtype=np.int64)


def test_compact_draws_widen_when_a_count_overflows_uint8() -> None:
    out = units._draw_into(_AlwaysFirst(), np.zeros((2, 300), dtype=np.uint8), None)  # type: ignore[arg-type]
    assert out.dtype == np.uint32 and (out[:, 0] == 300).all() and (out[:, 1:] == 0).all()


def test_inconsistent_ai_label_for_an_item_is_a_clear_error() -> None:
    df = simulate_judgments(4, 3, seed=1, conditions=["none"])
    df.loc[0, "ai_label"] = "incorrect" if df.loc[0, "ai_label"] == "correct" else "correct"
    with pytest.raises(ValueError, match="item 'i00000'"):
        engine.build_layout(df)


def test_block_size_does_not_change_replicates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replicates are computed in blocks (grouped by fold split): one replicate per block gives the same numbers."""
    df = simulate_judgments(20, 15, SimulationProfile(rater_sd=0.5), seed=9, items_per_rater=10, two_stage=True)
    layout = engine.build_layout(df, k=3, seed=0, reference="none")
    rater_w, item_w = engine.draw_weights(layout, 7, seed=1)
    wide = engine.compute(layout, rater_w, item_w)
    monkeypatch.setattr(engine, "_BLOCK_ELEMENTS", 1)
    narrow = engine.compute(layout, rater_w, item_w)
    for cond, values in wide.stats.items():
        np.testing.assert_allclose(narrow.stats[cond], values, rtol=1e-12, atol=1e-12)
    for cond, values in wide.thresholds.items():
        np.testing.assert_array_equal(narrow.thresholds[cond], values)


@pytest.mark.parametrize("side", [True, False])
def test_continuous_sums_by_rater_or_by_item_equal_the_loop(monkeypatch: pytest.MonkeyPatch, side: bool) -> None:
    """Brier and calibration sums go through the rater or the item side of the product: both equal the loop."""
    monkeypatch.setattr(slot_sums, "by_rater", lambda n_raters, n_items: side)
    df = simulate_judgments(20, 15, SimulationProfile(rater_sd=0.5), seed=9, items_per_rater=10)
    layout = engine.build_layout(df, k=3, seed=0)
    assert all((c.slots.cont is not None) == side for c in layout.cells)
    rater_w, item_w = engine.draw_weights(layout, 4, seed=6)
    reps = engine.compute(layout, rater_w, item_w)
    for b in range(4):
        rw = dict(zip(layout.rater_ids, rater_w[b], strict=True))
        iw = dict(zip(layout.item_ids, item_w[b], strict=True))
        for cond, rows in df.groupby("condition"):
            got = reps.stats[cond][b, engine.STAT_NAMES.index("rater_ece")]
            assert got == pytest.approx(_loop_replicate(rows, rw, iw)["rater_ece"], rel=1e-12), (cond, b)


def test_float32_product_keeps_counts_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large conditions run the sparse product in float32: counts stay exact, calibration sums within 1e-6."""
    df = simulate_judgments(30, 20, SimulationProfile(rater_sd=0.5), seed=4, items_per_rater=12, two_stage=True)
    layout = engine.build_layout(df, k=3, seed=0, reference="none")
    rater_w, item_w = engine.draw_weights(layout, 9, seed=3)
    exact = engine.compute(layout, rater_w, item_w)
    point = engine.compute(layout, *engine.point_weights(layout), all_splits=True)
    monkeypatch.setattr(slot_sums, "FLOAT32_ROWS", 1)
    layout32 = engine.build_layout(df, k=3, seed=0, reference="none")
    assert all(c.slots.matrix32 is not None for c in layout32.cells)
    single = engine.compute(layout32, rater_w, item_w)
    counted = [engine.STAT_NAMES.index(n) for n in engine.STAT_NAMES if n not in ("rater_brier", "rater_ece")]
    for cond, values in exact.stats.items():
        np.testing.assert_array_equal(single.stats[cond][:, counted], values[:, counted])
        np.testing.assert_allclose(single.stats[cond], values, rtol=1e-6)
        assert cond == "overall" or np.array_equal(single.thresholds[cond], exact.thresholds[cond])
    point32 = engine.compute(layout32, *engine.point_weights(layout32), all_splits=True)
    for cond, values in point.stats.items():  # the point estimate never uses float32
        np.testing.assert_array_equal(point32.stats[cond], values)


def test_threaded_blocks_are_bit_identical_to_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of replicates on several threads give exactly the serial numbers (each block writes its own rows)."""
    df = simulate_judgments(30, 20, SimulationProfile(rater_sd=0.5), seed=4, items_per_rater=10, two_stage=True)
    layout = engine.build_layout(df, k=3, seed=0, reference="none")
    rater_w, item_w = engine.draw_weights(layout, 40, seed=2, compact=True)
    monkeypatch.setattr(engine, "_BLOCK_ELEMENTS", 1)  # one replicate per block: 40 blocks to share out
    serial = engine.compute(layout, rater_w, item_w, threads=1)
    for threads in (2, 4):
        threaded = engine.compute(layout, rater_w, item_w, threads=threads)
        for cond, values in serial.stats.items():
            np.testing.assert_array_equal(threaded.stats[cond], values)
        for cond, values in serial.thresholds.items():
            np.testing.assert_array_equal(threaded.thresholds[cond], values)
    point = engine.compute(layout, *engine.point_weights(layout), all_splits=True, threads=1)
    point2 = engine.compute(layout, *engine.point_weights(layout), all_splits=True, threads=2)
    for cond, values in point.stats.items():
        np.testing.assert_array_equal(point2.stats[cond], values)


def test_thread_count_from_argument_environment_or_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import parallel

    monkeypatch.delenv(parallel.ENV_VAR, raising=False)
    assert parallel.thread_count() == max(1, os.cpu_count() or 1)
    monkeypatch.setenv(parallel.ENV_VAR, "3")
    assert parallel.thread_count() == 3
    assert parallel.thread_count(1) == 1
    assert parallel.thread_count(0) == 1
    seen: list[int] = []
    parallel.run_each(seen.append, list(range(10)), threads=2)
    assert sorted(seen) == list(range(10))
