"""A seeded simulated study with its own book of what the monitor should count.

``simulate_study`` drives raters with :class:`study.driver.RaterDriver` (the same calls
the rater page makes) and a seeded RNG, and keeps its own :class:`Book`;
tests/study/test_monitor.py compares ``study.monitor`` with that book, and the console,
dashboard and export page tests (tests/ui) reuse it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd
from sqlalchemy import Engine

from study import models as m
from study import monitor, service
from study.driver import Answer, RaterDriver
from study.testing import fixture_items, ready_study, small_config

#: Rater fates, drawn with these weights.
FATES = {"complete": 5, "sloppy": 2, "careless": 2, "quit": 2, "decline": 1}


@dataclass
class Book:
    """What the simulation did, counted by the simulation itself."""

    name: str
    condition: dict[str, str] = field(default_factory=dict)  # rater -> condition
    status: dict[str, str] = field(default_factory=dict)  # rater -> monitor state
    failures: Counter[str] = field(default_factory=Counter)  # rater -> attention failures
    ratings: Counter[tuple[str, str]] = field(default_factory=Counter)  # (condition, item) -> judgments
    checks: Counter[str] = field(default_factory=Counter)  # condition of the check -> answered
    checks_failed: Counter[str] = field(default_factory=Counter)
    last_kind: str = ""

    def per_condition(self, state: str) -> Counter[str]:
        return Counter(self.condition[r] for r, s in self.status.items() if s == state)


def _play(engine: Engine, book: Book, rid: str, fate: str, gold: dict[str, str], rng: random.Random,
          stop_after: int | None = None) -> None:
    driver = RaterDriver(engine, book.name, rid)
    driver.enrol()
    if fate == "decline":  # no condition is chosen for a rater who declines
        book.condition[rid] = ""
        driver.consent(False)
        book.status[rid] = "dropped"
        return
    book.condition[rid] = driver.consent() or ""
    driver.start()
    book.status[rid] = "in_progress"
    for view in driver.items(stop_after):
        item = view.item
        assert item is not None
        wrong_check = item.is_attention_check and (fate == "careless" or (fate == "sloppy" and not book.failures[rid]))
        other = [x for x in view.labels if x != gold[item.item_id]]
        label = other[0] if wrong_check else (gold[item.item_id] if item.is_attention_check else rng.choice(view.labels))
        result = driver.submit(view, Answer(label, rng.choice([0.6, 0.8, 1.0])))
        assert result.recorded
        if item.is_attention_check:
            book.checks[item.condition] += 1
            book.checks_failed[item.condition] += wrong_check
            book.failures[rid] += wrong_check
        elif item.stage == "main":
            book.ratings[(item.condition, item.item_id)] += 1
        if result.status in ("completed", "failed_attention"):
            book.status[rid] = result.status
            break


def simulate_study(engine: Engine, name: str = "mon", *, n_raters: int = 22, n_timed_out: int = 3,
                   seed: int = 11) -> Book:
    """A live study (4 conditions, 2 attention checks, 1 failure tolerated) and seeded raters."""
    cfg = small_config(name, attention_checks=2, max_attention_failures=1)
    items = fixture_items(24, seed=7)
    ready_study(engine, cfg, items)
    gold = {it.item_id: it.gold_label for it in items}
    rng = random.Random(seed)
    book = Book(name)
    # Phase 1: raters who stop half-way and then run out of time.
    for i in range(n_timed_out):
        _play(engine, book, f"late-{i}", "quit", gold, rng, stop_after=rng.randint(0, 4))
    limit = service.get_config(engine, name).time_limit_minutes
    assert service.expire_raters(engine, name, now=m.utcnow() + timedelta(minutes=limit + 1)) == n_timed_out
    for i in range(n_timed_out):
        book.status[f"late-{i}"] = "dropped"
    # Phase 2: everybody else, fates drawn from FATES.
    fates = rng.choices(list(FATES), weights=list(FATES.values()), k=n_raters)
    for i, fate in enumerate(fates):
        _play(engine, book, f"r{i:02d}", fate, gold, rng, stop_after=rng.randint(1, 5) if fate == "quit" else None)
    return book


def expected_raters(book: Book, conditions: list[str], *, max_failures_tolerated: int = 0) -> pd.DataFrame:
    """The rater table the monitor should show, from the book alone.

    excluded = status timed_out/failed_attention (default exclude_statuses) or more
    attention failures than the exclusion rules tolerate (0 by default).
    """
    rows = []
    for key in conditions:
        mine = [r for r, c in book.condition.items() if c == key]
        states = Counter(book.status[r] for r in mine)
        late = sum(r.startswith("late-") for r in mine)
        excluded = sum(
            r.startswith("late-") or book.status[r] == "failed_attention" or book.failures[r] > max_failures_tolerated
            for r in mine
        )
        rows.append([key, len(mine), states["in_progress"], states["completed"], states["dropped"],
                     states["failed_attention"], excluded])
        assert late <= states["dropped"]
    return pd.DataFrame(rows, columns=monitor.RATER_COLUMNS)


CONDITIONS = ["none", "evidence", "reasoning", "debate"]
