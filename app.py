"""oversight-lab: Streamlit entry point (navigation over the role pages).

On a first start ``oversight run`` serves at once and prepares the demo study
meanwhile (study/preparing.py). Until that is done this page shows its progress,
read from the file named by ``OVERSIGHT_PREPARING``; the check comes before the
application's packages are imported, which alone takes several seconds.
"""

import json
import os
from pathlib import Path

import streamlit as st


def preparing() -> dict | None:
    """The preparation under way: {"pid", "step", "done", "total"}, or None when there is none."""
    path = os.environ.get("OVERSIGHT_PREPARING")
    if not path:
        return None
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        os.kill(int(state["pid"]), 0)  # a preparation whose process has gone is over
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if isinstance(state, dict) else None


@st.fragment(run_every=1.0)
def preparation_progress() -> None:
    state = preparing()
    if state is None:
        st.rerun(scope="app")
        return
    done, total = int(state.get("done") or 0), int(state.get("total") or 0)
    text = f"{state.get('step', 'preparing')} ..." + (f" {done} of {total} items" if total else "")
    with st.container(key="preparing"):
        st.progress(done / total if total else 0.0, text=text)


if preparing() is not None:
    st.set_page_config(page_title="oversight-lab: starting")
    st.title("oversight-lab is starting")
    st.write("First start: the demo study is being prepared (its items imported and the AI assistance "
             "generated). This takes about a minute; the page continues by itself when it is ready.")
    preparation_progress()
else:
    from study.ui import run

    run()
