"""Monitor statistics against a seeded simulated study, counted independently.

``support.monitor_sim.simulate_study`` drives seeded raters through the rater API and
keeps its own book of what should be counted; the tests compare ``study.monitor`` with
that book.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from support.monitor_sim import CONDITIONS, Book, expected_raters, simulate_study

from study import models as m
from study import monitor
from study import rater as raters
from study.db import get_engine, read_session, upgrade
from study.export import judgments_frame
from study.testing import fixture_items, ready_study, small_config


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Book]]:
    """One simulated study on SQLite shared by the detailed tests (a simulation takes seconds)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('monitor') / 'sim.db'}"
    upgrade(url)
    eng = get_engine(url)
    yield eng, simulate_study(eng)
    eng.dispose()


@pytest.fixture
def book(sim: tuple[Engine, Book]) -> Book:
    return sim[1]


@pytest.fixture
def sim_engine(sim: tuple[Engine, Book]) -> Engine:
    return sim[0]


def test_monitor_matches_the_book_on_every_database(engine: Engine) -> None:
    book = simulate_study(engine, n_raters=14, n_timed_out=2, seed=5)
    pd.testing.assert_frame_equal(monitor.rater_counts(engine, book.name), expected_raters(book, CONDITIONS))
    items = monitor.item_progress(engine, book.name)
    assert {(r.condition, r.item_id): r.ratings for r in items.itertuples() if r.ratings} == dict(book.ratings)
    att = monitor.attention_summary(engine, book.name).set_index("condition")
    assert att["checks_failed"].to_dict() == {k: book.checks_failed[k] for k in CONDITIONS}
    summary = monitor.item_bank_summary(engine, book.name).set_index("role")
    assert summary.loc["main", "items"] == 24


def test_simulation_covers_every_fate(book: Book) -> None:
    assert set(book.status.values()) == {"completed", "in_progress", "dropped", "failed_attention"}
    assert any(n == 1 for n in book.failures.values())  # sloppy raters: one failure, not ended


def test_rater_counts_match_the_book(sim_engine: Engine, book: Book) -> None:
    got = monitor.rater_counts(sim_engine, book.name)
    pd.testing.assert_frame_equal(got, expected_raters(book, CONDITIONS))
    assert (got["started"] == got[["in_progress", "completed", "dropped", "failed_attention"]].sum(axis=1)).all()


def test_overdue_raters_count_as_dropped_before_they_are_marked(sim_engine: Engine, book: Book) -> None:
    later = m.utcnow() + timedelta(days=2)
    got = monitor.rater_counts(sim_engine, book.name, now=later)
    want = expected_raters(book, CONDITIONS)
    assert (got["in_progress"] == 0).all()
    assert got["dropped"].tolist() == (want["dropped"] + want["in_progress"]).tolist()
    assert got["excluded"].tolist() == (want["excluded"] + want["in_progress"]).tolist()


def test_ratings_per_item_match_the_book(sim_engine: Engine, book: Book) -> None:
    items = monitor.item_progress(sim_engine, book.name)
    assert len(items) == 24 * len(CONDITIONS)
    got = {(r.condition, r.item_id): r.ratings for r in items.itertuples()}
    assert {k: v for k, v in got.items() if v} == dict(book.ratings)
    assert (items["target"] == 3).all()
    assert (items["remaining"] == (3 - items["ratings"]).clip(lower=0)).all()
    summary = monitor.progress_summary(sim_engine, book.name)
    for row in summary.itertuples():
        mine = {k: v for k, v in book.ratings.items() if k[0] == row.condition}
        assert row.ratings == sum(mine.values())
        assert row.items_at_target == sum(v >= 3 for v in mine.values())
        assert row.share_done == pytest.approx(sum(min(v, 3) for v in mine.values()) / (24 * 3))


def test_median_time_matches_the_export(sim_engine: Engine, book: Book) -> None:
    jf = judgments_frame(sim_engine, book.name)
    main = jf[~jf["is_practice"] & ~jf["is_attention_check"]]
    want = main.groupby("condition")["time_ms"].median() / 1000.0
    summary = monitor.progress_summary(sim_engine, book.name).set_index("condition")
    for key, value in want.items():
        assert summary.loc[key, "median_time_s"] == pytest.approx(value)
    per_item = main.groupby(["condition", "item_id"])["time_ms"].median() / 1000.0
    items = monitor.item_progress(sim_engine, book.name).set_index(["condition", "item_id"])
    assert items.loc[per_item.index, "median_time_s"].to_numpy() == pytest.approx(per_item.to_numpy())


def test_attention_and_balance_match_the_book(sim_engine: Engine, book: Book) -> None:
    att = monitor.attention_summary(sim_engine, book.name).set_index("condition")
    for key in CONDITIONS:
        mine = [r for r, c in book.condition.items() if c == key]
        assert att.loc[key, "checks_answered"] == book.checks[key]
        assert att.loc[key, "checks_failed"] == book.checks_failed[key]
        assert att.loc[key, "raters_with_failures"] == sum(book.failures[r] > 0 for r in mine)
        assert att.loc[key, "raters_ended"] == sum(book.status[r] == "failed_attention" for r in mine)
    bal = monitor.condition_balance(sim_engine, book.name).set_index("condition")
    holding = {k: sum(book.status[r] in ("completed", "in_progress") for r, c in book.condition.items() if c == k)
               for k in CONDITIONS}
    assert bal["holding_slot"].to_dict() == holding
    assert bal["share"].sum() == pytest.approx(1.0)
    assert max(holding.values()) - min(holding.values()) <= 1  # the balancer's promise


def test_snapshot_is_consistent_with_the_parts(sim_engine: Engine, book: Book) -> None:
    snap = monitor.snapshot(sim_engine, book.name, activity=5)
    pd.testing.assert_frame_equal(snap.raters, monitor.rater_counts(sim_engine, book.name))
    assert snap.judgments == sum(book.ratings.values())
    assert len(snap.activity) == 5 and list(snap.activity.columns) == monitor.ACTIVITY_COLUMNS
    assert snap.activity["time"].is_monotonic_decreasing


def test_recent_activity_names_rater_item_and_condition(sim_engine: Engine, book: Book) -> None:
    act = monitor.recent_activity(sim_engine, book.name, limit=5000)
    judged = act[act["event"] == "judgment"]
    assert len(judged) == sum(book.checks.values()) + sum(book.ratings.values()) - sum(book.checks_failed.values()) \
        + _practice_judgments(sim_engine, book)
    assert set(judged["rater_id"]) <= set(book.condition)
    assert judged["item_id"].notna().all() and judged["condition"].isin(CONDITIONS).all()


def _practice_judgments(sim_engine: Engine, book: Book) -> int:
    jf = judgments_frame(sim_engine, book.name)
    return int(jf["is_practice"].sum())


def test_assistance_needs_and_provenance(engine: Engine) -> None:
    ready_study(engine, small_config("prov"), fixture_items(24), launch=False)
    needs = monitor.assistance_needs(engine, "prov")
    assert needs["kind"].tolist() == ["verdict", "debate", "evidence", "reasoning"]
    assert (needs["needed"] == 26).all() and (needs["missing"] == 0).all()  # 24 main + 2 practice
    prov = monitor.assistance_provenance(engine, "prov")
    assert set(prov["generator"]) == {"fixture"} and prov["rows"].sum() == 4 * 26
    summary = monitor.item_bank_summary(engine, "prov").set_index("role")
    assert summary["items"].to_dict() == {"main": 24, "practice": 2, "attention_check": 2}
    assert summary["with_ai_fields"].sum() == 0


def test_study_links() -> None:
    links = monitor.study_links("my study", "https://lab.example.org/")
    assert links.plain == "https://lab.example.org/?study=my%20study&rater=RATER_ID"
    assert links.prolific == ("https://lab.example.org/?study=my%20study&PROLIFIC_PID={{%PROLIFIC_PID%}}"
                              "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}")


def test_item_preview_matches_what_a_rater_sees(engine: Engine) -> None:
    ready_study(engine, small_config("pv", seed=3))
    enrolment = raters.enrol(engine, "pv", "p1")
    raters.consent(engine, enrolment.token)
    raters.start(engine, enrolment.token)
    seen = raters.rater_view(engine, enrolment.token)
    item = seen.item
    assert item is not None
    preview = monitor.item_preview(engine, "pv", item.item_id, item.condition,
                                   debate_flip=bool(_debate_flip(engine, "p1")))
    assert preview.item is not None
    assert preview.item.assistance == item.assistance
    assert (preview.item.claim, preview.item.sources, preview.labels) == (item.claim, item.sources, seen.labels)
    attention = monitor.item_preview(engine, "pv", "attention-0", "reasoning")
    assert attention.item is not None and attention.item.assistance is None


def _debate_flip(engine: Engine, external_id: str) -> bool:
    with read_session(engine) as s:
        return bool(s.scalar(select(m.Rater.debate_flip).where(m.Rater.external_id == external_id)))
