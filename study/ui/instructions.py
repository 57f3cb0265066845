"""The instructions screen: the study's task, length, assistance, and the comprehension check.

What it states comes from the rater's view (so from the study config): the labels and
confidence scale, the number of items (practice included) and an estimate of the time
(``ceil(items * minutes_per_item)``), what the condition shows, the two-stage procedure,
practice and attention checks, and the time limit. A study with a ``comprehension``
check asks its questions below the instructions; the Start button (key ``start``)
then sends the answers, which are graded on the server
(:func:`study.rater.check_comprehension`).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from study.config import ASSISTANCE_KINDS
from study.rater import ComprehensionResult, RaterView
from study.ui.common import plain

__all__ = ["StartCallback", "comprehension_retry_message", "instructions_screen"]

#: ``on_start(answers)``: Start was pressed; ``answers`` are the comprehension answers (None: no check).
StartCallback = Callable[[list[str | None] | None], None]


def comprehension_retry_message(result: ComprehensionResult) -> str:
    """What a rater who failed an attempt but may try again is told (not which answer was wrong)."""
    n = len(result.wrong)
    left = result.attempts_left
    return (f"{n} {'answer is' if n == 1 else 'answers are'} not right. Please read the instructions again "
            f"and answer once more ({left} {'attempt' if left == 1 else 'attempts'} left).")


def instructions_screen(view: RaterView, on_start: StartCallback, error: str | None = None) -> None:
    """The instructions, then Start (or the comprehension questions and Start)."""
    instructions_text(view)
    if view.comprehension:
        _comprehension_form(view, on_start, error)
        return
    if error:
        st.error(error)
    st.button("Start", key="start", type="primary", on_click=on_start, args=(None,))


def instructions_text(view: RaterView) -> None:
    """The instructions screen's text (the rater page and the console's preview)."""
    st.subheader("Instructions")
    _task(view)
    _assistance(view)
    _procedure(view)


def _task(view: RaterView) -> None:
    st.write(
        "You will see answers written by an AI assistant. For each one, decide whether the AI's "
        f"answer is **{' or '.join(view.labels)}**"
        + (", using the sources shown with it" if view.show_sources else "")
        + ", and say how confident you are "
        f"({round(view.confidence_min * 100)}% = a guess, {round(view.confidence_max * 100)}% = certain)."
        + (" You must move the confidence slider for every answer." if view.require_confidence else "")
    )
    practice = f", the first {view.n_practice} of them for practice" if view.n_practice else ""
    with st.container(key="study_length"):
        st.write(f"**{view.total} items**{practice}; this takes about **{view.estimated_minutes} minutes**.")


def _assistance(view: RaterView) -> None:
    if view.extra.get("design") == "within":
        st.write("**AI assistance:** the kind of AI help changes during the study; each item says what you see.")
        return
    st.write(f"**AI assistance in this study:** {ASSISTANCE_KINDS.get(view.assistance_kind, view.assistance_kind)}.")
    if view.condition_instructions:
        st.html(plain(view.condition_instructions))


def _procedure(view: RaterView) -> None:
    if view.two_stage and view.assistance_kind != "none":
        which = "each item with AI assistance" if view.extra.get("design") == "within" else "each item"
        st.write(f"For {which} you first answer on your own; then the AI assistance is shown and you "
                 "give your final answer, which may be the same or different.")
    if view.n_practice:
        st.write(f"The first {view.n_practice} items are practice: after each you are told the right answer.")
    st.write("A few items check that you are reading carefully: do what they ask.")
    if view.seconds_left is not None:
        st.write(f"You have {max(1, view.seconds_left // 60)} minutes in total.")


def _comprehension_form(view: RaterView, on_start: StartCallback, error: str | None) -> None:
    """The questions; Start sends the answers (graded on the server, never in the page)."""
    st.subheader("Before you start: check your understanding")
    left = view.comprehension_attempts_left
    st.caption(f"Answer every question right to start. {left} {'attempt' if left == 1 else 'attempts'} left.")
    n = len(view.comprehension)

    def send() -> None:
        on_start([st.session_state.get(f"comprehension_{i}") for i in range(n)])

    with st.form(f"comprehension-{left}", border=True):
        for i, question in enumerate(view.comprehension):
            with st.container(key=f"comprehension_{i}_box"):
                st.radio(question.question, list(question.options), index=None, key=f"comprehension_{i}")
        if error:
            with st.container(key="comprehension_error"):
                st.error(error)
        st.form_submit_button("Check my answers and start", key="start", type="primary", on_click=send)
