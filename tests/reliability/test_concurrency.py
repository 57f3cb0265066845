"""Many rater processes against one database at once (short version of bench_load).

Eight worker processes each drive a few raters through the service layer, on a real
SQLite file (WAL) and on PostgreSQL. Two of the workers drive the *same* raters, like
two browser tabs, so the same assignment is often submitted twice at the same
moment. Afterwards: every acknowledged judgment is in the database (zero lost), no
(rater, item) has two (zero duplicated), condition counts differ by at most one and
no item is over its target.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.load import WorkerSpec, check_guarantees, prepare_study, rater_ids, read_acks, read_outcomes, run_load

WORKERS = 8
RATERS_PER_WORKER = 3


def _specs(url: str, out: Path, *, twins: bool) -> list[WorkerSpec]:
    specs = [WorkerSpec(url=url, study="load", worker=w, raters=rater_ids(w, RATERS_PER_WORKER), out_dir=str(out),
                        seed=w, go_file=str(out / "go")) for w in range(WORKERS)]
    if twins:  # worker 1 is a second tab of worker 0's raters
        specs[1].raters = list(specs[0].raters)
    return specs


@pytest.mark.slow
def test_concurrent_raters_keep_every_guarantee(db_url: str, out_dir: Path) -> None:
    engine = prepare_study(db_url, n_items=24, items_per_rater=6, target_ratings_per_item=3,
                           practice_items=1, attention_checks=1)
    engine.dispose()
    elapsed = run_load(_specs(db_url, out_dir, twins=True), out_dir / "go", timeout_s=120)
    acks = read_acks(out_dir)
    result = check_guarantees(engine, "load", acks)
    assert result["ok"], result
    assert result["lost"] == 0 and result["duplicated"] == 0
    distinct_raters = WORKERS * RATERS_PER_WORKER - RATERS_PER_WORKER
    assert result["rater_status"] == {"completed": distinct_raters}, result
    assert result["judgments_in_db"] == distinct_raters * 8  # 1 practice + 6 main + 1 attention check
    assert result["balance"] <= 1 and result["max_item_load"] <= 3 and result["item_spread"] <= 1
    # The two tabs: whichever came second got the first judgment back, never a new one.
    twin = {a["assignment"]: set() for a in acks if a["w"] in (0, 1)}
    for a in acks:
        if a["w"] in (0, 1):
            twin[a["assignment"]].add(a["judgment"])
    assert all(len(ids) == 1 for ids in twin.values())
    assert elapsed < 60


@pytest.mark.slow
def test_simultaneous_arrivals_stay_balanced_when_the_study_fills(db_url: str, out_dir: Path) -> None:
    """More raters than places arrive at once: exactly the places are filled, evenly."""
    # 4 conditions x 12 items x target 2 / 4 items per rater = 6 places per condition.
    engine = prepare_study(db_url, n_items=12, items_per_rater=4, target_ratings_per_item=2,
                           practice_items=0, attention_checks=0)
    engine.dispose()
    specs = [WorkerSpec(url=db_url, study="load", worker=w, raters=rater_ids(w, 4), out_dir=str(out_dir),
                        seed=w, go_file=str(out_dir / "go")) for w in range(WORKERS)]
    run_load(specs, out_dir / "go", timeout_s=120)
    outcomes = [o for o in read_outcomes(out_dir) if o.get("outcome") in ("enrolled", "refused")]
    enrolled = [o for o in outcomes if o["outcome"] == "enrolled"]
    refused = [o for o in outcomes if o["outcome"] == "refused"]
    assert len(enrolled) == 24 and len(refused) == 8, (len(enrolled), len(refused))
    assert all("need" in o["error"] for o in refused)
    result = check_guarantees(engine, "load", read_acks(out_dir))
    assert result["ok"], result
    assert result["alive_by_condition"] == {"none": 6, "evidence": 6, "reasoning": 6, "debate": 6}
    assert result["max_item_load"] == 2 and result["item_spread"] == 0
