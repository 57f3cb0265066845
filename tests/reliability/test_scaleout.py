"""Scale-out: two app servers on different ports share one PostgreSQL.

Both ``streamlit run app.py`` servers must answer ``/_stcore/health``. While they are
up, service-level raters in 6 worker processes and real Chromium raters on *both*
servers (two each) take the study at the same time. Afterwards the guarantees hold
over everyone: nothing lost or duplicated, conditions balanced to within one, no item
over its target, and every browser rater got the completion code.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select
from support.load import WorkerSpec, check_guarantees, prepare_study, rater_ids, read_acks, start_workers

from study import models as m
from study.db import read_session


def _complete_in_browser(browser: object, base: str, rater: str) -> str:
    from support.rater_bot import RaterBot

    page = browser.new_page()  # type: ignore[attr-defined]
    try:
        bot = RaterBot(page, base, timeout_s=60)
        bot.open(rater, study="load")
        for _ in range(40):
            if bot.probe()["screen"] == "completion_code":
                return bot.completion_code()
            bot.step()
        raise AssertionError(f"{rater} on {base} never finished")
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.browser
def test_two_app_servers_share_one_postgres(browser_ready: None, pg_url: str, out_dir: Path, tmp_path: Path) -> None:
    from support.rater_bot import chromium, streamlit_server

    engine = prepare_study(pg_url, n_items=40, items_per_rater=6, target_ratings_per_item=4,
                           practice_items=1, attention_checks=1)
    engine.dispose()
    with streamlit_server(pg_url, log=tmp_path / "a.log") as base_a, \
            streamlit_server(pg_url, log=tmp_path / "b.log") as base_b:
        assert base_a != base_b
        for base in (base_a, base_b):
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=5) as r:
                assert r.status == 200
        specs = [WorkerSpec(url=pg_url, study="load", worker=w, raters=rater_ids(w, 3), out_dir=str(out_dir), seed=w,
                            think_s=0.05) for w in range(6)]
        procs = start_workers(specs)
        codes = {}
        with chromium() as browser:
            for i, base in enumerate([base_a, base_b, base_a, base_b]):
                codes[f"browser-{i}"] = _complete_in_browser(browser, base, f"browser-{i}")
        for p in procs:
            p.join(120)
        assert all(p.exitcode == 0 for p in procs)
    assert set(codes.values()) == {"COMPLETE"}, codes
    result = check_guarantees(engine, "load", read_acks(out_dir))
    assert result["ok"], result
    assert result["rater_status"] == {"completed": 6 * 3 + 4}, result
    with read_session(engine) as s:
        browser_judgments = s.scalars(
            select(m.Judgment.id).join(m.Rater, m.Rater.id == m.Judgment.rater_id)
            .where(m.Rater.external_id.like("browser-%"))).all()
    assert len(browser_judgments) == 4 * 8  # 1 practice + 6 main + 1 attention check each
