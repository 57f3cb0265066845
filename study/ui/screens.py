"""The rater's screens besides the item: text shared by the rater page and the console preview.

The rater page (:mod:`study.ui.rater`) adds the buttons that record consent and the
start; the console's full-flow preview draws the same text with inert buttons.
"""

from __future__ import annotations

import streamlit as st

from study.config import ASSISTANCE_KINDS
from study.rater import RaterView
from study.ui.common import plain

#: The end screen's heading, by the rater's final status.
DONE_TEXT = {
    "completed": "Thank you! Your answers are saved.",
    "failed_attention": "This session has ended because attention-check items were not answered as asked.",
    "timed_out": "This session has ended because the time limit was reached. Your answers so far are saved.",
    "withdrawn": "You chose not to take part. Nothing more is needed; you may close this page.",
}


def consent_body(view: RaterView) -> None:
    """The consent screen's text (also drawn by the console's preview)."""
    st.subheader("Consent")
    st.html(plain(view.consent_text))


def instructions_body(view: RaterView) -> None:
    """The instructions screen's text (also drawn by the console's preview)."""
    st.subheader("Instructions")
    st.write(
        "You will see answers written by an AI assistant. For each one, decide whether the AI's "
        f"answer is **{' or '.join(view.labels)}**"
        + (", using the sources shown with it" if view.show_sources else "")
        + ", and say how confident you are "
        f"({round(view.confidence_min * 100)}% = a guess, {round(view.confidence_max * 100)}% = certain)."
    )
    if view.extra.get("design") == "within":
        st.write("**AI assistance:** the kind of AI help changes during the study; each item says what you see.")
    else:
        st.write(f"**AI assistance in this study:** {ASSISTANCE_KINDS[view.assistance_kind]}.")
        if view.condition_instructions:
            st.html(plain(view.condition_instructions))
    if view.two_stage:
        shown = "the AI assistance is shown and you" if view.assistance_kind != "none" else "you look again and"
        st.write(f"For each item you first answer on your own; then {shown} give your final answer, "
                 "which may be the same or different.")
    if view.n_practice:
        st.write(f"The first {view.n_practice} items are practice: after each you are told the right answer.")
    st.write("A few items check that you are reading carefully: do what they ask.")
    if view.seconds_left is not None:
        st.write(f"You have {max(1, view.seconds_left // 60)} minutes in total.")
