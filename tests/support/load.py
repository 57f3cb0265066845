"""Simulated raters in worker processes, and the checks of issue 7's guarantees.

Shared by ``benchmarks/bench_load.py`` and ``tests/reliability``. A worker drives
raters with :class:`study.driver.RaterDriver`, exactly as the rater page does (enrol,
consent, start, then ``rater_view`` -> ``submit_judgment`` until the view leaves the
item screen), and appends one JSON line per *acknowledged* judgment to
``acks-<worker>.jsonl`` (``os.write`` + ``fsync`` before the next request), so a
worker killed with ``kill -9`` leaves a record of exactly what the server confirmed.

:func:`check_guarantees` compares those records with the database:

* exactly once: every acknowledged judgment is in the database with the acknowledged
  label (zero lost) and no (rater, item) has two judgments (zero duplicated);
* balance: among raters who completed or are still inside the time limit, condition
  counts differ by at most one;
* items: per condition, no main item has more than ``target + 1`` assignments among
  live raters, and loads differ by at most one (``spread``).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from study.driver import Answer, RaterDriver, RaterView

T = TypeVar("T")

#: Transient database errors retried by the workers (lock timeouts, dropped connections).
RETRIES = 5


@dataclass
class WorkerSpec:
    """What one worker process does."""

    url: str
    study: str
    worker: int
    raters: list[str]
    out_dir: str
    seed: int = 0
    fsync: bool = True
    #: External id -> number of judgments after which that rater abandons the study.
    drop_after: dict[str, int] = field(default_factory=dict)
    #: Wait for this file to exist before starting (a start barrier across processes).
    go_file: str | None = None
    #: Seconds to sleep between judgments (0: as fast as possible).
    think_s: float = 0.0
    #: Before the start barrier, take one rater of this (separate) study through its
    #: items, so the measured run sees a warm app process (compiled statements, pooled
    #: connection, parsed config), as a long-running server does. None: start cold.
    warmup_study: str | None = None


def ack_path(out_dir: str | Path, worker: int) -> Path:
    return Path(out_dir) / f"acks-{worker}.jsonl"


def ready_path(out_dir: str | Path, worker: int) -> Path:
    """Touched by a worker when it is ready to start (after any warm-up)."""
    return Path(out_dir) / f"ready-{worker}"


def outcome_path(out_dir: str | Path, worker: int) -> Path:
    return Path(out_dir) / f"raters-{worker}.jsonl"


class _AppendLog:
    """Append-only JSON-lines file; each line is written with one ``write`` and fsynced."""

    def __init__(self, path: Path, fsync: bool):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.fsync = fsync

    def write(self, record: dict[str, Any]) -> None:
        os.write(self.fd, (json.dumps(record, separators=(",", ":")) + "\n").encode())
        if self.fsync:
            os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


class _Retry:
    """A :class:`study.driver.Caller` that retries transient database errors, counting them."""

    def __init__(self, counter: Counter[str]) -> None:
        self.counter = counter

    def __call__(self, call: Callable[[], T], /) -> T:
        for attempt in range(RETRIES):
            try:
                return call()
            except OperationalError:
                if attempt == RETRIES - 1:
                    raise
                self.counter["retries"] += 1
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")


def _answer(view: RaterView, rng: random.Random) -> Answer:
    """A random label (the asked one on attention checks) and a confidence on the slider's grid."""
    item = view.item
    assert item is not None
    label = rng.choice(view.labels)
    if item.is_attention_check:  # the fixture checks say "please answer '<label>'"
        label = next((lab for lab in view.labels if f"'{lab}'" in item.claim), label)
    steps = round((view.confidence_max - view.confidence_min) / view.confidence_step)
    return Answer(label, round(view.confidence_min + rng.randint(0, steps) * view.confidence_step, 4))


def run_worker(spec: WorkerSpec) -> None:
    """Drive ``spec.raters`` one after another; safe to run again after a crash (resumes)."""
    from study.db import get_engine

    get_engine.cache_clear()  # never reuse a pool inherited through fork
    engine = get_engine(spec.url)
    rng = random.Random(f"load:{spec.seed}:{spec.worker}:{os.getpid()}")
    acks = _AppendLog(ack_path(spec.out_dir, spec.worker), spec.fsync)
    outcomes = _AppendLog(outcome_path(spec.out_dir, spec.worker), False)
    counter: Counter[str] = Counter()
    if spec.warmup_study:
        _warm_up(engine, spec.warmup_study, f"warm-{spec.worker:02d}-{os.getpid()}", rng)
    ready_path(spec.out_dir, spec.worker).touch()
    if spec.go_file:
        while not os.path.exists(spec.go_file):
            time.sleep(0.005)
    cpu0 = time.process_time()
    for ext in spec.raters:
        _run_rater(RaterDriver(engine, spec.study, ext, caller=_Retry(counter)), spec, rng, acks, outcomes)
    outcomes.write({"outcome": "worker_done", "retries": counter["retries"], "cpu_s": time.process_time() - cpu0})
    acks.close()
    outcomes.close()
    engine.dispose()


def _run_rater(driver: RaterDriver, spec: WorkerSpec, rng: random.Random, acks: _AppendLog,
               outcomes: _AppendLog) -> None:
    """One rater through its items (or until ``spec.drop_after``), timing each call."""
    from study.assignment import StudyFull
    from study.service import ServiceError

    ext = driver.external_id
    t0 = time.perf_counter()
    try:  # the condition and items are chosen at consent, so a full study refuses there
        created = driver.enrol().created
        condition = driver.consent()
    except (StudyFull, ServiceError) as err:
        outcomes.write({"rater": ext, "outcome": "refused", "error": str(err)[:200]})
        return
    outcomes.write({"rater": ext, "outcome": "enrolled", "created": created,
                    "condition": condition, "enrol_ms": (time.perf_counter() - t0) * 1000})
    driver.start()
    done = 0
    while True:
        t0 = time.perf_counter()
        view = driver.view()
        view_ms = (time.perf_counter() - t0) * 1000
        if view.screen != "item" or view.item is None or done >= spec.drop_after.get(ext, 1 << 30):
            outcomes.write({"rater": ext, "outcome": "left", "screen": view.screen, "status": view.status,
                            "position": view.position, "judged_here": done})
            return
        answer = _answer(view, rng)
        aid = view.item.assignment_id
        t0 = time.perf_counter()
        result = driver.submit(view, Answer(answer.label, answer.confidence,
                                            submission_key=f"{aid}:{answer.label}:{answer.confidence}"))
        latency = (time.perf_counter() - t0) * 1000
        acks.write({"w": spec.worker, "rater": ext, "assignment": aid, "judgment": result.judgment_id,
                    "label": answer.label, "recorded": result.recorded, "ms": round(latency, 3),
                    "view_ms": round(view_ms, 3), "t": time.time()})
        done += 1
        if spec.think_s:
            time.sleep(spec.think_s)


def _warm_up(engine: Engine, study: str, external_id: str, rng: random.Random) -> None:
    """One rater of ``study`` through every item, untimed and unrecorded."""
    RaterDriver(engine, study, external_id).run(lambda view: _answer(view, rng))


def worker_main(spec_json: str) -> None:
    """Entry for ``PYTHONPATH=tests python -m support.load '<spec json>'``."""
    run_worker(WorkerSpec(**json.loads(spec_json)))


def spec_json(spec: WorkerSpec) -> str:
    return json.dumps(asdict(spec))


# --------------------------------------------------------------------------- orchestration


def prepare_study(url: str, name: str = "load", *, n_items: int = 160, **overrides: Any) -> Engine:
    """Migrate ``url``, create and launch a study with fixture items; returns the engine."""
    from study.db import get_engine, upgrade
    from study.testing import fixture_items, ready_study, small_config

    upgrade(url)
    engine = get_engine(url)
    config = small_config(name, **overrides)
    ready_study(engine, config, fixture_items(n_items, n_practice=2, n_attention=2, seed=1))
    return engine


def rater_ids(worker: int, n: int, prefix: str = "r") -> list[str]:
    return [f"{prefix}{worker:02d}-{j:03d}" for j in range(n)]


def start_workers(specs: list[WorkerSpec]) -> list[Any]:
    """One forked process per spec (the parent's imports are shared; pools are not)."""
    import multiprocessing

    # Children clear the engine cache first and exit through os._exit, so pooled
    # connections inherited from the parent are never used or closed by them.
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=run_worker, args=(spec,), name=f"load-worker-{spec.worker}") for spec in specs]
    for p in procs:
        p.start()
    return procs


def run_load(specs: list[WorkerSpec], go_file: Path, timeout_s: float = 600) -> float:
    """Start the workers, open the barrier, wait; returns seconds from go to the last exit."""
    procs = start_workers(specs)
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline and any(p.is_alive() for p in procs) and not all(
            ready_path(spec.out_dir, spec.worker).exists() for spec in specs):
        time.sleep(0.01)  # every worker is connected (and warmed up, if asked): open the barrier
    time.sleep(0.05)
    go_file.touch()
    t0 = time.perf_counter()
    for p in procs:
        p.join(max(1.0, timeout_s - (time.perf_counter() - t0)))
    elapsed = time.perf_counter() - t0
    bad = [(p.name, p.exitcode) for p in procs if p.exitcode != 0]
    for p in procs:
        if p.is_alive():
            p.kill()
    if bad:
        raise RuntimeError(f"workers failed: {bad}")
    return elapsed


# --------------------------------------------------------------------------- reading results


def read_jsonl(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Records from append-only logs; a torn last line (killed writer) is skipped."""
    out: list[dict[str, Any]] = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def read_acks(out_dir: str | Path) -> list[dict[str, Any]]:
    return read_jsonl(sorted(Path(out_dir).glob("acks-*.jsonl")))


def read_outcomes(out_dir: str | Path) -> list[dict[str, Any]]:
    return read_jsonl(sorted(Path(out_dir).glob("raters-*.jsonl")))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[k], 3)


def latency_summary(acks: list[dict[str, Any]]) -> dict[str, Any]:
    ms = [a["ms"] for a in acks]
    view = [a["view_ms"] for a in acks if "view_ms" in a]
    return {
        "submit_p50_ms": percentile(ms, 50), "submit_p99_ms": percentile(ms, 99),
        "submit_max_ms": round(max(ms), 3) if ms else None,
        "submit_mean_ms": round(statistics.fmean(ms), 3) if ms else None,
        "view_p50_ms": percentile(view, 50), "view_p99_ms": percentile(view, 99),
    }


# --------------------------------------------------------------------------- guarantees


def _db_state(engine: Engine, study: str) -> dict[str, Any]:
    from study import models as m
    from study.config import parse_config
    from study.db import read_session
    from study.service import _study

    with read_session(engine) as s:
        st = _study(s, study)
        config = parse_config(st.config)
        raters = s.execute(
            select(m.Rater.id, m.Rater.external_id, m.Rater.status, m.Rater.enrolled_at, m.Rater.condition_order)
            .where(m.Rater.study_id == st.id)
        ).all()
        judgments = s.execute(
            select(m.Judgment.id, m.Judgment.rater_id, m.Judgment.item_pk, m.Judgment.assignment_id, m.Judgment.label)
            .join(m.Rater, m.Rater.id == m.Judgment.rater_id).where(m.Rater.study_id == st.id)
        ).all()
        assignments = s.execute(
            select(m.Assignment.id, m.Assignment.rater_id, m.Assignment.item_pk, m.Condition.key,
                   m.Assignment.stage, m.Assignment.is_attention_check)
            .join(m.Condition, m.Condition.id == m.Assignment.condition_id)
            .join(m.Rater, m.Rater.id == m.Assignment.rater_id).where(m.Rater.study_id == st.id)
        ).all()
        main_items = list(s.scalars(select(m.Item.id).where(m.Item.study_id == st.id, m.Item.role == "main")))
        now = m.utcnow()
    return {"config": config, "raters": raters, "judgments": judgments, "assignments": assignments,
            "main_items": main_items, "now": now}


def check_guarantees(engine: Engine, study: str, acks: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare acknowledged judgments with the database and check balance and item loads."""
    db = _db_state(engine, study)
    config = db["config"]
    by_id = {j.id: j for j in db["judgments"]}
    lost = [a for a in acks
            if a["judgment"] not in by_id or (a["recorded"] and by_id[a["judgment"]].label != a["label"])]
    per_pair = Counter((j.rater_id, j.item_pk) for j in db["judgments"])
    duplicated = sum(n - 1 for n in per_pair.values() if n > 1)
    ack_ids_per_assignment: dict[int, set[int]] = defaultdict(set)
    for a in acks:
        ack_ids_per_assignment[a["assignment"]].add(a["judgment"])
    duplicated += sum(len(ids) - 1 for ids in ack_ids_per_assignment.values() if len(ids) > 1)

    cutoff = db["now"] - timedelta(minutes=config.time_limit_minutes)
    alive = {r.id for r in db["raters"]
             if r.status == "completed" or (r.status in ("enrolled", "active") and r.enrolled_at >= cutoff)}
    conditions = [c.key for c in config.conditions]
    counts = Counter(r.condition_order[0] for r in db["raters"] if r.id in alive and r.condition_order)
    balance = max(counts.get(k, 0) for k in conditions) - min(counts.get(k, 0) for k in conditions)

    loads: dict[str, Counter[int]] = {k: Counter() for k in conditions}
    for a in db["assignments"]:
        if a.rater_id in alive and a.stage == "main" and not a.is_attention_check:
            loads[a.key][a.item_pk] += 1
    target = config.target_ratings_per_item
    max_load = max((n for c in loads.values() for n in c.values()), default=0)
    spread = max((max(c.get(pk, 0) for pk in db["main_items"]) - min(c.get(pk, 0) for pk in db["main_items"])
                  for c in loads.values()), default=0)
    judged_per_rater = Counter(j.rater_id for j in db["judgments"])
    assigned_per_rater = Counter(a.rater_id for a in db["assignments"])
    status = Counter(r.status for r in db["raters"])
    incomplete = sum(1 for r in db["raters"] if r.status == "completed"
                     and judged_per_rater[r.id] != assigned_per_rater[r.id])
    result = {
        "acknowledged": len(acks),
        "judgments_in_db": len(db["judgments"]),
        "lost": len(lost),
        "duplicated": duplicated,
        "not_recorded_acks": sum(1 for a in acks if not a["recorded"]),
        "raters": len(db["raters"]),
        "rater_status": dict(status),
        "alive_by_condition": {k: counts.get(k, 0) for k in conditions},
        "balance": balance,
        "target": target,
        "max_item_load": max_load,
        "item_spread": spread,
        "completed_with_missing_judgments": incomplete,
    }
    result["ok"] = (not lost and duplicated == 0 and balance <= 1 and max_load <= target + 1
                    and incomplete == 0)
    result["lost_examples"] = lost[:3]
    return result


if __name__ == "__main__":
    import sys

    worker_main(sys.argv[1])
