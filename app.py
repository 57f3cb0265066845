"""oversight-lab: Streamlit entry point (navigation over the role pages).

On a first start the demo study is prepared (about a minute) and, until it is ready,
every page shows that progress instead of the app: step x of y and a bar of the items
done. ``oversight run`` prepares it in its own process and passes the progress in the
file named by ``OVERSIGHT_PREPARING`` (study/preparing.py); that check comes before
the application's packages are imported, which alone takes several seconds. A plain
``streamlit run app.py`` prepares it on a background thread of this server
(``study.ui.first_start_progress``), with the same page.
"""

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import streamlit as st

Progress = Callable[[], dict | None]


def preparing() -> dict | None:
    """The preparation under way in another process: {"pid", "step", "number", "steps", "done", "total"}, or None."""
    path = os.environ.get("OVERSIGHT_PREPARING")
    if not path:
        return None
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        os.kill(int(state["pid"]), 0)  # a preparation whose process has gone is over
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if isinstance(state, dict) else None


def progress_text(state: dict) -> str:
    """E.g. "Step 3 of 4: generating the AI assistance ... 12 of 64 items"."""
    done, total = int(state.get("done") or 0), int(state.get("total") or 0)
    number, steps = int(state.get("number") or 0), int(state.get("steps") or 0)
    head = f"Step {number} of {steps}: " if number and steps else ""
    return f"{head}{state.get('step', 'preparing')} ..." + (f" {done} of {total} items" if total else "")


@st.fragment(run_every=1.0)
def preparation_progress(progress: Progress) -> None:
    state = progress()
    if state is None:
        st.rerun(scope="app")
        return
    done, total = int(state.get("done") or 0), int(state.get("total") or 0)
    with st.container(key="preparing"):
        st.progress(done / total if total else 0.0, text=progress_text(state))


def starting_page(progress: Progress) -> None:
    st.set_page_config(page_title="oversight-lab: starting")
    st.title("oversight-lab is starting")
    st.write("First start: the demo study is being prepared (its items imported and the AI assistance "
             "generated). This takes about a minute; the page continues by itself when it is ready.")
    preparation_progress(progress)


if preparing() is not None:
    starting_page(preparing)
else:
    loading = st.empty()
    if "study.ui" not in sys.modules:  # this process's first page imports the app: seconds
        loading.caption("Loading oversight-lab ...")
    from study.ui import first_start_progress, run

    if first_start_progress() is not None:  # on an empty database: migrates, starts preparing
        with loading.container():  # replaces the "Loading" line in place: no blank moment
            starting_page(first_start_progress)
    else:
        loading.empty()
        run()
