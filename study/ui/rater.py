"""The rater page: consent -> instructions -> practice -> items -> questionnaire -> code.

All state lives in the database (``study.rater``); the browser session only keeps
the rater's token, so a reload, a lost connection or a second tab resumes at the
same item. Widget keys are the automation contract of docs/automation.md; the flow
is described in docs/rater-flow.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from study import rater, service
from study.config import ASSISTANCE_KINDS
from study.rater import ItemView, RaterView, SubmitResult
from study.ui.assistance_view import DOUBLE_CLICK_S, assistance, md_escape, sources
from study.ui.common import engine, plain

#: Show the remaining time once less than this is left.
SHOW_TIME_LEFT_S = 10 * 60
#: Seconds the completion code stays on screen before the automatic redirect.
REDIRECT_DELAY_S = 3

# Client-side activity clock (components v2: inline JS, no frontend build). It counts
# the time the tab is visible *and* focused, keeps the running total in
# sessionStorage (so a reload in the same tab keeps it), and reports it as widget
# state on every pointer/key press. Inside a form the state is sent with the form's
# submit, so it adds no extra round trip; the press on Submit itself updates it first.
_ACTIVITY_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  const key = "oversight-active-" + data.id;
  let total = Number(sessionStorage.getItem(key) || 0);
  const active = () => document.visibilityState === "visible" && document.hasFocus();
  let since = active() ? performance.now() : null;
  const tick = () => {
    const now = performance.now();
    if (since !== null) total += now - since;
    since = active() ? now : null;
    sessionStorage.setItem(key, String(Math.round(total)));
  };
  const report = () => {
    tick();
    setStateValue("activity", { active_ms: Math.round(total), client_at: new Date().toISOString() });
  };
  const timer = setInterval(tick, 1000);
  document.addEventListener("visibilitychange", tick);
  window.addEventListener("focus", tick);
  window.addEventListener("blur", tick);
  document.addEventListener("pointerdown", report, true);
  document.addEventListener("keydown", report, true);
  report();
  return () => {
    tick();
    clearInterval(timer);
    document.removeEventListener("visibilitychange", tick);
    window.removeEventListener("focus", tick);
    window.removeEventListener("blur", tick);
    document.removeEventListener("pointerdown", report, true);
    document.removeEventListener("keydown", report, true);
  };
}
"""

# Automatic redirect once the code is on screen (and every answer is on the server).
_REDIRECT_JS = """
export default function (component) {
  const { data } = component;
  const timer = setTimeout(() => {
    try { window.top.location.assign(data.url); } catch (e) { window.location.assign(data.url); }
  }, data.delay_ms);
  return () => clearTimeout(timer);
}
"""


@dataclass
class RaterSession:
    """Per-browser-session state: who the rater is, and what this tab last did."""

    study: str
    external_id: str
    token: str
    feedback: SubmitResult | None = None
    feedback_item: tuple[str, str] = ("", "")  # (claim, the rater's answer) shown with the feedback
    on_screen: tuple[int, str] = (0, "")  # (assignment id, claim) of the item last rendered
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
    """Entry point of the rater page."""
    session = _session_from_link()
    if session is None:
        return
    try:
        # While practice feedback is on screen the next item is not shown yet, so its
        # time on item must not start.
        view = rater.rater_view(engine(), session.token, mark_shown=session.feedback is None)
    except service.ServiceError:
        st.session_state.pop("rater_session", None)  # e.g. the database was reset
        st.error("We could not find your session. Please open the link you were given again.")
        return
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
        enrolment = rater.enrol(
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
        rater.log_event(engine(), session.token, "resume")
        session.notice = "Welcome back: you continue where you left off."
    return session


def _link_problem(err: Exception) -> str:
    text = str(err)
    if "no study named" in text:
        return "This study link is not valid: there is no such study. Please check the link you were given."
    if "not open for raters" in text:
        return "This study is not open at the moment (it has not started, is paused, or has closed)."
    if isinstance(err, service.StudyFull) or "items still need ratings" in text:
        return "This study has all the ratings it needs. Thank you for your interest."
    return f"Sorry, we cannot start the study: {text}"


def _welcome(study: str) -> None:
    try:
        status = service.get_study(engine(), study).status
    except service.ServiceError as err:
        st.error(_link_problem(err))
        return
    if status != "live":
        st.error(_link_problem(service.ServiceError("not open for raters")))
        return
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
        rater.consent(engine(), session.token, True)
        st.rerun()
    if col2.button("I do not agree", key="decline"):
        rater.consent(engine(), session.token, False)
        st.rerun()


def _instructions(session: RaterSession, view: RaterView) -> None:
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
    if st.button("Start", key="start", type="primary"):
        rater.start(engine(), session.token)
        st.rerun()


def _progress(view: RaterView, item: ItemView) -> None:
    done = min(view.position, view.total)
    what = "Practice item" if item.stage == "practice" else "Item"
    with st.container(key="progress"):
        st.progress(done / max(view.total, 1), text=f"{what} {min(done + 1, view.total)} of {view.total}")
    if view.seconds_left is not None and view.seconds_left < SHOW_TIME_LEFT_S:
        st.caption(f"Time left: about {max(1, round(view.seconds_left / 60))} min")


def _item_screen(session: RaterSession, view: RaterView) -> None:
    if session.feedback is not None:
        _feedback(session, view)
        return
    item = view.item
    assert item is not None
    _messages(session)
    _progress(view, item)
    if item.stage == "practice":
        st.info("Practice item: you will see the right answer after you submit.")
    _item_body(session, view, item)
    # Condition `none` answers twice too: its revisions are the baseline for the others'.
    two_stage = view.two_stage and not item.is_attention_check
    if two_stage and item.initial_label is None:
        _answer_form(session, view, item, stage="initial")
        return
    if two_stage:
        look = "at the AI assistance below" if item.assistance_kind != "none" else "at the item again"
        st.info(f"Your first answer: {md_escape(item.initial_label or '')} "
                f"({round((item.initial_confidence or 0) * 100)}%). Now look {look}; you may keep your answer or change it.")
    if view.extra.get("design") == "within":
        st.caption(f"AI assistance on this item: {ASSISTANCE_KINDS[item.assistance_kind]}. {md_escape(item.instructions)}")
    assistance(session, item)
    _answer_form(session, view, item, stage="final" if two_stage else "only")


def _messages(session: RaterSession) -> None:
    if session.notice:
        st.toast(session.notice)
        session.notice = None
    if session.error:
        st.error(session.error)
        session.error = None


def _item_body(session: RaterSession, view: RaterView, item: ItemView) -> None:
    with st.container(key="item"):
        if item.context:
            st.caption("Question to the AI")
            st.html(plain(item.context))
        st.caption("The AI's answer: is it correct?")
        with st.container(border=True, key="claim"):
            st.html(plain(item.claim, css="font-size: 1.15rem; font-weight: 600;"))
        session.on_screen = (item.assignment_id, item.claim)  # for the practice feedback
        if view.show_sources and item.sources:
            sources(item)


def item_key(key: str, assignment_id: int) -> str:
    """The widget key of contract element ``key`` for one item (see docs/automation.md).

    The stable contract key goes on a container around the widget; the widget itself
    is new for every item. A click or a form sent from a page that still shows the
    previous item (the second click of a double click, a stale tab) then names
    widgets that no longer exist, and Streamlit drops it, instead of applying its
    answer to the item that is now current. New widgets also start blank.
    """
    return f"{key}-{assignment_id}"


def _answer_form(session: RaterSession, view: RaterView, item: ItemView, *, stage: str) -> None:
    """The label + confidence form; ``stage`` is ``initial``, ``final`` or ``only``."""
    aid = item.assignment_id
    prefix = "initial_" if stage == "initial" else ""
    title = {"initial": "Your answer (before any AI assistance)", "final": "Your final answer"}.get(stage, "Your answer")
    keep = stage == "final"
    with st.form(item_key(f"answer_{stage}", aid), border=False):
        st.subheader(title)
        with st.container(key=f"{prefix}label"):
            st.radio(
                "Is the AI's answer correct?" if view.labels == ["correct", "incorrect"] else "Your label",
                view.labels, key=item_key(f"{prefix}label", aid), horizontal=True,
                index=view.labels.index(item.initial_label) if keep and item.initial_label in view.labels else None,
            )
        lo, hi = round(view.confidence_min * 100), round(view.confidence_max * 100)
        start = round((item.initial_confidence or 0) * 100) if keep and item.initial_confidence else round((lo + hi) / 2)
        with st.container(key=f"{prefix}confidence"):
            st.slider(f"How sure are you? ({lo}% = a guess, {hi}% = certain)", min_value=lo, max_value=hi, value=start,
                      step=max(1, round(view.confidence_step * 100)), key=item_key(f"{prefix}confidence", aid))
        button = "reveal" if stage == "initial" else "submit"
        with st.container(key=button):
            st.form_submit_button(
                ("Submit and show the AI assistance" if item.assistance_kind != "none" else "Submit first answer")
                if stage == "initial" else "Submit",
                key=item_key(button, aid), type="primary",
                on_click=_on_reveal if stage == "initial" else _on_submit, args=(session, aid, stage),
            )
        _client_components()["activity"](
            key=item_key(f"activity_{stage}", aid), data={"id": aid}, on_activity_change=_noop, height=0,
        )


def _noop() -> None:
    """Registers the activity state with Streamlit; nothing to do on change."""


def _read_answer(prefix: str, assignment_id: int) -> tuple[str | None, float]:
    label = st.session_state.get(item_key(f"{prefix}label", assignment_id))
    conf = float(st.session_state.get(item_key(f"{prefix}confidence", assignment_id), 75)) / 100.0
    return label, conf


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


def _on_reveal(session: RaterSession, assignment_id: int, _stage: str) -> None:
    label, conf = _read_answer("initial_", assignment_id)
    if label is None:
        session.error = "Please choose an answer first."
        return
    try:
        rater.submit_initial(engine(), session.token, assignment_id, label, conf)
    except service.ServiceError as err:
        session.error = str(err)


def _on_submit(session: RaterSession, assignment_id: int, stage: str) -> None:
    label, conf = _read_answer("", assignment_id)
    if label is None:
        if time.monotonic() - session.last_recorded_at > DOUBLE_CLICK_S:
            session.error = "Please choose an answer first."
        return  # else: the second click of a double click, landing on the next item
    active_ms, client_at = _read_activity(item_key(f"activity_{stage}", assignment_id))
    try:
        result = rater.submit_judgment(
            engine(), session.token, assignment_id, label, conf, active_ms=active_ms,
            client_submitted_at=client_at, submission_key=f"{assignment_id}:{label}:{conf}"[:64],
        )
    except service.ServiceError as err:
        session.error = _submit_problem(err)
        return
    if result.recorded:
        session.last_recorded_at = time.monotonic()
    elif assignment_id not in session.submitted:
        session.notice = "That item was already answered (in another window); here is the next one."
    session.submitted.add(assignment_id)
    if result.feedback and result.recorded:
        session.feedback = result
        claim = session.on_screen[1] if session.on_screen[0] == assignment_id else ""
        session.feedback_item = (claim, label)


def _submit_problem(err: Exception) -> str:
    text = str(err)
    if "time limit" in text:
        return "The time limit has been reached, so this answer could not be saved."
    return f"Your answer could not be saved: {text}"


def _feedback(session: RaterSession, view: RaterView) -> None:
    fb = session.feedback
    assert fb is not None
    claim, answer = session.feedback_item
    st.subheader("Practice feedback")
    if claim:
        with st.container(border=True):
            st.html(plain(claim, css="font-weight: 600;"))
    gold, answer = md_escape(fb.gold_label or ""), md_escape(answer)
    if fb.correct:
        st.success(f"Right: the answer is “{gold}”.")
    else:
        st.warning(f"Not quite: you answered “{answer}”; the right answer is “{gold}”.")
    if st.button("Next", key="next", type="primary"):
        session.feedback = None
        st.rerun()


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
        rater.finish(engine(), session.token, {
            "trust_in_ai": st.session_state.get("exit_trust"),
            "comments": st.session_state.get("exit_comments", ""),
        })
        st.rerun()


_DONE_TEXT = {
    "completed": "Thank you! Your answers are saved.",
    "failed_attention": "This session has ended because attention-check items were not answered as asked.",
    "timed_out": "This session has ended because the time limit was reached. Your answers so far are saved.",
    "withdrawn": "You chose not to take part. Nothing more is needed; you may close this page.",
}


def _done_screen(session: RaterSession, view: RaterView) -> None:
    st.subheader(_DONE_TEXT.get(view.status, "This session has ended."))
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
