"""The study form's comprehension-check fields (part of :mod:`study.ui.console.form_view`).

Widgets, keyed ``{prefix}_...``: the toggle ``comprehension``, ``n_questions``,
``comprehension_attempts`` (1 or 2: Prolific allows at most two), and
``comprehension_fail_code``; per question ``q{i}_question``, ``q{i}_options`` (one
option a line) and ``q{i}_answer`` (a choice among those options). They become the
config's ``comprehension:`` block (:func:`study.study_form.form_to_data`).

A widget a run does not draw (the check switched off) loses its value, or keeps an
older one. So the widgets are read only while their state is *live* (seeded, or drawn
by the last run); otherwise the check's values come from the form kept by the last run,
and switching the check on again seeds the widgets from it: nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from study.study_form import QuestionForm, StudyForm

MAX_QUESTIONS = 20
#: The first question offered when the check is switched on (the example of docs/study-config.md).
EXAMPLE = QuestionForm("What do you decide for each item?",
                       ["Whether the AI's answer is correct", "Whether I like the topic"],
                       "Whether the AI's answer is correct")


def _k(prefix: str, name: str) -> str:
    return f"{prefix}_{name}"


def options_of(text: object) -> list[str]:
    """The options typed in a ``q{i}_options`` box: one a line, blank lines dropped."""
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def seed_check(prefix: str, form: StudyForm) -> None:
    """Put ``form``'s check into the widgets' state (at least one question: the example when there is none)."""
    st.session_state[_k(prefix, "n_questions")] = max(1, len(form.questions))
    for i, question in enumerate(form.questions or [EXAMPLE]):
        seed_question(prefix, i, question)
    st.session_state[_k(prefix, "comprehension_attempts")] = form.comprehension_attempts
    st.session_state[_k(prefix, "comprehension_fail_code")] = form.comprehension_fail_code
    st.session_state[_k(prefix, "check_live")] = True


def revive_check(prefix: str) -> None:
    """Before a run reads the form: the check was just switched on, so seed it from the kept form."""
    if st.session_state.get(_k(prefix, "comprehension")) and not st.session_state.get(_k(prefix, "check_live")):
        kept = st.session_state.get(_k(prefix, "kept"))
        seed_check(prefix, kept if kept is not None else StudyForm(name=""))


def seed_question(prefix: str, i: int, question: QuestionForm) -> None:
    st.session_state[_k(prefix, f"q{i}_question")] = question.question
    st.session_state[_k(prefix, f"q{i}_options")] = "\n".join(question.options)
    st.session_state[_k(prefix, f"q{i}_answer")] = question.answer


def read_check(prefix: str, kept: StudyForm | None) -> dict[str, Any]:
    """``questions``, ``comprehension_attempts``, ``comprehension_fail_code`` as the widgets hold them
    (as ``kept`` has them while the widgets are not live)."""
    get = st.session_state.get
    before = kept or StudyForm(name="")
    if not get(_k(prefix, "check_live")):
        return {"questions": [QuestionForm(q.question, list(q.options), q.answer) for q in before.questions],
                "comprehension_attempts": before.comprehension_attempts,
                "comprehension_fail_code": before.comprehension_fail_code}
    return {"questions": _read_questions(prefix, before.questions),
            "comprehension_attempts": int(get(_k(prefix, "comprehension_attempts"), before.comprehension_attempts)),
            "comprehension_fail_code": str(get(_k(prefix, "comprehension_fail_code"), before.comprehension_fail_code))}


def _read_questions(prefix: str, before: list[QuestionForm]) -> list[QuestionForm]:
    get = st.session_state.get
    out = []
    for i in range(int(get(_k(prefix, "n_questions"), 1))):
        if _k(prefix, f"q{i}_question") not in st.session_state:  # added by this run's click
            out.append(before[i] if i < len(before) else QuestionForm())
            continue
        options = options_of(get(_k(prefix, f"q{i}_options")))
        answer = get(_k(prefix, f"q{i}_answer"))
        out.append(QuestionForm(str(get(_k(prefix, f"q{i}_question")) or ""), options,
                                answer if answer in options else None))
    return out


def render_comprehension(prefix: str, form: StudyForm, errors_at: Callable[[str], None]) -> None:
    """The toggle and, when it is on, the check's settings and one box per question."""
    with st.container(key=_k(prefix, "comprehension_slot")):
        st.toggle("Comprehension check: questions about the instructions, answered before the first item",
                  key=_k(prefix, "comprehension"))
        if not st.session_state.get(_k(prefix, "comprehension")):
            st.caption("Off: raters start right after the instructions.")
            st.session_state[_k(prefix, "check_live")] = False
            return
        st.session_state[_k(prefix, "check_live")] = True
        cols = st.columns(3)
        n = cols[0].number_input("Questions", 1, MAX_QUESTIONS, key=_k(prefix, "n_questions"))
        cols[1].number_input("Attempts (Prolific allows at most 2)", 1, 2, key=_k(prefix, "comprehension_attempts"))
        cols[2].text_input("Code: failed the check", key=_k(prefix, "comprehension_fail_code"))
        st.caption("Every question must be answered right. A failed attempt tells the rater how many answers were "
                   "wrong (not which); failing the last one ends the session with the code above.")
        for i in range(int(n)):
            _question(prefix, i, form.questions[i] if i < len(form.questions) else QuestionForm(), errors_at)
        errors_at("comprehension")


def _question(prefix: str, i: int, seed: QuestionForm, errors_at: Callable[[str], None]) -> None:
    if _k(prefix, f"q{i}_question") not in st.session_state:
        seed_question(prefix, i, seed)
    options = options_of(st.session_state.get(_k(prefix, f"q{i}_options")))
    if st.session_state.get(_k(prefix, f"q{i}_answer")) not in options:
        st.session_state[_k(prefix, f"q{i}_answer")] = None  # its option was edited away
    with st.container(border=True, key=_k(prefix, f"question_{i}")):
        st.text_input(f"Question {i + 1}", key=_k(prefix, f"q{i}_question"))
        cols = st.columns(2)
        cols[0].text_area("Options (one a line, in the order shown)", key=_k(prefix, f"q{i}_options"), height=110)
        cols[1].selectbox("Right answer (never sent to the rater's browser)", options, index=None,
                          key=_k(prefix, f"q{i}_answer"), placeholder="Choose the right option")
        errors_at(f"comprehension.questions.{i}")
