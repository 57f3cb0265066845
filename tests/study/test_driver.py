"""``study.driver.RaterDriver``: one scripted rater through the public rater calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import pytest
from sqlalchemy import Engine, select

from study import models as m
from study.db import read_session
from study.driver import Answer, RaterDriver, RaterView
from study.testing import ready_study, small_config

T = TypeVar("T")


def _judgments(engine: Engine, external_id: str) -> list[tuple[str | None, str]]:
    with read_session(engine) as s:
        rows = s.execute(select(m.Judgment.initial_label, m.Judgment.label).join(m.Rater)
                         .where(m.Rater.external_id == external_id).order_by(m.Judgment.id)).all()
    return [(r[0], r[1]) for r in rows]


def _asked(view: RaterView) -> str:
    item = view.item
    assert item is not None
    if item.is_attention_check:  # the fixture checks say "please answer '<label>'"
        return next(lab for lab in view.labels if f"'{lab}'" in item.claim)
    return "incorrect"


def test_run_answers_every_item_then_leaves_the_items(engine: Engine) -> None:
    cfg = ready_study(engine, small_config("d", design={"type": "between", "two_stage": True}))
    seen: list[tuple[int, str]] = []

    def choose(view: RaterView) -> Answer:
        assert view.item is not None
        seen.append((view.item.assignment_id, _asked(view)))
        return Answer(_asked(view), 0.8, initial=("correct", 0.6))

    run = RaterDriver(engine, "d", "r1").run(choose)
    total = cfg.items_per_rater + cfg.practice_items + cfg.attention_checks
    assert run.judgments == len(seen) == len({a for a, _ in seen}) == total
    assert run.view.screen == "exit" and run.view.status == "completed"
    got = _judgments(engine, "r1")
    assert [label for _, label in got] == [label for _, label in seen]
    # Two-stage items got their first answer before the final one; attention checks ask once.
    assert sum(initial == "correct" for initial, _ in got) == total - cfg.attention_checks
    assert sum(initial is None for initial, _ in got) == cfg.attention_checks


def test_stop_after_leaves_the_rater_in_progress(engine: Engine) -> None:
    ready_study(engine, small_config("d"))
    run = RaterDriver(engine, "d", "r2").run(lambda view: Answer(_asked(view), 0.7), stop_after=2)
    assert run.judgments == 2 and len(_judgments(engine, "r2")) == 2
    assert run.view.screen == "item"  # the view it stopped on (already answered)


def test_every_call_goes_through_the_caller(engine: Engine) -> None:
    ready_study(engine, small_config("d", practice_items=0, attention_checks=0, items_per_rater=3))
    calls: Counter[str] = Counter()

    def caller(call: Callable[[], T], /) -> T:
        result = call()
        calls[type(result).__name__] += 1
        return result

    run = RaterDriver(engine, "d", "r3", caller=caller).run(lambda view: Answer("correct", 0.9))
    # enrol, consent (the condition's key), start (None), 3 item views + the last one, 3 submits.
    assert calls == Counter({"Enrolment": 1, "str": 1, "NoneType": 1, "RaterView": 4, "SubmitResult": 3})
    assert run.judgments == 3


def test_misuse_is_refused_with_the_rater_named(engine: Engine) -> None:
    ready_study(engine, small_config("d"))
    driver = RaterDriver(engine, "d", "r4")
    with pytest.raises(RuntimeError, match="'r4' is not enrolled"):
        driver.view()
    driver.enrol()
    with pytest.raises(RuntimeError, match="'r4' has no item on screen"):
        driver.submit(driver.view(), Answer("correct", 0.9))  # still on the consent screen
