"""Streamlit pages: a thin skin over ``study`` and ``analysis``.

Rater links (``?rater=`` or ``?PROLIFIC_PID=``) get only the rater page, with the
navigation hidden; the console and dashboard need the experimenter secret.
"""

from __future__ import annotations

import streamlit as st

from study.ui.common import RATER_PARAMS, first_start_error, first_start_progress, freeze_startup_heap

__all__ = ["first_start_progress", "run"]


def run() -> None:
    """Build the navigation and run the selected page."""
    from study.ui.console import console_page
    from study.ui.dashboard import dashboard_page
    from study.ui.rater import rater_page

    freeze_startup_heap()
    rater = st.Page(rater_page, title="Rate items", icon=":material/fact_check:", url_path="rate", default=True)
    if any(p in st.query_params for p in RATER_PARAMS):
        # A rater link: no way to the experimenter pages from here.
        st.set_page_config(page_title="oversight-lab", layout="centered")
        st.navigation([rater], position="hidden").run()
        return
    pages = [
        rater,
        st.Page(console_page, title="Experimenter console", icon=":material/science:", url_path="console"),
        st.Page(dashboard_page, title="Analyst dashboard", icon=":material/monitoring:", url_path="dashboard"),
    ]
    page = st.navigation(pages)
    # One page config per run: tables and charts need the width; the rater page stays centred.
    st.set_page_config(page_title="oversight-lab", layout="centered" if page.title == rater.title else "wide")
    failed = first_start_error()  # shown to the experimenter, never on a rater link (returned above)
    if failed is not None:
        st.error(f"The demo study could not be prepared ({failed}); see the server's log. Everything else works, "
                 "and `oversight demo` tries again.")
    page.run()
