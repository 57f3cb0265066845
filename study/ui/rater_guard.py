"""What a rater sees when something fails: a plain message, never a traceback.

- **Database unavailable** (connection refused or dropped, SQLite locked longer than
  its busy timeout): "temporarily unavailable, your answers are saved"; the page
  then tries again by itself, waiting 1, 2, 4 ... (at most :data:`MAX_DELAY_S`)
  seconds between tries for :data:`RETRY_FOR_S` seconds, and after that shows a
  **Try again** button. Nothing needs a reload: as soon as a try succeeds the page
  shows the rater's screen.
- **Anything else unexpected**: "Something went wrong on our side (incident
  3F9A0C1B)"; the full error with its traceback is logged under that id
  (:mod:`study.incidents`).

Callbacks (an answer form's submit) run before the page; :func:`guard_callback` keeps
their failures from reaching Streamlit's own error display and shows them on the page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ParamSpec

import streamlit as st
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from study import incidents
from study.rater import throttle

__all__ = ["MAX_DELAY_S", "RETRY_FOR_S", "client", "guard_callback", "is_unavailable", "run_guarded"]

#: Seconds the page keeps retrying by itself before it shows a button.
RETRY_FOR_S = 120.0
#: Longest wait between two tries.
MAX_DELAY_S = 5.0
_WAIT = "_rater_db_wait"
_PENDING = "_rater_problem"

P = ParamSpec("P")

UNAVAILABLE = ("The study is temporarily unavailable (incident {incident}). Your answers so far are saved. "
               "This page tries again by itself; you do not need to reload it.")
NOT_SAVED = ("The study is temporarily unavailable (incident {incident}), so this answer was not saved yet. "
             "Your earlier answers are saved: please answer this item again in a moment.")


def is_unavailable(err: BaseException) -> bool:
    """True for errors that mean "the database cannot be reached or is busy", not a bug."""
    if isinstance(err, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


def client() -> str:
    """The client of this request for the enrolment limit (:func:`study.rater.throttle.client_of`)."""
    try:
        ip, headers = st.context.ip_address, dict(st.context.headers)
    except Exception:  # noqa: BLE001 - no request context (e.g. a bare script run)
        ip, headers = None, {}
    return throttle.client_of(ip, headers)


def run_guarded(page: Callable[[], None]) -> None:
    """Run the rater page; failures become a plain message (and, for the database, a retry loop)."""
    problem = st.session_state.pop(_PENDING, None)
    try:
        if problem:
            st.error(problem)
        page()
    except Exception as err:  # noqa: BLE001 - Streamlit's rerun/stop signals are BaseException and pass
        if is_unavailable(err):
            _wait_and_retry(err)
        else:
            st.error(incidents.message(incidents.report(err, "rater page")))
        return
    st.session_state.pop(_WAIT, None)


def _wait_and_retry(err: BaseException) -> None:
    state: dict[str, Any] | None = st.session_state.get(_WAIT)
    if state is None:  # log once per outage, not once per try
        state = {"since": time.monotonic(), "tries": 0, "incident": incidents.report(err, "rater page: database")}
        st.session_state[_WAIT] = state
    st.warning(UNAVAILABLE.format(incident=state["incident"]))
    if time.monotonic() - state["since"] < RETRY_FOR_S:
        delay = min(MAX_DELAY_S, 2.0 ** state["tries"])
        state["tries"] += 1
        with st.spinner(f"Trying again in {delay:.0f} s ..."):
            time.sleep(delay)
        st.rerun()
    st.info("It is taking longer than usual. Please try again in a minute.")
    if st.button("Try again", key="db_retry", type="primary"):
        st.session_state.pop(_WAIT, None)
        st.rerun()


def guard_callback(func: Callable[P, None]) -> Callable[P, None]:
    """A widget callback whose failures are shown on the page instead of Streamlit's traceback."""

    def inner(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            func(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - whatever it was, the rater sees a plain message
            if is_unavailable(err):
                st.session_state[_PENDING] = NOT_SAVED.format(incident=incidents.report(err, "rater answer: database"))
            else:
                st.session_state[_PENDING] = incidents.message(incidents.report(err, "rater answer"))

    return inner
