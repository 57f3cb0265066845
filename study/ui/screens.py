"""The rater's screens besides the item: text shared by the rater page and the console preview.

The rater page (:mod:`study.ui.rater`) adds the buttons that record consent and the
start; the console's full-flow preview draws the same text with inert buttons.
"""

from __future__ import annotations

import streamlit as st

from study.rater import RaterView
from study.ui.instructions import instructions_text

#: The end screen's heading, by the rater's final status.
DONE_TEXT = {
    "completed": "Thank you! Your answers are saved.",
    "failed_attention": "This session has ended because attention-check items were not answered as asked.",
    "failed_comprehension": "This session has ended because the questions about the instructions were not "
                            "answered correctly. Thank you for your time.",
    "timed_out": "This session has ended because the time limit was reached. Your answers so far are saved.",
    "withdrawn": "You chose not to take part. Nothing more is needed; you may close this page.",
}


def consent_body(view: RaterView) -> None:
    """The consent screen's text (also drawn by the console's preview)."""
    st.subheader("Consent")
    # The study's own text (config `consent_text` or `consent_file`), written by the
    # experimenter: markdown, with any HTML in it shown literally.
    with st.container(border=True, key="consent_text"):
        st.markdown(view.consent_text)


def instructions_body(view: RaterView) -> None:
    """The instructions screen's text (also drawn by the console's preview)."""
    instructions_text(view)
