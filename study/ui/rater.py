"""The rater page: consent -> instructions -> practice -> items -> questionnaire -> code.

All state lives in the database (``study.raters``); the browser session only keeps
the rater's token, so a reload, a lost connection or a second tab resumes at the
same item. Widget keys are the automation contract of docs/automation.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from study import raters, service
from study.config import ASSISTANCE_KINDS
from study.raters import ItemView, RaterView, SubmitResult
from study.ui.common import engine, plain

#: Widget keys cleared after every submission so the next item starts blank.
ANSWER_KEYS = ("label", "confidence", "initial_label", "initial_confidence")


@dataclass
class RaterSession:
    """Per-browser-session state: who the rater is and the last practice feedback."""

    study: str
    external_id: str
    token: str
    feedback: SubmitResult | None = None
    error: str | None = None


def _state() -> RaterSession | None:
    return st.session_state.get("rater_session")


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _default_study() -> str | None:
    live = [s.name for s in service.list_studies(engine()) if s.status == "live"]
    return "demo" if "demo" in live else (live[0] if len(live) == 1 else None)


def rater_page() -> None:
    """Entry point of the rater page."""
    session = _session_from_link()
    if session is None:
        return
    view = raters.rater_view(engine(), session.token)
    st.title(view.study_title)
    {
        "consent": _consent,
        "instructions": _instructions,
        "item": _item_screen,
        "exit": _exit_screen,
        "done": _done_screen,
        "closed": _closed_screen,
    }[view.screen](session, view)


def _session_from_link() -> RaterSession | None:
    study = _param("study") or _default_study()
    if study is None:
        st.error("This link does not name a study that is open. Please check the link you were given.")
        return None
    external = _param("PROLIFIC_PID") or _param("rater")
    current = _state()
    if current is not None and current.study == study and current.external_id == external:
        return current
    if external is None:
        _welcome()
        return None
    try:
        enrolment = raters.enrol(
            engine(), study, external,
            prolific_pid=_param("PROLIFIC_PID"), prolific_study_id=_param("STUDY_ID"),
            prolific_session_id=_param("SESSION_ID"),
        )
    except (service.ServiceError, service.StudyFull) as err:
        st.error(_link_problem(err))
        return None
    session = RaterSession(study=study, external_id=external, token=enrolment.token)
    st.session_state["rater_session"] = session
    if not enrolment.created:
        raters.log_event(engine(), session.token, "resume")
    return session


def _link_problem(err: Exception) -> str:
    text = str(err)
    if "no study named" in text:
        return "This study link is not valid: there is no such study."
    if "not open for raters" in text:
        return "This study is not open at the moment (it has not started, is paused, or has closed)."
    if "items still need ratings" in text:
        return "This study has all the ratings it needs. Thank you for your interest."
    return f"Sorry, we cannot start the study: {text}"


def _welcome() -> None:
    st.title("Welcome")
    st.write("Enter the participant ID you were given to start or resume the study.")
    rid = st.text_input("Participant ID", key="rater_id_input", max_chars=120)
    if st.button("Enter", key="enter", type="primary") and rid and rid.strip():
        st.query_params["rater"] = rid.strip()
        st.rerun()


def _consent(session: RaterSession, view: RaterView) -> None:
    st.subheader("Consent")
    st.html(plain(view.consent_text))
    col1, col2 = st.columns(2)
    if col1.button("I agree and want to take part", key="consent", type="primary"):
        raters.consent(engine(), session.token, True)
        st.rerun()
    if col2.button("I do not agree", key="decline"):
        raters.consent(engine(), session.token, False)
        st.rerun()


def _instructions(session: RaterSession, view: RaterView) -> None:
    st.subheader("Instructions")
    st.write(
        "You will see claims written by an AI assistant in answer to a question. For each claim, "
        f"decide whether it is **{' / '.join(view.labels)}**, using the sources shown, and say how "
        "confident you are (50% = a guess, 100% = certain)."
    )
    st.write(f"**Assistance in this study:** {ASSISTANCE_KINDS[view.assistance_kind]}.")
    if view.condition_instructions:
        st.html(plain(view.condition_instructions))
    if view.two_stage:
        st.write("For each claim you first answer on your own; then the AI assistance is shown and you give your final answer.")
    if view.n_practice:
        st.write(f"The first {view.n_practice} items are practice: you will be told the right answer.")
    st.write("Some items check that you are reading carefully; follow what they ask.")
    if st.button("Start", key="start", type="primary"):
        raters.start(engine(), session.token)
        st.rerun()


def _progress(view: RaterView) -> None:
    done = min(view.position, view.total)
    st.progress(done / max(view.total, 1), text=f"Item {min(done + 1, view.total)} of {view.total}")


def _item_screen(session: RaterSession, view: RaterView) -> None:
    if session.feedback is not None:
        _feedback(session)
        return
    item = view.item
    assert item is not None
    _progress(view)
    if item.stage == "practice":
        st.info("Practice item: you will see the right answer after you submit.")
    if item.context:
        st.caption("Question to the AI")
        st.html(plain(item.context))
    st.caption("The AI's answer (the claim to check)")
    st.html(plain(item.claim, css="font-size: 1.15rem; font-weight: 600;"))
    if view.show_sources and item.sources:
        _sources(item)
    if session.error:
        st.error(session.error)
        session.error = None
    two_stage = view.two_stage and not item.is_attention_check
    if two_stage and item.initial_label is None:
        _answer_widgets(view, prefix="initial_", title="Your answer (before any AI assistance)")
        st.button("Submit and show the AI assistance", key="reveal", type="primary",
                  on_click=_on_reveal, args=(session, item.assignment_id))
        return
    if two_stage:
        st.info(f"Your first answer: {item.initial_label} ({round((item.initial_confidence or 0) * 100)}%). "
                "You may keep it or change it.")
    _assistance(session, item)
    _answer_widgets(view, prefix="", title="Your final answer" if two_stage else "Your answer")
    st.button("Submit", key="submit", type="primary", on_click=_on_submit, args=(session, item.assignment_id, item.stage))


def _answer_widgets(view: RaterView, *, prefix: str, title: str) -> None:
    st.subheader(title)
    st.radio("Is the AI's answer correct?", view.labels, index=None, key=f"{prefix}label", horizontal=True)
    st.slider(
        "How confident are you? (%)",
        min_value=int(round(view.confidence_min * 100)), max_value=int(round(view.confidence_max * 100)),
        value=int(round((view.confidence_min + view.confidence_max) * 50)),
        step=max(1, int(round(view.confidence_step * 100))), key=f"{prefix}confidence",
    )


def _read_answer(prefix: str) -> tuple[str | None, float]:
    label = st.session_state.get(f"{prefix}label")
    conf = float(st.session_state.get(f"{prefix}confidence", 75)) / 100.0
    return label, conf


def _clear_answers() -> None:
    for key in ANSWER_KEYS:
        st.session_state.pop(key, None)


def _on_reveal(session: RaterSession, assignment_id: int) -> None:
    label, conf = _read_answer("initial_")
    if label is None:
        session.error = "Please choose an answer first."
        return
    try:
        raters.submit_initial(engine(), session.token, assignment_id, label, conf)
    except service.ServiceError as err:
        session.error = str(err)


def _on_submit(session: RaterSession, assignment_id: int, stage: str) -> None:
    label, conf = _read_answer("")
    if label is None:
        session.error = "Please choose an answer first."
        return
    try:
        result = raters.submit_judgment(
            engine(), session.token, assignment_id, label, conf, submission_key=f"{assignment_id}:{label}:{conf}"
        )
    except service.ServiceError as err:
        session.error = str(err)
        return
    _clear_answers()
    if result.feedback and result.recorded:
        session.feedback = result


def _feedback(session: RaterSession) -> None:
    fb = session.feedback
    assert fb is not None
    if fb.correct:
        st.success(f"Right: the answer is **{fb.gold_label}**.")
    else:
        st.warning(f"Not quite: the right answer is **{fb.gold_label}**.")
    if st.button("Next", key="next", type="primary"):
        session.feedback = None
        st.rerun()


def _sources(item: ItemView) -> None:
    st.caption("Sources")
    for src in item.sources:
        with st.container(border=True):
            if src.get("title"):
                st.html(plain(src["title"], css="font-weight: 600;"))
            st.html(plain(src["text"]))


def _log_expand(session: RaterSession, assignment_id: int, index: int, key: str) -> None:
    if st.session_state.get(key):
        raters.log_event(engine(), session.token, "quote_expand", {"quote": index}, assignment_id)


def _quotes(session: RaterSession, item: ItemView, quotes: list[dict[str, Any]], prefix: str) -> None:
    for i, q in enumerate(quotes):
        mark = "Verified: appears word for word in the source" if q.get("verified") else "NOT verified: not found in the source"
        icon = "✅" if q.get("verified") else "⚠️"
        st.html(plain(f"“{q.get('text', '')}”", css="font-style: italic;"))
        st.caption(f"{icon} {mark} · {q.get('source_title') or 'source'}")
        key = f"{prefix}quote_{item.assignment_id}_{i}"
        with st.expander("Show in source", key=key, on_change=_log_expand, args=(session, item.assignment_id, i, key)):
            idx = q.get("source_index")
            if isinstance(idx, int) and 0 <= idx < len(item.sources):
                span = (q["start"], q["end"]) if q.get("verified") and q.get("start") is not None else None
                st.html(plain(item.sources[idx]["text"], mark=span))


def _assistance(session: RaterSession, item: ItemView) -> None:
    content = item.assistance
    if item.assistance_kind == "none" or content is None:
        return
    st.divider()
    if item.assistance_kind == "evidence":
        st.subheader("AI-selected evidence")
        _quotes(session, item, content.get("quotes", []), "ev")
    elif item.assistance_kind == "reasoning":
        st.subheader("The AI's assessment")
        pct = round(float(content.get("confidence", 0)) * 100)
        st.html(plain(f"AI verdict: {content.get('label')} (confidence {pct}%)", css="font-weight: 600;"))
        st.html(plain(content.get("reasoning", "")))
        _quotes(session, item, content.get("quotes", []), "rs")
    elif item.assistance_kind == "debate":
        st.subheader("Two AI debaters")
        cols = st.columns(2)
        for i, (col, side) in enumerate(zip(cols, content.get("sides", []), strict=False)):
            with col, st.container(border=True):
                st.html(plain(f"Debater {'AB'[i]} argues: {side.get('label')}", css="font-weight: 600;"))
                st.html(plain(side.get("argument", "")))
                _quotes(session, item, side.get("quotes", []), f"db{i}")
    st.divider()


def _exit_screen(session: RaterSession, view: RaterView) -> None:
    st.subheader("Almost done: two short questions")
    st.slider("How much did you trust the AI assistance? (1 = not at all, 7 = completely)", 1, 7, 4, key="exit_trust")
    st.text_area("Anything you want to tell us? (optional)", key="exit_comments", max_chars=2000)
    if st.button("Finish", key="finish", type="primary"):
        raters.finish(engine(), session.token, {
            "trust_in_ai": st.session_state.get("exit_trust"),
            "comments": st.session_state.get("exit_comments", ""),
        })
        st.rerun()


_DONE_TEXT = {
    "completed": "Thank you! Your answers are saved.",
    "failed_attention": "This session has ended because attention-check items were not answered as asked.",
    "timed_out": "This session has ended because the time limit was reached.",
    "withdrawn": "You chose not to take part. Nothing more is needed; you may close this page.",
}


def _done_screen(session: RaterSession, view: RaterView) -> None:
    st.subheader(_DONE_TEXT.get(view.status, "This session has ended."))
    if view.completion_code:
        st.write("Your completion code:")
        with st.container(key="completion_code"):
            st.code(view.completion_code, language=None)
    if view.redirect_url:
        st.link_button("Return to the study platform", view.redirect_url, type="primary")
        # Automatic redirect once the code (and every answer) is on the server.
        components.html(f"<script>window.top.location.href = {json.dumps(view.redirect_url)};</script>", height=0)


def _closed_screen(session: RaterSession, view: RaterView) -> None:
    st.warning("This study is not open at the moment (paused or closed). Your answers so far are saved.")
