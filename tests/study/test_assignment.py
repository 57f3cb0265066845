"""Pure assignment rules: condition choice, Latin square, least-loaded items, plans."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from study.assignment import (
    StudyFull,
    block_sizes,
    choose_condition,
    latin_square_order,
    least_loaded,
    plan_items,
    rater_rng,
)

KEYS = ["none", "evidence", "reasoning", "debate"]


def test_rater_rng_is_seeded_per_enrolment() -> None:
    assert rater_rng(7, 3).random() == rater_rng(7, 3).random()
    assert rater_rng(7, 3).random() != rater_rng(7, 4).random()
    assert rater_rng(7, 3).random() != rater_rng(8, 3).random()


def test_choose_condition_picks_a_least_filled_key() -> None:
    rng = random.Random(0)
    assert choose_condition({"none": 2, "evidence": 1, "reasoning": 2, "debate": 2}, KEYS, rng) == "evidence"
    picks = Counter(choose_condition({"none": 1, "evidence": 1}, ["none", "evidence", "reasoning"], rng)
                    for _ in range(50))
    assert set(picks) == {"reasoning"}  # a missing key counts as zero


def test_choose_condition_keeps_balance_within_one() -> None:
    rng = random.Random(1)
    counts: Counter[str] = Counter()
    for _ in range(101):
        counts[choose_condition(counts, KEYS, rng)] += 1
        assert max(counts[k] for k in KEYS) - min(counts[k] for k in KEYS) <= 1


def test_latin_square_each_condition_once_per_position() -> None:
    orders = [latin_square_order(KEYS, i) for i in range(8)]
    for pos in range(len(KEYS)):
        column = [o[pos] for o in orders[:4]]
        assert sorted(column) == sorted(KEYS)
    assert orders[4] == orders[0]
    assert all(sorted(o) == sorted(KEYS) for o in orders)


def test_least_loaded_prefers_few_ratings_and_refuses_when_full() -> None:
    load = {1: 0, 2: 3, 3: 1, 4: 0, 5: 2}
    picked = least_loaded([1, 2, 3, 4, 5], load, 3, random.Random(0), target=3)
    assert sorted(picked) == [1, 3, 4]
    with pytest.raises(StudyFull, match="only 4 items"):
        least_loaded([1, 2, 3, 4, 5], load, 5, random.Random(0), target=3)


def test_block_sizes_split_evenly_larger_first() -> None:
    assert block_sizes(10, 4) == [3, 3, 2, 2]
    assert block_sizes(8, 4) == [2, 2, 2, 2]
    assert sum(block_sizes(17, 3)) == 17


def test_plan_items_practice_blocks_and_spaced_checks() -> None:
    plan = plan_items(condition_order=["a", "b"], main_items=list(range(100, 120)), load_by_condition={},
                      items_per_rater=6, target=3, practice_items=[1, 2], attention_items=[50, 51],
                      rng=random.Random(3))
    assert [p.position for p in plan] == list(range(len(plan)))
    assert [(p.item_pk, p.stage, p.condition_key) for p in plan[:2]] == [(1, "practice", "a"), (2, "practice", "a")]
    main = plan[2:]
    assert len(main) == 8 and all(p.stage == "main" for p in main)
    checks = [i for i, p in enumerate(main) if p.is_attention_check]
    assert len(checks) == 2 and 0 not in checks  # never the first main item
    items = [p for p in main if not p.is_attention_check]
    assert [p.condition_key for p in items] == ["a"] * 3 + ["b"] * 3  # blocks in order
    assert len({p.item_pk for p in items}) == 6  # no item twice


def test_plan_items_follows_loads_per_condition() -> None:
    loads = {"a": {100: 3, 101: 3, 102: 0, 103: 0, 104: 1}}
    plan = plan_items(condition_order=["a"], main_items=[100, 101, 102, 103, 104], load_by_condition=loads,
                      items_per_rater=3, target=3, practice_items=[], attention_items=[], rng=random.Random(0))
    assert sorted(p.item_pk for p in plan) == [102, 103, 104]
