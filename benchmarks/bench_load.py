"""Concurrent raters: N worker processes drive simulated raters against one database.

Every worker enrols its raters, consents, starts and answers every item through the
service layer (``study.rater``), timing each ``submit_judgment`` and appending each
acknowledged judgment to an fsynced file. Afterwards the acknowledgements are compared
with the database and the balance / item-load guarantees checked (issue 7). Prints one
JSON object: judgments/s, p50/p99 latency of recording a judgment, and the checks.

The workers and checks are ``support.load`` (tests/support/load.py, shared with
tests/reliability), so run it from the repository root with ``tests`` on the path:

    PYTHONPATH=tests python benchmarks/bench_load.py --db sqlite     # temporary SQLite file (WAL)
    PYTHONPATH=tests python benchmarks/bench_load.py --db postgres   # fresh schema in $OVERSIGHT_TEST_PG
    PYTHONPATH=tests python benchmarks/bench_load.py --db postgres --workers 16 --raters 8 --items-per-rater 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import uuid
from pathlib import Path

try:
    from support.load import (
        WorkerSpec,
        check_guarantees,
        latency_summary,
        prepare_study,
        rater_ids,
        read_acks,
        read_outcomes,
        run_load,
    )
except ModuleNotFoundError as err:  # pragma: no cover - a usage error, not a result
    raise SystemExit("bench_load needs tests/support: run `PYTHONPATH=tests python benchmarks/bench_load.py`"
                     " from the repository root") from err

PG_ADMIN_URL = os.environ.get("OVERSIGHT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_schema_url() -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def bench(url: str, workers: int, raters: int, items_per_rater: int, fsync: bool, out: Path, warm: bool = True) -> dict:
    conditions = 4
    total_raters = workers * raters
    per_condition = -(-total_raters // conditions)
    target = 5
    n_items = max(items_per_rater, -(-per_condition * items_per_rater // target))
    engine = prepare_study(url, "load", n_items=n_items, items_per_rater=items_per_rater,
                           target_ratings_per_item=target, practice_items=1, attention_checks=1)
    if warm:  # a separate study, so the warm-up raters never touch the measured one
        prepare_study(url, "warmup", n_items=max(8, workers), items_per_rater=2, target_ratings_per_item=workers,
                      practice_items=1, attention_checks=1)
    engine.dispose()
    specs = [WorkerSpec(url=url, study="load", worker=w, raters=rater_ids(w, raters), out_dir=str(out),
                        seed=w, fsync=fsync, go_file=str(out / "go"), warmup_study="warmup" if warm else None)
             for w in range(workers)]
    elapsed = run_load(specs, out / "go")
    acks = read_acks(out)
    worker_cpu = sum(o.get("cpu_s", 0.0) for o in read_outcomes(out) if o.get("outcome") == "worker_done")
    checks = check_guarantees(engine, "load", acks)
    engine.dispose()
    return {
        "backend": engine.dialect.name,
        "workers": workers,
        "raters": total_raters,
        "items_per_rater": items_per_rater,
        "judgments": len(acks),
        "seconds": round(elapsed, 3),
        "judgments_per_s": round(len(acks) / elapsed, 1),
        **latency_summary(acks),
        # CPU of the worker processes (service layer + client) from the barrier to the end,
        # per judgment (includes enrolment, consent and start); the database server's is not in it.
        "worker_cpu_ms_per_judgment": round(1000 * worker_cpu / max(1, len(acks)), 3),
        "fsync_acks": fsync,
        "warm_workers": warm,
        "checks": checks,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1m_after": round(os.getloadavg()[0], 2)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite", help="sqlite, postgres, or a SQLAlchemy URL")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--raters", type=int, default=8, help="raters per worker")
    ap.add_argument("--items-per-rater", type=int, default=20)
    ap.add_argument("--no-fsync", action="store_true", help="do not fsync the acknowledgement files")
    ap.add_argument("--cold", action="store_true",
                    help="no warm-up: each worker's one-time start-up (connect, statement compilation) is timed too")
    args = ap.parse_args()
    schema = None
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        out = Path(tmp)
        if args.db == "sqlite":
            url = f"sqlite:///{out / 'load.db'}"
        elif args.db == "postgres":
            url, schema = _pg_schema_url()
        else:
            url = args.db
        try:
            result = bench(url, args.workers, args.raters, args.items_per_rater, not args.no_fsync, out, not args.cold)
        finally:
            if schema:
                from study.db import get_engine

                get_engine.cache_clear()
                _drop_schema(schema)
    print(json.dumps(result, indent=2, default=str))
    if not result["checks"]["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
