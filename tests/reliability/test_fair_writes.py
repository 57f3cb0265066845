"""Fair writes: a 100k-item import into one study never holds up another study's raters.

While ``service.import_items`` writes 100,000 items into a draft study in one thread,
a rater of a live study loads pages and answers (``rater_view`` + ``submit_judgment``,
what every page load after Submit does) in another; every such step must take under
2 s (the issue measured 34 s). The import must still be all or nothing: a failure in
a late chunk leaves no item behind, and a launched study never counts unfinished rows.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from study import bulk, service
from study import models as m
from study import rater as raters
from study.config import parse_config
from study.testing import ready_study, small_config
from tasks.items import Item, Source

N_ITEMS = 100_000
MAX_STEP_S = 2.0


def _bank(n: int, prefix: str = "big") -> list[Item]:
    return [Item(item_id=f"{prefix}-{i}", claim=f"Claim {i}: the value is {i * 7}.", gold_label="correct" if i % 2 else "incorrect",
                 context=f"What is value {i}?", sources=[Source(title=f"Source {i}", text=f"The value is {i * 7}.")])
            for i in range(n)]


def _rater_steps(engine: Engine, stop: threading.Event) -> list[float]:
    """Rater page loads (view + answer) of study 'live' until ``stop``; returns each step's seconds."""
    steps: list[float] = []
    k = 0
    while not stop.is_set():
        token = raters.enrol(engine, "live", f"r{k}").token
        raters.consent(engine, token)
        raters.start(engine, token)
        k += 1
        while not stop.is_set():
            t0 = time.perf_counter()
            view = raters.rater_view(engine, token)
            if view.screen != "item" or view.item is None:
                break
            raters.submit_judgment(engine, token, view.item.assignment_id, "correct", 0.8)
            steps.append(time.perf_counter() - t0)
            time.sleep(0.02)
    return steps


def test_a_large_import_does_not_stall_another_studys_raters(engine: Engine) -> None:
    ready_study(engine, small_config("live", practice_items=0, attention_checks=0, items_per_rater=10,
                                     target_ratings_per_item=1000))
    service.create_study(engine, parse_config(small_config("big")))
    bank = _bank(N_ITEMS)
    done: dict[str, object] = {}

    def run_import() -> None:
        t0 = time.perf_counter()
        try:
            done["n"] = service.import_items(engine, "big", bank)
        except Exception as err:  # noqa: BLE001 - reported below
            done["error"] = err
        done["seconds"] = time.perf_counter() - t0

    stop = threading.Event()
    importer = threading.Thread(target=run_import)
    importer.start()
    result: list[list[float]] = []
    rater = threading.Thread(target=lambda: result.append(_rater_steps(engine, stop)))
    rater.start()
    importer.join(timeout=900)
    stop.set()
    rater.join(timeout=60)
    assert "error" not in done, done.get("error")
    steps = result[0]
    print(f"\n{engine.dialect.name}: import {N_ITEMS} items in {done['seconds']:.1f} s; "
          f"{len(steps)} rater steps, max {max(steps):.3f} s, median {sorted(steps)[len(steps) // 2]:.3f} s")
    assert done["n"] == N_ITEMS
    assert len(steps) >= 10, "the rater made almost no progress during the import"
    assert max(steps) < MAX_STEP_S, sorted(steps)[-5:]
    with engine.connect() as conn:
        study_id = conn.scalar(select(m.Study.id).where(m.Study.name == "big"))
        assert conn.scalar(select(func.count()).select_from(m.Item).where(m.Item.study_id == study_id)) == N_ITEMS
        assert conn.scalar(select(func.count()).select_from(m.Source).join(m.Item).where(m.Item.study_id == study_id)) == N_ITEMS
    with Session(engine) as s:
        assert bulk.unfinished_import(s, study_id) is None


def _counts(engine: Engine, name: str) -> tuple[int, int]:
    with engine.connect() as conn:
        study_id = conn.scalar(select(m.Study.id).where(m.Study.name == name))
        items = conn.scalar(select(func.count()).select_from(m.Item).where(m.Item.study_id == study_id)) or 0
        sources = conn.scalar(select(func.count()).select_from(m.Source).join(m.Item).where(m.Item.study_id == study_id)) or 0
    return items, sources


def test_a_failure_in_a_late_chunk_leaves_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    service.create_study(engine, parse_config(small_config("s")))
    service.import_items(engine, "s", _bank(3, "first"))
    real = bulk._insert_item_chunk
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "_insert_item_chunk", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        service.import_items(engine, "s", _bank(bulk.CHUNK_ROWS * 5))
    assert calls["n"] == 4  # three chunks were written, then removed again
    assert _counts(engine, "s") == (3, 3)
    monkeypatch.setattr(bulk, "_insert_item_chunk", real)
    assert service.import_items(engine, "s", _bank(bulk.CHUNK_ROWS * 2)) == bulk.CHUNK_ROWS * 2  # the same ids import cleanly


def test_unfinished_import_blocks_launch_and_is_swept_when_stale(engine: Engine) -> None:
    ready_study(engine, small_config("s"), launch=False)
    with engine.begin() as conn:  # as if the importing process had been killed after its first chunk
        conn.execute(update(m.Item).where(m.Item.item_id.in_(["item-000", "item-001"]))
                     .values(import_batch="pending-dead", created_at=m.utcnow() - timedelta(minutes=1)))
    with pytest.raises(service.ServiceError, match="import that has not finished"):
        service.set_status(engine, "s", "live")
    n_before = _counts(engine, "s")[0]
    service.import_items(engine, "s", _bank(2, "new"))  # not stale yet: kept
    assert _counts(engine, "s")[0] == n_before + 2
    with engine.begin() as conn:
        conn.execute(update(m.Item).where(m.Item.import_batch == "pending-dead")
                     .values(created_at=m.utcnow() - bulk.STALE_AFTER - timedelta(seconds=5)))
    service.import_items(engine, "s", _bank(2, "newer"))
    assert _counts(engine, "s")[0] == n_before + 2 + 2 - 2


def test_assistance_is_written_in_chunks(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from study.testing import fixture_assistance_rows

    config = parse_config(small_config("s", conditions=[{"key": "none", "assistance": "none"}]))
    service.create_study(engine, config)
    items = _bank(bulk.CHUNK_ROWS * 3 + 7)
    service.import_items(engine, "s", items)
    rows = fixture_assistance_rows(items, config.labels, seed=1)  # one row per item and kind
    transactions = {"n": 0}
    real = bulk.write_session

    def counting(engine_: Engine):  # type: ignore[no-untyped-def]
        transactions["n"] += 1
        return real(engine_)

    monkeypatch.setattr(bulk, "write_session", counting)
    assert service.add_assistance(engine, "s", rows) == len(rows)
    assert transactions["n"] == -(-len(rows) // bulk.CHUNK_ROWS)  # ceil: every chunk full but the last
    assert service.add_assistance(engine, "s", rows) == 0  # resumable: nothing twice
    assert service.assistance_status(engine, "s") == dict.fromkeys(("debate", "evidence", "reasoning", "verdict"), len(items))
