"""First start: the demo study is prepared with visible progress, on the terminal and on the page.

Preparing the demo (importing its items, generating the AI assistance with the
encoder, launching) takes about a minute on a laptop CPU. ``oversight run`` therefore
starts the app server at once and prepares the demo meanwhile, showing a progress bar
on the terminal. The same progress goes to a small JSON file, the *marker*, named by
the environment variable ``OVERSIGHT_PREPARING`` in the server's environment::

    {"pid": 1234, "step": "generating the AI assistance", "done": 12, "total": 64}

``app.py`` reads it before importing anything else and, while it exists and process
``pid`` is alive, shows that progress instead of the app (no blank page). The marker
is removed when the demo is live, or when preparing it failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from study import demo as demo_mod
from study import service

MARKER_ENV = "OVERSIGHT_PREPARING"

#: ``report(step, done, total)``: one preparation step, with item counts when known.
Report = Callable[[str, int, int], None]


class Marker:
    """The progress file read by the page (written atomically, so never half-read)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def update(self, step: str, done: int = 0, total: int = 0) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "step": step, "done": done, "total": total}), encoding="utf-8")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def demo_ready(engine: Engine, name: str = "demo") -> bool:
    """True when the demo study exists and has left the draft stage (nothing to prepare)."""
    return any(st.name == name and st.status != "draft" for st in service.list_studies(engine))


def prepare_demo(engine: Engine, report: Report) -> bool:
    """:func:`study.demo.ensure_demo` with each step and the assistance's item count reported."""
    step = ["creating the demo study"]

    def on_step(name: str) -> None:
        step[0] = name
        report(name, 0, 0)

    report(step[0], 0, 0)
    created = demo_mod.ensure_demo(engine, progress=lambda done, total: report(step[0], done, total), step=on_step)
    report("ready", 1, 1)
    return created


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


def serve_while_preparing(engine: Engine, cmd: list[str], env: dict[str, str], echo: Callable[[str], None]) -> int:
    """Start the server ``cmd`` at once, prepare the demo meanwhile; returns the server's exit status.

    The page shows the progress (see the module docstring) until the demo is live. If
    preparing fails, the server is stopped and the error raised.
    """
    with tempfile.TemporaryDirectory(prefix="oversight-") as tmp:
        marker = Marker(Path(tmp) / "preparing.json")
        marker.update("starting", 0, 0)
        server = subprocess.Popen(cmd, env={**env, MARKER_ENV: str(marker.path)})
        try:
            with terminal_progress(echo) as report:
                def both(step: str, done: int, total: int) -> None:
                    report(step, done, total)
                    marker.update(step, done, total)

                prepare_demo(engine, both)
        except BaseException:
            server.terminate()
            server.wait()
            raise
        finally:
            marker.remove()
        echo("the demo study is ready")
        return server.wait()
