"""A controlled AI: seeded verdicts with a set accuracy and a set calibration.

Experiments on reliance need an AI whose quality the researcher fixes in advance. The
controlled AI gives every item a verdict and a confidence such that

* exactly ``round(accuracy * n)`` of the ``n`` main items get the gold label (practice
  items are drawn the same way, as their own group);
* with ``calibration="calibrated"`` the confidences match the accuracy bin by bin.

Construction, per group of items (seeded with ``seed``):

1. Confidences ``c_i = m + (1 - m) * B_i`` with ``B_i ~ Beta(a, b)``, ``m = 1/L`` the
   chance level of ``L`` labels, and ``a / (a + b) = (accuracy - m) / (1 - m)``
   (concentration ``a + b = 6``), then shifted so that ``mean(c) = k / n`` exactly
   (``k = round(accuracy * n)``) and clipped to ``[m, 0.99]``.
2. The ``k`` correct verdicts are apportioned to the 10 equal-width confidence bins by
   largest remainder of ``sum(c in bin)``, so each bin's number correct is within one of
   its summed confidence; inside a bin, which items are correct is a seeded shuffle.
3. Each bin's confidences are shifted toward the bin's accuracy, staying inside the bin,
   which shrinks the remaining gap. ECE (10 bins) is then at most
   ``(non-empty bins) / (2 n)`` on average and in practice about 0.01 for 64 items.

``overconfident`` then maps ``c -> c + 0.6 (1 - c)`` and ``underconfident`` maps
``c -> m + 0.4 (c - m)``: the same items are right, the confidences are not calibrated.
A wrong verdict is a seeded draw among the labels other than gold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tasks.items import Item

Calibration = Literal["calibrated", "overconfident", "underconfident"]

#: Equal-width bins the calibration is built on (the same 10 bins as ECE).
BINS = 10
#: Beta concentration of the confidence draw (a + b): larger = confidences closer together.
CONCENTRATION = 6.0
#: Highest confidence given.
MAX_CONFIDENCE = 0.99
#: How far overconfidence moves a confidence toward 1, and underconfidence keeps of its distance from chance.
OVER_SHIFT, UNDER_KEEP = 0.6, 0.4


class ControlledVerdict(BaseModel):
    """Settings of the controlled AI (``assistance.verdict`` with ``kind: controlled``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["controlled"] = Field(default="controlled", description="`controlled`: seeded verdicts of a set accuracy")
    accuracy: float = Field(default=0.85, ge=0.0, le=1.0, description="Share of main items whose verdict is the gold label.")
    calibration: Calibration = Field(default="calibrated", description="`calibrated`, `overconfident` or `underconfident`.")
    seed: int | None = Field(default=None, description="Seed of the draw; empty = the study's seed.")


def _confidences(n: int, k: int, chance: float, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    target = min(max(accuracy, chance + 0.01), MAX_CONFIDENCE - 0.01)
    mean = (target - chance) / (1.0 - chance)
    draw = rng.beta(mean * CONCENTRATION, (1.0 - mean) * CONCENTRATION, size=n)
    conf: np.ndarray = chance + (1.0 - chance) * draw
    goal = min(max(k / n, chance), MAX_CONFIDENCE)
    for _ in range(20):  # shift-and-clip converges in a few rounds
        conf = np.clip(conf + (goal - conf.mean()), chance, MAX_CONFIDENCE)
    return conf


def _bin_of(conf: np.ndarray) -> np.ndarray:
    bins: np.ndarray = np.minimum((conf * BINS).astype(int), BINS - 1)
    return bins


def _apportion(conf: np.ndarray, bins: np.ndarray, k: int) -> dict[int, int]:
    """Correct verdicts per bin: largest remainder of each bin's summed confidence, total k."""
    present = sorted({int(b) for b in bins})
    sizes = {b: int(np.sum(bins == b)) for b in present}
    share = np.array([conf[bins == b].sum() for b in present])
    share = share * (k / share.sum()) if share.sum() > 0 else share
    alloc = {b: min(int(np.floor(s)), sizes[b]) for b, s in zip(present, share, strict=True)}
    order = sorted(present, key=lambda b: -(share[present.index(b)] - alloc[b]))
    i = 0
    while sum(alloc.values()) < k:  # hand out the remainders, largest first
        b = order[i % len(order)]
        if alloc[b] < sizes[b]:
            alloc[b] += 1
        i += 1
    return alloc


def _calibrate_group(n: int, k: int, chance: float, accuracy: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Confidences and correctness flags for one group of n items with exactly k correct."""
    conf = _confidences(n, k, chance, accuracy, rng)
    bins = _bin_of(conf)
    correct = np.zeros(n, dtype=bool)
    for b, n_correct in _apportion(conf, bins, k).items():
        members = np.flatnonzero(bins == b)
        correct[rng.permutation(members)[:n_correct]] = True
        low, high = max(b / BINS, chance), min((b + 1) / BINS - 1e-4, MAX_CONFIDENCE)
        shift = n_correct / len(members) - conf[members].mean()
        conf[members] = np.clip(conf[members] + shift, low, high)
    return conf, correct


def _miscalibrate(conf: np.ndarray, calibration: Calibration, chance: float) -> np.ndarray:
    if calibration == "overconfident":
        return np.minimum(conf + OVER_SHIFT * (1.0 - conf), MAX_CONFIDENCE)
    if calibration == "underconfident":
        return chance + UNDER_KEEP * (conf - chance)
    return conf


def controlled_verdicts(
    items: Sequence[Item], labels: Sequence[str], settings: ControlledVerdict, seed: int
) -> dict[str, tuple[str, float]]:
    """``{item_id: (label, confidence)}`` for every item (attention checks included if given).

    Items are taken in item-id order, so the result does not depend on the caller's
    order; ``settings.seed`` overrides ``seed`` when set. Main, practice and other roles
    are drawn as separate groups, each with exactly ``round(accuracy * n)`` correct.
    """
    rng = np.random.default_rng(settings.seed if settings.seed is not None else seed)
    chance = 1.0 / len(labels)
    out: dict[str, tuple[str, float]] = {}
    canonical = sorted(items, key=lambda it: it.item_id)
    for role in ("main", "practice", "attention_check"):
        group = [it for it in canonical if it.role == role]
        if not group:
            continue
        k = int(round(settings.accuracy * len(group)))
        conf, correct = _calibrate_group(len(group), k, chance, settings.accuracy, rng)
        conf = _miscalibrate(conf, settings.calibration, chance)
        for item, c, right in zip(group, conf, correct, strict=True):
            wrong = [label for label in labels if label != item.gold_label]
            label = item.gold_label if right else wrong[int(rng.integers(len(wrong)))]
            out[item.item_id] = (label, round(float(c), 4))
    return out
