"""The participants table and the review in the console."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from study import review
from study.bonus import BonusRule
from study.export import judgments_frame
from study.participants import participants
from study.simulate import simulate_study
from study.testing import ready_study, small_config
from study.ui.console.participants_view import COMPACT


def test_participants_review_and_prolific_lists(app_engine: Engine, ui, console) -> None:
    ready_study(app_engine, small_config("pp", bonus={"per_correct": 0.1}))
    simulate_study(app_engine, "pp", 6, seed=2)
    at = console()
    at.radio(key="console_section").set_value("Participants")
    at = ui.ok(at.run())
    expected = participants(app_engine, "pp")
    pd.testing.assert_frame_equal(ui.frame(at, "participants_all").reset_index(drop=True), expected, check_dtype=False)
    shown = ui.frame(at, "participants")
    assert list(shown.columns) == list(COMPACT) and len(shown) == 6
    first, second = shown["rater_id"].iloc[:2]

    at.multiselect(key="review_raters").select(first)
    at.selectbox(key="review_decision").set_value("reject")
    at = ui.ok(at.button(key="review_apply").click().run())
    assert "give a reason to reject" in at.error[0].value  # nothing recorded without a reason
    assert review.approvals_frame(app_engine, "pp").empty

    at.multiselect(key="review_raters").select(first).select(second)
    at.selectbox(key="review_decision").set_value("exclude")
    at.text_input(key="review_reason").input("straight-lined")
    at = ui.ok(at.button(key="review_apply").click().run())
    assert "Recorded **exclude** for 2 rater(s)." in ui.texts(at)
    table = ui.frame(at, "participants_all").set_index("rater_id")
    assert table.loc[[first, second], "excluded"].all() and table.loc[first, "reason"] == "straight-lined"
    assert ui.frame(at, "participants").set_index("rater_id").loc[first, "review"] == "excluded"
    assert {m.label: m.value for m in at.metric}["Excluded from analysis"] == "2"

    at.multiselect(key="review_raters").select(first)
    at.selectbox(key="review_decision").set_value("approve")
    at = ui.ok(at.button(key="review_apply").click().run())
    buttons = {b.key: b for b in at.get("download_button")}
    assert buttons["download_approvals"].proto.label == "approvals.csv (1 decisions)"
    bonus = review.bonus_frame(app_engine, "pp", judgments_frame(app_engine, "pp"), BonusRule(per_correct=0.1))
    assert len(bonus) > 0 and buttons["download_bonus"].proto.label.startswith(f"bonus.csv ({len(bonus)} raters")
    assert review.approvals_frame(app_engine, "pp").values.tolist() == [[first, "APPROVE", ""]]
