"""First start: the demo is prepared with progress on the terminal, and the page shows it.

``oversight run`` serves at once and prepares the demo meanwhile
(``study.preparing.serve_while_preparing``); the page reads the progress marker.
The encoder run itself (about a minute) is replaced by a stand-in that reports the
same steps, so these tests check the wiring: the terminal output, the marker the
server sees, its removal, and the page's message while it exists.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from study import preparing

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def _texts(at: AppTest) -> str:
    parts = [t.value for t in at.title] + [m.value for m in at.markdown]
    parts += [str(getattr(p.proto, "text", "")) for p in at.get("progress")]
    return "\n".join(parts)


def test_page_shows_progress_while_the_marker_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = preparing.Marker(tmp_path / "preparing.json")
    marker.update("generating the AI assistance (loading the encoder first)", 12, 64)
    monkeypatch.setenv(preparing.MARKER_ENV, str(marker.path))
    monkeypatch.setenv("OVERSIGHT_DATABASE_URL", f"sqlite:///{tmp_path / 'never-opened.db'}")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    shown = _texts(at)
    assert "oversight-lab is starting" in shown
    assert "generating the AI assistance" in shown and "12 of 64 items" in shown
    assert "Step 3 of 4: generating" in shown  # which step of how many
    (bar,) = at.get("progress")
    assert bar.proto.value == int(12 / 64 * 100)  # Streamlit truncates the fraction to whole percent
    assert not (tmp_path / "never-opened.db").exists()  # the app itself was not started


def test_a_marker_left_by_a_dead_process_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "preparing.json"
    path.write_text(json.dumps({"pid": 2**22 + 12345, "step": "importing the items", "done": 0, "total": 0}))
    monkeypatch.setenv(preparing.MARKER_ENV, str(path))
    monkeypatch.setenv("OVERSIGHT_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("OVERSIGHT_NO_DEMO", "1")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    assert "oversight-lab is starting" not in _texts(at)
    assert (tmp_path / "app.db").exists()  # the app ran (and migrated its database)


def _fake_demo(calls: list[str], gate: Path) -> Callable[..., bool]:
    """Stands in for the encoder run: reports the real steps and 3 items, as ensure_demo does.

    It waits (as the encoder would take its time) until the server has read the marker once.
    """

    def ensure_demo(engine: Any, progress: Callable[[int, int], None], step: Callable[[str], None]) -> bool:
        step("importing the items")
        step("generating the AI assistance (loading the encoder first)")
        deadline = time.monotonic() + 60
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        for done in range(1, 4):
            progress(done, 3)
            time.sleep(0.05)
        step("launching the study")
        calls.append("done")
        return True

    return ensure_demo


def test_run_serves_at_once_and_reports_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    seen, gate = tmp_path / "seen.json", tmp_path / "server-read-the-marker"
    monkeypatch.setattr(preparing.demo_mod, "ensure_demo", _fake_demo(calls, gate))
    # The "server": waits until the marker shows item progress, then records what it saw.
    server = [sys.executable, "-c", (
        "import json, os, sys, time\n"
        f"path = os.environ[{preparing.MARKER_ENV!r}]\n"
        "states = []\n"
        "for _ in range(3000):\n"
        "    try:\n"
        "        states.append(json.load(open(path)))\n"
        f"        open({str(gate)!r}, 'w').close()\n"
        "    except (OSError, ValueError):\n"
        "        if states: break\n"
        "    time.sleep(0.005)\n"
        f"json.dump(states, open({str(seen)!r}, 'w'))\n"
    )]
    lines: list[str] = []
    status = preparing.serve_while_preparing(object(), server, dict(os.environ), lines.append)  # type: ignore[arg-type]
    assert status == 0 and calls == ["done"]
    assert lines[0] == "first start: creating the demo study ..."
    assert "first start: generating the AI assistance (loading the encoder first) ..." in lines
    assert lines[-1] == "the demo study is ready"
    states = json.loads(seen.read_text())
    assert states, "the server never saw the progress marker"
    assert {s["pid"] for s in states} == {os.getpid()}
    assert any(s["total"] == 3 and s["done"] >= 1 for s in states), states  # item progress reached the page
    assert not list(tmp_path.glob("oversight-*")), "the marker directory is left behind"


def test_a_failed_preparation_stops_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(engine: Any, progress: Callable[[int, int], None], step: Callable[[str], None]) -> bool:
        step("importing the items")
        raise RuntimeError("encoder missing")

    monkeypatch.setattr(preparing.demo_mod, "ensure_demo", broken)
    server = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(RuntimeError, match="encoder missing"):
        preparing.serve_while_preparing(object(), server, dict(os.environ), lambda _line: None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- plain `streamlit run app.py`


class _GatedDemo:
    """Stands in for ``ensure_demo`` on the server's own thread: reports the real steps, one of
    three items, then waits for :attr:`release` before it launches a small ``demo`` study."""

    def __init__(self, fail: bool = False) -> None:
        self.reached, self.release, self.fail = threading.Event(), threading.Event(), fail

    def __call__(self, engine: Any, progress: Callable[[int, int], None], step: Callable[[str], None]) -> bool:
        from study.demo import STEPS
        from study.testing import ready_study, small_config

        step(STEPS[1])
        step(STEPS[2])
        progress(1, 3)
        self.reached.set()
        self.release.wait(60)
        if self.fail:
            raise RuntimeError("encoder missing")
        step(STEPS[3])
        ready_study(engine, small_config("demo"))
        return True


@pytest.fixture
def fresh_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty database, the demo switched on, no ``oversight run`` marker; yields its URL."""
    from support.app_db import PASSWORD, clear_app_caches

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("OVERSIGHT_DATABASE_URL", url)
    monkeypatch.delenv("OVERSIGHT_NO_DEMO", raising=False)
    monkeypatch.delenv(preparing.MARKER_ENV, raising=False)
    monkeypatch.setenv("OVERSIGHT_ADMIN_PASSWORD", PASSWORD)
    clear_app_caches()
    yield url
    clear_app_caches()


def _wait_prepared(url: str) -> None:
    from study.ui.common import first_start

    preparation = first_start(url)
    assert preparation is not None and preparation.wait(60), "the preparation did not end"


def test_plain_streamlit_run_shows_the_first_start_progress(fresh_app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _GatedDemo()
    monkeypatch.setattr(preparing.demo_mod, "ensure_demo", fake)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "oversight-lab is starting" in _texts(at)  # at once, not a spinner: the work runs on a thread
    assert fake.reached.wait(60)
    at = at.run()
    shown = _texts(at)
    assert "Step 3 of 4: generating the AI assistance (loading the encoder first) ... 1 of 3 items" in shown, shown
    (bar,) = at.get("progress")
    assert bar.proto.value == 33
    fake.release.set()
    _wait_prepared(fresh_app)
    at = at.run()
    assert not at.exception, at.exception
    assert "oversight-lab is starting" not in _texts(at)
    assert not at.get("progress")
    from study import service
    from study.db import get_engine

    assert [(s.name, s.status) for s in service.list_studies(get_engine(fresh_app))] == [("demo", "live")]


def test_a_failed_first_start_is_reported_on_the_experimenter_pages(fresh_app: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _GatedDemo(fail=True)
    monkeypatch.setattr(preparing.demo_mod, "ensure_demo", fake)
    at = AppTest.from_file(APP, default_timeout=60).run()
    fake.release.set()
    _wait_prepared(fresh_app)
    at = at.run()
    assert not at.exception, at.exception
    assert "oversight-lab is starting" not in _texts(at)
    assert any("The demo study could not be prepared (encoder missing)" in e.value for e in at.error)
    rater = AppTest.from_file(APP, default_timeout=60)
    rater.query_params["rater"] = "alice"
    rater = rater.run()
    assert not rater.exception and not any("could not be prepared" in e.value for e in rater.error)  # not for raters


def test_no_demo_means_no_first_start(fresh_app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERSIGHT_NO_DEMO", "1")
    monkeypatch.setattr(preparing.demo_mod, "ensure_demo", _GatedDemo())
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "oversight-lab is starting" not in _texts(at)
    from study.ui.common import first_start

    assert first_start(fresh_app) is None
