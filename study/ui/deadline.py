"""The time limit on an idle page: a fragment that ends the session when time runs out.

Without it the limit took effect only on the rater's next action. The fragment
(``st.fragment(run_every=...)``) runs in the browser's session every
:data:`CHECK_EVERY_S` seconds and costs no database query: the deadline is the
monotonic time of the last full page run plus the ``seconds_left`` that run's view
reported. Once it has passed, the whole page reruns; the view then records the
time-out and shows the timed-out screen and code. The submit path is unchanged.
"""

from __future__ import annotations

import time

import streamlit as st

__all__ = ["CHECK_EVERY_S", "watch_deadline"]

#: How often an idle page checks the deadline.
CHECK_EVERY_S = 10.0
_KEY = "_deadline_monotonic"


def watch_deadline(seconds_left: int) -> None:
    """Note the deadline of this page run and start (or keep) the checking fragment."""
    st.session_state[_KEY] = time.monotonic() + seconds_left
    _deadline_check()


@st.fragment(run_every=CHECK_EVERY_S)
def _deadline_check() -> None:
    # Inside the page run the deadline is always ahead (the view reported time left);
    # only a later timed run of the fragment can find it passed.
    due = st.session_state.get(_KEY)
    if isinstance(due, float) and time.monotonic() > due + 1.0:
        st.rerun(scope="app")
