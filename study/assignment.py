"""Assignment: which condition and which items a new rater gets.

Pure functions over counts; the service layer reads the counts and writes the result
inside one locked transaction, so decisions made by several app processes at once
stay balanced (the database serialises enrolments per study).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedItem:
    """One assignment row to create."""

    item_pk: int
    condition_key: str
    position: int
    stage: str  # "practice" | "main"
    is_attention_check: bool = False


class StudyFull(RuntimeError):
    """Every item already has its target ratings in the rater's condition."""


def rater_rng(seed: int, enrol_index: int) -> random.Random:
    """The seeded generator for the ``enrol_index``-th enrolment of a study."""
    return random.Random(f"oversight:{seed}:{enrol_index}")


def choose_condition(counts: Mapping[str, int], order: Sequence[str], rng: random.Random) -> str:
    """Least-filled condition; ties broken by ``rng`` (balanced to within one)."""
    low = min(counts.get(key, 0) for key in order)
    tied = [key for key in order if counts.get(key, 0) == low]
    return rng.choice(tied)


def latin_square_order(conditions: Sequence[str], enrol_index: int) -> list[str]:
    """Within-subjects block order: rotation ``enrol_index mod k`` of the conditions.

    Over every k consecutive raters each condition appears once in each block
    position (a cyclic Latin square), which counterbalances order effects.
    """
    k = len(conditions)
    shift = enrol_index % k
    return list(conditions[shift:]) + list(conditions[:shift])


def least_loaded(
    candidates: Sequence[int], load: Mapping[int, int], n: int, rng: random.Random, target: int
) -> list[int]:
    """The ``n`` items with the fewest ratings so far (random among ties).

    Raises :class:`StudyFull` when fewer than ``n`` items are still below ``target``.
    """
    open_items = [pk for pk in candidates if load.get(pk, 0) < target]
    if len(open_items) < n:
        raise StudyFull(f"only {len(open_items)} items still need ratings; a rater needs {n}")
    shuffled = list(open_items)
    rng.shuffle(shuffled)
    shuffled.sort(key=lambda pk: load.get(pk, 0))  # stable: random order among ties
    return shuffled[:n]


def block_sizes(total: int, blocks: int) -> list[int]:
    """Split ``total`` items into ``blocks`` nearly equal blocks (larger ones first)."""
    base, extra = divmod(total, blocks)
    return [base + (1 if i < extra else 0) for i in range(blocks)]


def plan_items(
    *,
    condition_order: Sequence[str],
    main_items: Sequence[int],
    load_by_condition: Mapping[str, Mapping[int, int]],
    items_per_rater: int,
    target: int,
    practice_items: Sequence[int],
    attention_items: Sequence[int],
    rng: random.Random,
) -> list[PlannedItem]:
    """Practice items first, then blocks of main items with attention checks mixed in.

    Between-subjects designs pass a one-element ``condition_order``.
    """
    plan: list[PlannedItem] = []
    first = condition_order[0]
    for pk in practice_items:
        plan.append(PlannedItem(pk, first, len(plan), "practice"))
    chosen: list[tuple[int, str]] = []
    taken: set[int] = set()
    for key, size in zip(condition_order, block_sizes(items_per_rater, len(condition_order)), strict=True):
        pool = [pk for pk in main_items if pk not in taken]
        picked = least_loaded(pool, load_by_condition.get(key, {}), size, rng, target)
        rng.shuffle(picked)
        taken.update(picked)
        chosen.extend((pk, key) for pk in picked)
    slots = _attention_slots(len(chosen), len(attention_items))
    main: list[tuple[int, str, bool]] = [(pk, key, False) for pk, key in chosen]
    for slot, pk in sorted(zip(slots, attention_items, strict=True), reverse=True):
        key = main[min(slot, len(main) - 1)][1] if main else first
        main.insert(slot, (pk, key, True))
    for pk, key, is_check in main:
        plan.append(PlannedItem(pk, key, len(plan), "main", is_check))
    return plan


def _attention_slots(n_main: int, n_checks: int) -> list[int]:
    """Evenly spaced insertion points, never first: check j goes after item (j+1)n/(k+1)."""
    return [max(1, round((j + 1) * n_main / (n_checks + 1))) for j in range(n_checks)]
