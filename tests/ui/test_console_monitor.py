"""The live monitor against a seeded simulated study, counted by the simulation itself."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine
from support import monitor_sim

from study import monitor

CONDITIONS = ["none", "evidence", "reasoning", "debate"]


def test_monitor_numbers_match_the_simulation(app_engine: Engine, ui, console) -> None:
    book = monitor_sim.simulate_study(app_engine, "mon", n_raters=18, n_timed_out=2, seed=23)
    at = ui.ok(console())
    assert at.selectbox(key="console_study").value == "mon"
    assert at.radio(key="console_section").value == "Monitor"

    want = monitor_sim.expected_raters(book, CONDITIONS)
    pd.testing.assert_frame_equal(ui.frame(at, "monitor_raters"), want, check_dtype=False)

    progress = ui.frame(at, "monitor_progress").set_index("condition")
    for key in CONDITIONS:
        mine = {item: n for (cond, item), n in book.ratings.items() if cond == key}
        assert progress.loc[key, "ratings"] == sum(mine.values())
        assert progress.loc[key, "items_at_target"] == sum(n >= 3 for n in mine.values())
        assert progress.loc[key, "items"] == 24
    items = ui.frame(at, "monitor_items")
    assert {(r.condition, r.item_id): r.ratings for r in items.itertuples() if r.ratings} == dict(book.ratings)

    attention = ui.frame(at, "monitor_attention").set_index("condition")
    assert attention["checks_answered"].to_dict() == {k: book.checks[k] for k in CONDITIONS}
    assert attention["checks_failed"].to_dict() == {k: book.checks_failed[k] for k in CONDITIONS}

    balance = ui.frame(at, "monitor_balance").set_index("condition")
    holding = {k: sum(book.status[r] in ("completed", "in_progress") for r, c in book.condition.items() if c == k)
               for k in CONDITIONS}
    assert balance["holding_slot"].to_dict() == holding

    metrics = {m.label: m.value for m in at.metric}
    # per condition: raters who consented (a rater who declines is never given a condition)
    assert metrics["Raters started"] == str(sum(1 for c in book.condition.values() if c))
    assert metrics["Completed"] == str(sum(s == "completed" for s in book.status.values()))
    assert metrics["Ratings"] == str(sum(book.ratings.values()))

    activity = ui.frame(at, "monitor_activity")
    assert len(activity) == 20 and set(activity["rater_id"].dropna()) <= set(book.condition)


def test_monitor_shows_study_links_and_refresh_choice(app_engine: Engine, ui, console) -> None:
    from study.testing import ready_study, small_config

    back = "https://app.prolific.com/submissions/complete?cc={code}"
    ready_study(app_engine, small_config("links", completion={"redirect_url": back}))
    at = ui.ok(console())
    at.text_input(key="links_base").input("https://lab.example.org")
    at = ui.ok(at.run())
    codes = [c.value for c in at.code]
    links = monitor.study_links("links", "https://lab.example.org")
    assert links.plain in codes and links.prolific in codes
    assert back in codes
    assert at.button_group(key="monitor_refresh").value == "15 s"
    at.button_group(key="monitor_refresh").set_value("off")
    at = ui.ok(at.run())
    assert links.plain in [c.value for c in at.code]
