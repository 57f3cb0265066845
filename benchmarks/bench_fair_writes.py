"""Fair writes: a rater of one study while a large item bank is imported into another.

One thread imports ``--items`` items into a draft study (``service.import_items``);
another plays a rater of a live study, timing each page step (``rater_view`` then
``submit_judgment``, what a page load after Submit does). Prints one JSON object:
import seconds, rater steps during the import and their p50 / p95 / max seconds.

    python benchmarks/bench_fair_writes.py --db sqlite
    python benchmarks/bench_fair_writes.py --db postgres --items 100000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid

PG_ADMIN_URL = os.environ.get("OVERSIGHT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _url(db: str) -> tuple[str, object]:
    if db == "sqlite":
        tmp = tempfile.TemporaryDirectory()
        return f"sqlite:///{tmp.name}/fair.db", tmp
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}", (admin, schema)


def _cleanup(handle: object) -> None:
    if isinstance(handle, tuple):
        from sqlalchemy import text

        admin, schema = handle
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        handle.cleanup()  # type: ignore[attr-defined]


def _rater(engine: object, stop: threading.Event, steps: list[float]) -> None:
    from study import rater as raters

    k = 0
    while not stop.is_set():
        token = raters.enrol(engine, "live", f"r{k}").token  # type: ignore[arg-type]
        raters.consent(engine, token)  # type: ignore[arg-type]
        raters.start(engine, token)  # type: ignore[arg-type]
        k += 1
        while not stop.is_set():
            t0 = time.perf_counter()
            view = raters.rater_view(engine, token)  # type: ignore[arg-type]
            if view.screen != "item" or view.item is None:
                break
            raters.submit_judgment(engine, token, view.item.assignment_id, "correct", 0.8)  # type: ignore[arg-type]
            steps.append(time.perf_counter() - t0)
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    from study import service
    from study.config import parse_config
    from study.db import get_engine, upgrade
    from study.testing import ready_study, small_config
    from tasks.items import Item, Source

    url, handle = _url(args.db)
    try:
        upgrade(url)
        engine = get_engine(url)
        ready_study(engine, small_config("live", practice_items=0, attention_checks=0, items_per_rater=10,
                                         target_ratings_per_item=1000))
        service.create_study(engine, parse_config(small_config("big")))
        bank = [Item(item_id=f"big-{i}", claim=f"Claim {i}: the value is {i * 7}.", gold_label="correct",
                     context=f"What is value {i}?", sources=[Source(title=f"Source {i}", text=f"The value is {i * 7}.")])
                for i in range(args.items)]
        stop, steps = threading.Event(), []  # type: ignore[var-annotated]
        rater = threading.Thread(target=_rater, args=(engine, stop, steps))
        rater.start()
        t0 = time.perf_counter()
        service.import_items(engine, "big", bank)
        seconds = time.perf_counter() - t0
        stop.set()
        rater.join()
        engine.dispose()
    finally:
        _cleanup(handle)
    ordered = sorted(steps)
    print(json.dumps({
        "backend": args.db, "items": args.items, "import_s": round(seconds, 1), "rater_steps": len(ordered),
        "step_p50_s": round(ordered[len(ordered) // 2], 3) if ordered else None,
        "step_p95_s": round(ordered[int(len(ordered) * 0.95)], 3) if ordered else None,
        "step_max_s": round(ordered[-1], 3) if ordered else None,
    }))


if __name__ == "__main__":
    main()
