"""`oversight assist` with an LLM over HTTP: killed mid-run, run again, no request paid twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from support.openai_server import OpenAIServer, build_tiny_lm

from study import service
from study.config import parse_config
from study.db import get_engine, upgrade
from study.testing import fixture_items, small_config

ROOT = Path(__file__).resolve().parents[2]


def _assist(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    code = "from study.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "assist", "--study", "t", "--db", url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_assist_resumes_after_a_kill_without_paying_twice(tmp_path: Path) -> None:
    model = build_tiny_lm(tmp_path / "model")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    upgrade(url)
    engine = get_engine(url)
    with OpenAIServer(model, delay=0.05) as server:
        llm = {"backend": "openai", "base_url": server.base_url, "model": "tiny", "max_new_tokens": 4,
               "cache_dir": str(tmp_path / "cache")}  # fmt: skip
        service.create_study(engine, parse_config(small_config(assistance={"encoder": "hashing", "folds": 3, "llm": llm})))
        items = fixture_items(8)
        service.import_items(engine, "t", items)
        expected = 4 * len([it for it in items if it.role != "attention_check"])  # verdict, reasoning, 2 debate sides

        first = _assist(url)
        deadline = time.monotonic() + 300
        while server.served < 10 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        first.kill()  # the hardest interruption: no clean-up runs
        first.communicate()
        time.sleep(1.0)  # let the server finish the request that was in flight, if any
        paid_before_kill = server.served
        assert 10 <= paid_before_kill < expected
        assert service.missing_assistance(engine, "t") != []

        second = _assist(url)
        out, err = second.communicate(timeout=600)
        assert second.returncode == 0, err
        assert "stored" in out
        paid = server.served
        third = _assist(url)
        out3, _ = third.communicate(timeout=600)
        assert "stored 0 assistance rows" in out3 and server.served == paid

    bodies = [json.dumps(b, sort_keys=True) for b in server.bodies]
    repeated = [b for b, n in Counter(bodies).items() if n > 1]
    # Only the request in flight at the kill (answered by the server, never received by
    # the killed client) may be sent again; everything received was cached.
    assert repeated in ([], [bodies[paid_before_kill - 1]])
    assert paid == expected + len(repeated)
    assert service.missing_assistance(engine, "t") == []
