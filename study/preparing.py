"""First start: the demo study is prepared with visible progress, on the terminal and on the page.

Preparing the demo (importing its items, generating the AI assistance with the
encoder, launching) takes from a few seconds (this machine, bfloat16 encoder) to about a minute on a laptop CPU. ``oversight run`` therefore
starts the app server at once and prepares the demo meanwhile, showing a progress bar
on the terminal. The same progress goes to a small JSON file, the *marker*, named by
the environment variable ``OVERSIGHT_PREPARING`` in the server's environment::

    {"pid": 1234, "step": "generating the AI assistance ...", "number": 3, "steps": 4, "done": 12, "total": 64}

(``number`` of ``steps``: the step's place among :data:`study.demo.STEPS`; ``done`` of
``total``: items whose assistance is done.) ``app.py`` reads it before importing
anything else and, while it exists and process ``pid`` is alive, shows that progress
instead of the app (no blank page). The marker is removed when the demo is live, or
when preparing it failed.

A plain ``streamlit run app.py`` has no such parent process: there the app server
prepares the demo itself, on a background thread (:class:`Preparation`, started once
per process by the page), and the page shows the same progress from it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from study import demo as demo_mod
from study import service

MARKER_ENV = "OVERSIGHT_PREPARING"

#: ``report(step, done, total)``: one preparation step, with item counts when known.
Report = Callable[[str, int, int], None]
log = logging.getLogger(__name__)


def progress_state(step: str, done: int = 0, total: int = 0) -> dict[str, Any]:
    """The progress the page shows: step, its ``number`` of ``steps`` (0 when not a demo step), item counts."""
    number = demo_mod.STEPS.index(step) + 1 if step in demo_mod.STEPS else 0
    return {"step": step, "number": number, "steps": len(demo_mod.STEPS), "done": done, "total": total}


class Marker:
    """The progress file read by the page (written atomically, so never half-read)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def update(self, step: str, done: int = 0, total: int = 0) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), **progress_state(step, done, total)}), encoding="utf-8")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def demo_ready(engine: Engine, name: str = "demo") -> bool:
    """True when the demo study exists and has left the draft stage (nothing to prepare)."""
    return any(st.name == name and st.status != "draft" for st in service.list_studies(engine))


def prepare_demo(engine: Engine, report: Report) -> bool:
    """:func:`study.demo.ensure_demo` with each step and the assistance's item count reported."""
    step = [demo_mod.STEPS[0]]

    def on_step(name: str) -> None:
        step[0] = name
        report(name, 0, 0)

    report(step[0], 0, 0)
    created = demo_mod.ensure_demo(engine, progress=lambda done, total: report(step[0], done, total), step=on_step)
    report("ready", 1, 1)
    return created


class Preparation:
    """The demo prepared on a background thread of the app server (plain ``streamlit run app.py``).

    The page polls :meth:`state` (the marker's fields, without ``pid``) and shows the app
    once it is None. A failure is kept in :attr:`error` (and logged) for the page to show.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.error: Exception | None = None
        self._lock = threading.Lock()
        self._state: dict[str, Any] | None = progress_state("starting")
        self._thread = threading.Thread(target=self._run, name="oversight-first-start", daemon=True)

    def start(self) -> Preparation:
        self._thread.start()
        return self

    def state(self) -> dict[str, Any] | None:
        """The progress while preparing; None once the demo is ready or preparing it failed."""
        with self._lock:
            return dict(self._state) if self._state is not None else None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until preparing ends (True) or ``timeout`` seconds pass (False)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _report(self, step: str, done: int, total: int) -> None:
        with self._lock:
            self._state = progress_state(step, done, total)

    def _run(self) -> None:
        try:
            prepare_demo(self.engine, self._report)
        except Exception as err:  # noqa: BLE001 - shown on the page; the app still serves
            log.exception("preparing the demo study failed")
            self.error = err
        finally:
            with self._lock:
                self._state = None


@contextmanager
def terminal_progress(echo: Callable[[str], None]) -> Iterator[Report]:
    """A progress bar on the terminal (rich); each new step is also echoed as one line."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=False) as bar:
        task = bar.add_task("preparing the demo study", total=None)
        last = [""]

        def report(step: str, done: int, total: int) -> None:
            if step != last[0] and step != "ready":
                last[0] = step
                echo(f"first start: {step} ...")
            bar.update(task, description=step, completed=done, total=total or None)

        yield report


def serve(cmd: list[str], env: dict[str, str]) -> int:
    """Run the server ``cmd`` until it exits; returns its exit status.

    A SIGTERM or Ctrl-C to this process stops the server too, so no server is left
    running without its parent.
    """
    with _server(cmd, env) as server:
        return server.wait()


@contextmanager
def _server(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``cmd``; on leaving (normally, by an error, SIGTERM or Ctrl-C) stop it if it still runs."""
    def _exit_on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit_on_term) if threading.current_thread() is threading.main_thread() \
        else None
    server = subprocess.Popen(cmd, env=env)
    try:
        yield server
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def serve_while_preparing(engine: Engine, cmd: list[str], env: dict[str, str], echo: Callable[[str], None]) -> int:
    """Start the server ``cmd`` at once, prepare the demo meanwhile; returns the server's exit status.

    The page shows the progress (see the module docstring) until the demo is live. If
    preparing fails, the server is stopped and the error raised.
    """
    with tempfile.TemporaryDirectory(prefix="oversight-") as tmp:
        marker = Marker(Path(tmp) / "preparing.json")
        marker.update("starting", 0, 0)
        with _server(cmd, {**env, MARKER_ENV: str(marker.path)}) as server:
            try:
                with terminal_progress(echo) as report:
                    def both(step: str, done: int, total: int) -> None:
                        report(step, done, total)
                        marker.update(step, done, total)

                    prepare_demo(engine, both)
            finally:
                marker.remove()
            echo("the demo study is ready")
            return server.wait()
