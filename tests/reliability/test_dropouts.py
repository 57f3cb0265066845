"""Dropouts free their slot after the time limit, under concurrent arrivals.

The study has exactly 32 places (4 conditions x 8). 32 raters arrive at once from 8
processes; 8 of them give up after two items. While the dropouts are still inside the
time limit they hold their places (a newcomer is told the study is full). Once the
limit has passed (simulated by moving their enrolment time back), 12 newcomers
arrive at once: exactly 8 get in, each into a freed condition and onto freed items,
and the dropouts can no longer answer.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from support.load import WorkerSpec, check_guarantees, prepare_study, rater_ids, read_acks, read_outcomes, run_load

from study import models as m
from study import rater, service
from study.db import read_session, write_session
from study.testing import join


@pytest.mark.slow
def test_dropouts_free_their_slots_after_the_time_limit(db_url: str, out_dir: Path) -> None:
    engine = prepare_study(db_url, n_items=16, items_per_rater=4, target_ratings_per_item=2,
                           practice_items=0, attention_checks=0, time_limit_minutes=30)
    engine.dispose()
    first = [rater_ids(w, 4) for w in range(8)]
    dropouts = [ids[0] for ids in first]
    specs = [WorkerSpec(url=db_url, study="load", worker=w, raters=first[w], out_dir=str(out_dir), seed=w,
                        go_file=str(out_dir / "go"), drop_after={first[w][0]: 2}) for w in range(8)]
    run_load(specs, out_dir / "go", timeout_s=120)
    before = check_guarantees(engine, "load", read_acks(out_dir))
    assert before["ok"], before
    assert before["rater_status"] == {"completed": 24, "active": 8}
    assert before["alive_by_condition"] == {"none": 8, "evidence": 8, "reasoning": 8, "debate": 8}
    with pytest.raises(service.StudyFull):  # refused at consent: a visit holds nothing before
        join(engine, "load", "too-early")

    with write_session(engine) as s:  # the time limit passes for the dropouts
        s.execute(update(m.Rater).where(m.Rater.external_id.in_(dropouts))
                  .values(enrolled_at=m.utcnow() - timedelta(minutes=31)))
    with read_session(engine) as s:
        late_token = s.scalar(select(m.Rater.token).where(m.Rater.external_id == dropouts[0]))
    view = rater.rater_view(engine, late_token)
    assert view.screen == "done" and view.status == "timed_out" and view.completion_code == "TIMEOUT"

    out2 = out_dir / "phase2"
    out2.mkdir()
    specs2 = [WorkerSpec(url=db_url, study="load", worker=10 + w, raters=rater_ids(10 + w, 3, "n"),
                         out_dir=str(out2), seed=w, go_file=str(out2 / "go")) for w in range(4)]
    engine.dispose()
    run_load(specs2, out2 / "go", timeout_s=120)
    outcomes = [o for o in read_outcomes(out2) if o.get("outcome") in ("enrolled", "refused")]
    assert sum(o["outcome"] == "enrolled" for o in outcomes) == 8, outcomes
    assert sum(o["outcome"] == "refused" for o in outcomes) == 4
    assert service.expire_raters(engine, "load") == 7  # the other dropouts (one timed out above)

    after = check_guarantees(engine, "load", read_acks(out_dir) + read_acks(out2))
    assert after["ok"], after
    # the 5 refused at consent stay unconsented visits (holding nothing) until they are swept
    assert after["rater_status"] == {"completed": 32, "timed_out": 8, "enrolled": 5}
    assert after["alive_by_condition"] == {"none": 8, "evidence": 8, "reasoning": 8, "debate": 8}
    assert after["max_item_load"] == 2 and after["item_spread"] == 0
    with read_session(engine) as s:
        kept = s.scalar(select(m.Rater.id).where(m.Rater.external_id == dropouts[1]))
        n_kept = len(s.scalars(select(m.Judgment.id).where(m.Judgment.rater_id == kept)).all())
    assert n_kept == 2  # a dropout's answers are kept (and marked timed_out in exports)
