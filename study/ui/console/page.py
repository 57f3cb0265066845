"""The console page: login, flash messages, the section switch and the status bar."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from study import service
from study.incidents import guarded
from study.ui.common import engine, require_admin
from study.ui.console import export_view, manage, monitor_view, new_study, participants_view, preview, setup
from study.ui.console.base import ConsoleState, callback, state
from study.ui.links import links_section

#: The sections across the top, in order (each is ``render(state, study_name)``).
#: Another section is one more line here.
SECTIONS: dict[str, Callable[[ConsoleState, str], None]] = {
    "Monitor": monitor_view.render,
    "Participants": participants_view.render,
    "Set up": setup.render,
    "Preview": preview.render,
    "Links": links_section,
    "Export": export_view.render,
    "Manage": manage.render,
}
NEW_STUDY = "New study"


@guarded(st.error)
def console_page() -> None:
    """Entry point of the console page."""
    st.title("Experimenter console")
    if not require_admin():
        return
    current = state()
    for kind, text in current.flash:
        getattr(st, kind)(text)
    current.flash.clear()
    names = [s.name for s in service.list_studies(engine())]
    sections = [*SECTIONS, NEW_STUDY] if names else [NEW_STUDY]
    if st.session_state.get("console_section") not in sections:
        st.session_state.pop("console_section", None)
    section = st.radio("Section", sections, horizontal=True, key="console_section", label_visibility="collapsed")
    if section == NEW_STUDY or not names:
        new_study.render(current)
        return
    if st.session_state.get("console_study") not in names:
        st.session_state.pop("console_study", None)
    name = st.selectbox("Study", names, key="console_study")
    _status_bar(current, name)
    SECTIONS[section](current, name)


_ACTIONS = (("Launch", "live", ("draft", "paused")), ("Pause", "paused", ("live",)),
            ("Close", "closed", ("draft", "live", "paused")))


@callback
def _set_status(current: ConsoleState, name: str, status: str) -> None:
    try:
        service.set_status(engine(), name, status)
        current.say("success", f"Study `{name}` is now **{status}**.")
    except service.ServiceError as err:
        message = _launch_problem(str(err))
        current.say("error", message)
        if "Set up" in message:  # show the section with the button the message names
            st.session_state["console_section"] = "Set up"


def _launch_problem(text: str) -> str:
    """A launch refusal, pointing at the console's own buttons rather than the CLI."""
    if "assistance rows" in text:
        head = text.split("; run `oversight assist")[0]
        return f"{head}. Open **Set up** and press **Generate** under AI assistance."
    if "main items" in text:
        return f"{text}. Open **Set up** and import an item bank."
    return text


def _status_bar(current: ConsoleState, name: str) -> None:
    study = service.get_study(engine(), name)
    cols = st.columns([3, 1, 1, 1], vertical_alignment="center")
    cols[0].markdown(f"**{study.title}** · status `{study.status}`")
    for col, (label, status, allowed) in zip(cols[1:], _ACTIONS, strict=True):
        confirm = status != "closed" or st.session_state.get("confirm_close", False)
        col.button(label, key=f"status_{status}", disabled=study.status not in allowed or not confirm,
                   on_click=_set_status, args=(current, name, status), width="stretch")
    if study.status != "closed":
        st.checkbox("Allow closing (a closed study cannot reopen)", key="confirm_close")
