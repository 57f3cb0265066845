"""kill -9 during load: acknowledged judgments survive and raters resume.

Workers append every acknowledged judgment to an fsynced file. Three of six workers
are killed with SIGKILL in the middle of the run (possibly inside a transaction),
then started again with the same raters. Afterwards every acknowledged judgment is
in the database, nothing is duplicated, every rater finished, and each rater's
judgments follow their assignment order with no gap (they resumed at the item they
were on, not before or after it).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select
from support.load import (
    WorkerSpec,
    check_guarantees,
    prepare_study,
    rater_ids,
    read_acks,
    read_outcomes,
    start_workers,
)

from study import models as m
from study.db import read_session

N_WORKERS = 6
KILLED = (0, 1, 2)


def _wait_for_acks(out: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(read_acks(out)) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {n} acknowledgements after {timeout}s")
        time.sleep(0.02)


@pytest.mark.slow
def test_kill_9_workers_then_resume(db_url: str, out_dir: Path) -> None:
    engine = prepare_study(db_url, n_items=24, items_per_rater=8, target_ratings_per_item=4,
                           practice_items=1, attention_checks=1)
    engine.dispose()
    specs = [WorkerSpec(url=db_url, study="load", worker=w, raters=rater_ids(w, 3), out_dir=str(out_dir), seed=w,
                        fsync=True, think_s=0.01) for w in range(N_WORKERS)]
    procs = start_workers(specs)
    _wait_for_acks(out_dir, 40)
    for w in KILLED:
        procs[w].kill()  # SIGKILL: no cleanup, possibly mid-transaction
    for w in KILLED:
        procs[w].join(10)
        assert procs[w].exitcode == -9
    acked_before_restart = {a["judgment"] for a in read_acks(out_dir)}
    restarted = start_workers([specs[w] for w in KILLED])
    for p in [*procs, *restarted]:
        p.join(120)
    assert all(p.exitcode == 0 for p in [procs[w] for w in range(N_WORKERS) if w not in KILLED] + restarted)

    acks = read_acks(out_dir)
    assert acked_before_restart <= {a["judgment"] for a in acks}
    result = check_guarantees(engine, "load", acks)
    assert result["ok"], result
    assert result["rater_status"] == {"completed": N_WORKERS * 3}
    # At most one judgment per killed worker was committed but never acknowledged.
    assert result["judgments_in_db"] - len({a["judgment"] for a in acks}) <= len(KILLED)
    resumed = [o for o in read_outcomes(out_dir) if o.get("outcome") == "enrolled" and not o["created"]]
    assert resumed, "no killed worker was in the middle of a rater"
    with read_session(engine) as s:
        rows = s.execute(select(m.Judgment.rater_id, m.Judgment.id, m.Assignment.position)
                         .join(m.Assignment, m.Assignment.id == m.Judgment.assignment_id)).all()
    positions: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for rater_id, judgment_id, position in rows:
        positions[rater_id].append((judgment_id, position))
    for seq in positions.values():
        assert [p for _, p in sorted(seq)] == list(range(len(seq)))  # in order, no gap, no repeat
