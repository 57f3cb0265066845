"""The participants table, the review (events), Prolific lists and exclusions in analysis."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from study import models as m
from study import review
from study.bonus import BonusRule
from study.cli import app
from study.db import read_session
from study.driver import Answer, RaterDriver
from study.export import judgments_frame, raters_frame
from study.participants import PARTICIPANT_COLUMNS, participants
from study.testing import fixture_items, ready_study, small_config


def _run_raters(engine: Engine, n: int, *, stop_last: int | None = 3) -> dict[str, dict[str, str]]:
    """n raters answer at random (the last stops early); returns rater -> item -> answer."""
    rng = random.Random(3)
    answers: dict[str, dict[str, str]] = {}
    for i in range(n):
        rid = f"r{i}"
        book = answers.setdefault(rid, {})

        def choose(view, book=book):  # noqa: ANN001, ANN202
            label = rng.choice(view.labels)
            book[view.item.item_id] = label
            return Answer(label, 0.8)

        RaterDriver(engine, "rv", rid).run(choose, stop_after=stop_last if i == n - 1 else None)
    return answers


@pytest.fixture
def study(engine: Engine) -> dict[str, dict[str, str]]:
    ready_study(engine, small_config("rv", bonus={"per_correct": 0.25, "max": 1.0, "currency": "USD"}))
    return _run_raters(engine, 5)


def test_participants_table_matches_the_answers(engine: Engine, study: dict[str, dict[str, str]]) -> None:
    gold = {it.item_id: (it.gold_label, it.role) for it in fixture_items(24, seed=7)}
    table = participants(engine, "rv").set_index("rater_id")
    assert list(participants(engine, "rv").columns) == PARTICIPANT_COLUMNS
    for rid, book in study.items():
        main = [i for i in book if gold[i][1] == "main"]
        row = table.loc[rid]
        assert row["judged"] == len(book)
        assert row["accuracy"] == pytest.approx(sum(book[i] == gold[i][0] for i in main) / len(main))
        assert row["progress"] == pytest.approx(len(book) / row["assigned"])
        assert row["attention_failures"] == sum(book[i] != gold[i][0] for i in book if gold[i][1] == "attention_check")
    assert table.loc["r4", "status"] == "active" and table.loc["r4", "progress"] < 1
    assert set(table["payment"]) == {""} and not table["excluded"].any()


def test_review_is_recorded_as_events_and_the_latest_counts(engine: Engine, study: dict[str, dict[str, str]]) -> None:
    with pytest.raises(Exception, match="reason"):
        review.review(engine, "rv", ["r0"], "reject")
    with pytest.raises(Exception, match="no rater 'ghost'"):
        review.review(engine, "rv", ["r0", "ghost"], "approve")
    review.review(engine, "rv", ["r0", "r1", "r2"], "approve")
    review.review(engine, "rv", ["r2"], "reject", "did not read the items")
    review.review(engine, "rv", ["r1", "r3"], "exclude", "answered at random")
    review.review(engine, "rv", ["r3"], "include")
    with read_session(engine) as s:
        kinds = s.scalars(select(m.Event.kind).where(m.Event.kind.like("review_%")).order_by(m.Event.id)).all()
    assert kinds == ["review_approve"] * 3 + ["review_reject"] + ["review_exclude"] * 2 + ["review_include"]
    table = participants(engine, "rv").set_index("rater_id")
    assert table["payment"].to_dict() == {"r0": "approve", "r1": "approve", "r2": "reject", "r3": "", "r4": ""}
    assert table["excluded"].to_dict() == {"r0": False, "r1": True, "r2": False, "r3": False, "r4": False}
    assert table.loc["r1", "reason"] == "answered at random" and table.loc["r2", "reason"] == "did not read the items"
    assert review.excluded_raters(engine, "rv") == {"r1"}
    approvals = review.approvals_frame(engine, "rv")
    assert approvals.values.tolist() == [["r0", "APPROVE", ""], ["r1", "APPROVE", ""],
                                         ["r2", "REJECT", "did not read the items"]]
    judgments = judgments_frame(engine, "rv")
    assert set(judgments.loc[judgments["excluded_by_experimenter"], "rater_id"]) == {"r1"}
    raters = raters_frame(engine, "rv", judgments).set_index("rater_id")
    assert raters.loc["r1", "excluded_by_experimenter"] and raters.loc["r2", "review"] == "reject"


def test_bonus_follows_the_rule(engine: Engine, study: dict[str, dict[str, str]]) -> None:
    review.review(engine, "rv", ["r2"], "reject", "no")
    gold = {it.item_id: (it.gold_label, it.role) for it in fixture_items(24, seed=7)}
    with read_session(engine) as s:
        status = dict(s.execute(select(m.Rater.external_id, m.Rater.status)).all())
    expected = {}
    for rid, book in study.items():
        correct = sum(book[i] == gold[i][0] for i in book if gold[i][1] == "main")
        amount = round(min(1.0, 0.25 * correct), 2)
        if rid != "r2" and status[rid] == "completed" and amount > 0:  # r2 was rejected
            expected[rid] = f"{amount:.2f}"
    bonus = review.bonus_frame(engine, "rv", judgments_frame(engine, "rv"), BonusRule(per_correct=0.25, max=1.0))
    assert dict(bonus.values.tolist()) == expected and expected
    assert review.bonus_amount(BonusRule(per_correct=0.05), 7) == 0.35
    assert review.bonus_amount(BonusRule(per_correct=0.3, max=0.5), 7) == 0.5


def test_analysis_drops_excluded_raters_with_a_note(engine: Engine, db_url: str, study: dict[str, dict[str, str]]) -> None:
    review.review(engine, "rv", ["r0"], "exclude", "speeder")
    df = judgments_frame(engine, "rv")
    kept, note = review.drop_excluded(df)
    assert set(kept["rater_id"]) == set(df["rater_id"]) - {"r0"}
    assert note == f"experimenter exclusions: 1 rater(s) excluded in the review, {int((df['rater_id'] == 'r0').sum())} " \
                   "judgment row(s) left out"
    assert review.drop_excluded(df.drop(columns=["excluded_by_experimenter"]))[1] is None
    from_csv = pd.read_csv(pd.io.common.StringIO(df.to_csv(index=False)))
    assert review.drop_excluded(from_csv)[1] == note
    result = CliRunner().invoke(app, ["analyze", "--study", "rv", "--n-boot", "20", "--no-models", "--db", db_url])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout[result.stdout.index("{"):])
    assert note in out["notes"]
