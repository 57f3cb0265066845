"""The rater page: consent -> instructions -> practice -> items -> questionnaire -> code.

All state lives in the database (``study.rater``); the browser session only keeps
the rater's token, so a reload, a lost connection or a second tab resumes at the
same item. Widget keys are the automation contract of docs/automation.md; the flow
is described in docs/rater-flow.md. The item screen itself is
:func:`study.ui.item_view.render_item` (shared with the console's preview); this page
adds the session and the callbacks that record answers and events. Its two client-side
programs are ``activity.js`` and ``redirect.js`` next to this file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from typing import Any

import streamlit as st

from study import links, service
from study import rater as raters
from study.rater import RaterView
from study.rater.rules import CONFIDENCE_NOT_MOVED
from study.ui.common import engine, md_escape, plain
from study.ui.deadline import watch_deadline
from study.ui.instructions import comprehension_retry_message, instructions_screen
from study.ui.item_view import ItemActions, item_key, render_item
from study.ui.rater_guard import client, guard_callback, run_guarded
from study.ui.screens import DONE_TEXT, consent_body

#: Seconds the completion code stays on screen before the automatic redirect.
REDIRECT_DELAY_S = 3
#: A second click this soon after a recorded submission is a double click, not a new answer.
DOUBLE_CLICK_S = 2.0



def _program(name: str) -> str:
    """A JavaScript program shipped next to this module (read once, at import)."""
    return resources.files("study.ui").joinpath(name).read_text(encoding="utf-8")


#: The two client-side programs (components v2: plain JS, no frontend build).
_ACTIVITY_JS = _program("activity.js")
_REDIRECT_JS = _program("redirect.js")


@dataclass
class RaterSession:
    """Per-browser-session state: who the rater is, and what this tab last did."""

    study: str
    external_id: str
    token: str
    error: str | None = None
    notice: str | None = None
    last_recorded_at: float = 0.0
    submitted: set[int] = field(default_factory=set)
    expanded: dict[str, float] = field(default_factory=dict)


def _state() -> RaterSession | None:
    return st.session_state.get("rater_session")


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _default_study() -> str | None:
    live = [s.name for s in service.list_studies(engine()) if s.status == "live"]
    return "demo" if "demo" in live else (live[0] if len(live) == 1 else None)


@st.cache_resource
def _client_components() -> dict[str, Any]:
    """Register the two inline JS components once per process."""
    return {
        "activity": st.components.v2.component("oversight_activity", js=_ACTIVITY_JS),
        "redirect": st.components.v2.component("oversight_redirect", js=_REDIRECT_JS),
    }


def rater_page() -> None:
    """Entry point of the rater page: every failure is a plain message (:mod:`study.ui.rater_guard`)."""
    run_guarded(_rater_page)


def _rater_page() -> None:
    session = _session_from_link()
    if session is None:
        return
    try:
        # While practice feedback is on screen (view.screen "feedback") the next item is
        # not shown yet, so its time on item does not start.
        view = raters.rater_view(engine(), session.token)
    except service.ServiceError:
        # e.g. an unconsented visit swept after its idle time, or the database was reset
        st.session_state.pop("rater_session", None)
        session = _session_from_link()
        if session is None:
            return
        view = raters.rater_view(engine(), session.token, mark_shown=True)
    st.title(view.study_title)
    if view.seconds_left is not None and view.screen in ("instructions", "item", "feedback"):
        watch_deadline(view.seconds_left)
    {
        "consent": _consent,
        "instructions": _instructions,
        "item": _item_screen,
        "feedback": _feedback,
        "exit": _exit_screen,
        "done": _done_screen,
        "closed": _closed_screen,
    }[view.screen](session, view)


def _session_from_link() -> RaterSession | None:
    current = _state()
    study = _param("study") or (current.study if current else None) or _default_study()
    if study is None:
        st.error("This link does not name a study that is open. Please check the link you were given.")
        return None
    external = _param("PROLIFIC_PID") or _param("rater")
    if current is not None and current.study == study and current.external_id == external:
        return current
    if external is None:
        _welcome(study)
        return None
    try:
        _check_link(study)
        enrolment = raters.enrol(
            engine(), study, external,
            prolific_pid=_param("PROLIFIC_PID"), prolific_study_id=_param("STUDY_ID"),
            prolific_session_id=_param("SESSION_ID"), client=client(),
        )
    except (service.ServiceError, service.StudyFull) as err:
        st.error(_link_problem(err))
        return None
    session = RaterSession(study=study, external_id=external, token=enrolment.token)
    st.session_state["rater_session"] = session
    if not enrolment.created:
        raters.log_event(engine(), session.token, "resume")
        session.notice = "Welcome back: you continue where you left off."
    return session


def _check_link(study: str) -> None:
    """Refuse a link a signed study does not accept (:func:`study.links.link_problem`)."""
    config = service.get_config(engine(), study)
    params = {k: _param(k) for k in ("rater", "PROLIFIC_PID", links.SIGNATURE_PARAM)}
    problem = links.link_problem(config, params, links.link_secret())
    if problem is not None:
        raise service.ServiceError(f"link refused: {problem}")


def _link_problem(err: Exception) -> str:
    text = str(err)
    if isinstance(err, raters.EnrolmentThrottled):
        return (f"Too many people have started this study from your connection in a short time (429). "
                f"Please try again in {err.retry_after} seconds.")
    if "no study named" in text:
        return "This study link is not valid: there is no such study. Please check the link you were given."
    if "not open for raters" in text:
        return "This study is not open at the moment (it has not started, is paused, or has closed)."
    if isinstance(err, service.StudyFull) or "items still need ratings" in text:
        return "This study has all the ratings it needs. Thank you for your interest."
    if text == "link refused: unconfigured":
        return "This study cannot take participants at the moment (its links are not set up). Please tell the study team."
    if text.startswith("link refused"):
        return "This link is not valid for this study: it is incomplete or was changed. Please open the exact link you were given."
    if "printable characters" in text:
        return f"This link is not valid: {text}. Please open the exact link you were given."
    return f"Sorry, we cannot start the study: {text}"


def _welcome(study: str) -> None:
    try:
        status = service.get_study(engine(), study).status
        signed = service.get_config(engine(), study).links == "signed"
    except service.ServiceError as err:
        st.error(_link_problem(err))
        return
    if status != "live":
        st.error(_link_problem(service.ServiceError("not open for raters")))
        return
    if signed:  # a typed id has no signature
        st.error("Please open the personal link you were given for this study.")
        return
    st.title("Welcome")
    st.write("Enter the participant ID you were given to start or resume the study.")
    rid = st.text_input("Participant ID", key="rater_id_input", max_chars=raters.MAX_EXTERNAL_ID)
    if st.button("Enter", key="enter", type="primary") and rid and rid.strip():
        st.query_params["rater"] = rid.strip()
        st.rerun()


def _consent(session: RaterSession, view: RaterView) -> None:
    consent_body(view)
    col1, col2 = st.columns(2)
    if col1.button("I agree and want to take part", key="consent", type="primary"):
        try:
            raters.consent(engine(), session.token, True)  # the condition and items are chosen now
        except (service.ServiceError, service.StudyFull) as err:
            st.error(_link_problem(err))
            return
        st.rerun()
    if col2.button("I do not agree", key="decline"):
        raters.consent(engine(), session.token, False)
        st.rerun()


def _instructions(session: RaterSession, view: RaterView) -> None:
    error, session.error = session.error, None
    instructions_screen(view, guard_callback(partial(_on_start, session)), error)


def _on_start(session: RaterSession, answers: list[str | None] | None) -> None:
    """Start pressed (``answers``: the comprehension answers, when the study has a check)."""
    try:
        if answers is None:
            raters.start(engine(), session.token)
            return
        result = raters.check_comprehension(engine(), session.token, answers)
    except service.ServiceError as err:
        session.error = f"Sorry, that did not work: {err}"
        return
    if not result.passed and result.attempts_left:
        session.error = comprehension_retry_message(result)


def _item_screen(session: RaterSession, view: RaterView) -> None:
    item = view.item
    assert item is not None
    error, session.error = session.error, None
    _messages(session)
    render_item(view, ItemActions(on_answer=guard_callback(partial(_on_answer, session)),
                                  on_expand=guard_callback(partial(_log_expand, session)),
                                  activity=_activity_clock, error=error))


def _messages(session: RaterSession) -> None:
    """The notice as a toast, and an error (the item screen shows its own next to Submit)."""
    if session.notice:
        st.toast(session.notice)
        session.notice = None
    if session.error:
        st.error(session.error)
        session.error = None


def _activity_clock(key: str, assignment_id: int) -> None:
    """The client-side activity clock inside an answer form (read back by :func:`_read_activity`)."""
    _client_components()["activity"](key=key, data={"id": assignment_id}, on_activity_change=_noop, height=0)


def _log_expand(session: RaterSession, assignment_id: int, index: str, key: str) -> None:
    # A resent page state (double click) can replay an expansion: log each one once a moment.
    if st.session_state.get(key) and time.monotonic() - session.expanded.get(key, -1e9) > DOUBLE_CLICK_S:
        session.expanded[key] = time.monotonic()
        raters.log_event(engine(), session.token, "quote_expand", {"quote": index}, assignment_id)


def _on_answer(session: RaterSession, assignment_id: int, stage: str, confidence_start: int | None) -> None:
    """An answer form was sent: the first answer (``initial``) or the final one."""
    (_on_reveal if stage == "initial" else _on_submit)(session, assignment_id, stage, confidence_start)


def _noop() -> None:
    """Registers the activity state with Streamlit; nothing to do on change."""


def _read_answer(prefix: str, assignment_id: int, start: int | None) -> tuple[str | None, float, bool]:
    """(label, confidence, whether the slider was moved from ``start``; see :class:`ItemActions`)."""
    label = st.session_state.get(item_key(f"{prefix}label", assignment_id))
    value = st.session_state.get(item_key(f"{prefix}confidence", assignment_id), start if start is not None else 75)
    return label, float(value) / 100.0, start is None or round(float(value)) != start


def _read_activity(key: str) -> tuple[int | None, datetime | None]:
    """Active milliseconds and the client's clock at submit, when the browser sent them."""
    state = st.session_state.get(key)
    activity = state.get("activity") if isinstance(state, dict) else getattr(state, "activity", None)
    if not isinstance(activity, dict):
        return None, None
    ms = activity.get("active_ms")
    active_ms = int(ms) if isinstance(ms, int | float) and 0 <= ms < 7 * 24 * 3600 * 1000 else None
    try:
        at = datetime.fromisoformat(str(activity.get("client_at")).replace("Z", "+00:00"))
        client_at = at.astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        client_at = None
    return active_ms, client_at


def _on_reveal(session: RaterSession, assignment_id: int, _stage: str, start: int | None) -> None:
    label, conf, moved = _read_answer("initial_", assignment_id, start)
    if label is None:
        session.error = "Please choose an answer first."
        return
    try:
        raters.submit_initial(engine(), session.token, assignment_id, label, conf, confidence_moved=moved)
    except service.ServiceError as err:
        session.error = _submit_problem(err)


def _on_submit(session: RaterSession, assignment_id: int, stage: str, start: int | None) -> None:
    label, conf, moved = _read_answer("", assignment_id, start)
    if label is None:
        if time.monotonic() - session.last_recorded_at > DOUBLE_CLICK_S:
            session.error = "Please choose an answer first."
        return  # else: the second click of a double click, landing on the next item
    active_ms, client_at = _read_activity(item_key(f"activity_{stage}", assignment_id))
    try:
        result = raters.submit_judgment(
            engine(), session.token, assignment_id, label, conf, active_ms=active_ms,
            client_submitted_at=client_at, submission_key=f"{assignment_id}:{label}:{conf}"[:64],
            confidence_moved=moved,
        )
    except service.ServiceError as err:
        session.error = _submit_problem(err)
        return
    if result.recorded:
        session.last_recorded_at = time.monotonic()
    elif assignment_id not in session.submitted:
        session.notice = "That item was already answered (in another window); here is the next one."
    session.submitted.add(assignment_id)


def _submit_problem(err: Exception) -> str:
    text = str(err)
    if "time limit" in text:
        return "The time limit has been reached, so this answer could not be saved."
    if text == CONFIDENCE_NOT_MOVED:
        return "Please move the confidence slider to say how sure you are."
    return f"Your answer could not be saved: {text}"


def _feedback(session: RaterSession, view: RaterView) -> None:
    """A practice item's feedback: from the database, so it is still up after a reload."""
    fb = view.feedback
    assert fb is not None
    _messages(session)
    st.subheader("Practice feedback")
    with st.container(border=True):
        st.html(plain(fb.claim, css="font-weight: 600;"))
    gold, answer = md_escape(fb.gold_label), md_escape(fb.answer)
    if fb.correct:
        st.success(f"Right: the answer is “{gold}”.")
    else:
        st.warning(f"Not quite: you answered “{answer}”; the right answer is “{gold}”.")
    # A callback, so the click and the next item take one run (not a run, then st.rerun()).
    st.button("Next", key="next", type="primary", on_click=guard_callback(partial(_on_next, session)))


def _on_next(session: RaterSession) -> None:
    """Next pressed on practice feedback: the next item's clock starts now (a second tab's click is a no-op)."""
    raters.feedback_seen(engine(), session.token)


def _exit_screen(session: RaterSession, view: RaterView) -> None:
    st.subheader("Almost done: two short questions")
    with st.form("exit", border=False):
        question = (
            "How much do you trust AI assistants to check claims like these?"
            if view.assistance_kind == "none" and view.extra.get("design") != "within"
            else "How much did you trust the AI assistance?"
        )
        st.radio(f"{question} (1 = not at all, 7 = completely)", [1, 2, 3, 4, 5, 6, 7], index=None,
                 key="exit_trust", horizontal=True)
        st.text_area("Anything you want to tell us? (optional)", key="exit_comments", max_chars=2000)
        finished = st.form_submit_button("Finish", key="finish", type="primary")
    if finished:
        raters.finish(engine(), session.token, {
            "trust_in_ai": st.session_state.get("exit_trust"),
            "comments": st.session_state.get("exit_comments", ""),
        })
        st.rerun()


def _done_screen(session: RaterSession, view: RaterView) -> None:
    st.subheader(DONE_TEXT.get(view.status, "This session has ended."))
    if view.completion_code:
        st.write("Your completion code (copy it into the study platform, e.g. Prolific):")
        with st.container(key="completion_code"):
            st.code(view.completion_code, language=None)
    if view.redirect_url:
        st.write(f"You will be taken back to the study platform in {REDIRECT_DELAY_S} seconds.")
        st.link_button("Return to the study platform now", view.redirect_url, type="primary")
        _client_components()["redirect"](
            key="redirect", data={"url": view.redirect_url, "delay_ms": REDIRECT_DELAY_S * 1000}, height=0,
        )


def _closed_screen(session: RaterSession, view: RaterView) -> None:
    st.warning("This study is not open at the moment (paused or closed). Your answers so far are saved.")
