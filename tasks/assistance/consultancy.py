"""Consultancy: one AI argues for an assigned label (Khan et al. 2024's consultancy).

Assignment: in each group of items with the same role, exactly
``round(correct_share * n)`` items are assigned their gold label and the rest a wrong
label (a seeded draw among the others). The gold-assigned items are apportioned to the
gold-label strata by largest remainder of ``correct_share * n_stratum``, so every gold
label gets its share too (balanced), and inside a stratum a seeded shuffle picks them.
Items are taken in item-id order, so the caller's order does not matter.

The consultant quotes only sentences the stance scorer says favour its assigned label
and, when there is none, says so plainly (the same turn writer as debate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tasks.assistance.debate import WriteTurn, leaks, template_turn
from tasks.items import Item


def _largest_remainder(shares: dict[str, float], total: int, caps: dict[str, int]) -> dict[str, int]:
    alloc = {g: min(int(np.floor(s)), caps[g]) for g, s in shares.items()}
    for g in sorted(shares, key=lambda g: (-(shares[g] - np.floor(shares[g])), g)):
        if sum(alloc.values()) >= total:
            break
        if alloc[g] < caps[g]:
            alloc[g] += 1
    return alloc


def consultancy_assignments(
    items: Sequence[Item], labels: Sequence[str], correct_share: float, seed: int
) -> dict[str, str]:
    """``{item_id: assigned label}``; see the module docstring for the balanced draw."""
    if not 0.0 <= correct_share <= 1.0:
        raise ValueError(f"consultancy correct share must be in [0, 1], got {correct_share}")
    rng = np.random.default_rng([seed, 20260517])  # own stream: independent of the verdict draw
    canonical = sorted(items, key=lambda it: it.item_id)
    out: dict[str, str] = {}
    for role in ("main", "practice", "attention_check"):
        group = [it for it in canonical if it.role == role]
        strata = {g: [it for it in group if it.gold_label == g] for g in labels}
        strata = {g: members for g, members in strata.items() if members}
        total = int(round(correct_share * len(group)))
        alloc = _largest_remainder(
            {g: correct_share * len(m) for g, m in strata.items()}, total, {g: len(m) for g, m in strata.items()}
        )
        for gold, members in strata.items():
            picked = set(rng.permutation(len(members))[: alloc[gold]].tolist())
            for j, item in enumerate(members):
                wrong = [label for label in labels if label != gold]
                out[item.item_id] = gold if j in picked else wrong[int(rng.integers(len(wrong)))]
    return out


def consultancy_content(
    label: str, gold_label: str, quotes: list[dict[str, Any]], write_turn: WriteTurn | None = None
) -> tuple[dict[str, Any], bool]:
    """``{label, argument, quotes, assigned_correct}`` and whether ``write_turn`` wrote the text."""
    argument, written = template_turn(0, label, quotes, []), False
    if write_turn is not None:
        candidate = write_turn(0, label, quotes, []).strip()
        if candidate and not leaks(candidate):
            argument, written = candidate, True
    return {"label": label, "argument": argument, "quotes": quotes, "assigned_correct": label == gold_label}, written
