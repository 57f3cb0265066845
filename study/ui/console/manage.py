"""Manage: clone any study; edit a draft's config, remove its items, or delete it.

Each button calls one function of :mod:`study.studies` (CLI: ``oversight study
clone|edit|delete``, ``oversight items remove``).
"""

from __future__ import annotations

import streamlit as st

from study import monitor, service, studies
from study.config import ConfigError
from study.study_form import check_form, form_from_config
from study.ui.common import engine
from study.ui.console.base import ConsoleState, callback
from study.ui.console.form_view import read_form, render_form, reset_form, seed_form


def render(state: ConsoleState, name: str) -> None:
    _clone(state, name)
    draft = service.get_study(engine(), name).status == "draft"
    if not draft:
        st.caption("Only a draft study can be edited, trimmed or deleted; this one has been launched. Clone it "
                   "to run it again with changes.")
        return
    _edit(state, name)
    _remove_items(state, name)
    _delete(state, name)


@callback
def _on_clone(state: ConsoleState, name: str) -> None:
    new = str(st.session_state.get("clone_name") or "").strip()
    try:
        report = studies.clone_study(engine(), name, new, assistance=bool(st.session_state.get("clone_assistance")))
    except (ConfigError, service.ServiceError) as err:
        state.say("error", f"Could not clone `{name}`: {err}")
        return
    state.say("success", f"Created draft study `{new}` from `{name}`: {report.items} items, {report.sources} "
                         f"sources and {report.assistance} assistance rows copied (no raters or answers).")
    st.session_state["console_study"] = new
    st.session_state["clone_name"] = ""


def _clone(state: ConsoleState, name: str) -> None:
    st.subheader("Clone")
    st.caption("Copies the config (under the new name), the items with their sources and, if ticked, the frozen "
               "AI assistance. Raters, answers and events are not copied; the clone starts as a draft.")
    cols = st.columns([3, 2, 1], vertical_alignment="bottom")
    cols[0].text_input("Name of the copy", key="clone_name", placeholder=f"{name}-2")
    cols[1].checkbox("Copy the stored AI assistance", key="clone_assistance", value=True)
    cols[2].button("Clone", key="clone_study", on_click=_on_clone, args=(state, name), width="stretch")


@callback
def _on_save(state: ConsoleState, name: str, prefix: str) -> None:
    check = check_form(read_form(prefix))
    if check.config is None:
        state.say("error", "The config has problems (listed under the fields); nothing was saved.")
        return
    try:
        studies.update_config(engine(), name, check.config)
    except (ConfigError, service.ServiceError) as err:
        state.say("error", f"Not saved: {err}")
        return
    reset_form(prefix)
    state.say("success", f"Saved the config of `{name}`.")


def _edit(state: ConsoleState, name: str) -> None:
    st.subheader("Edit the config")
    prefix = f"edit-{name}"
    with st.expander("Edit this draft's config", expanded=False):
        seed_form(prefix, form_from_config(service.get_config(engine(), name)))
        check = render_form(prefix, editing=True)
        st.button("Save changes", key="save_config", type="primary", on_click=_on_save, args=(state, name, prefix),
                  disabled=not check.ok)


@callback
def _on_remove(state: ConsoleState, name: str) -> None:
    ids = list(st.session_state.get("remove_item_ids") or [])
    try:
        n = studies.remove_items(engine(), name, ids)
    except service.ServiceError as err:
        state.say("error", str(err))
        return
    state.say("success", f"Removed {n} items (with their sources and assistance) from `{name}`.")
    st.session_state["remove_item_ids"] = []


def _remove_items(state: ConsoleState, name: str) -> None:
    st.subheader("Remove items")
    roles = monitor.item_roles(engine(), name)
    if not roles:
        st.caption("No items yet.")
        return
    cols = st.columns([4, 1], vertical_alignment="bottom")
    cols[0].multiselect("Items to remove", list(roles), key="remove_item_ids", format_func=lambda i: f"{i} ({roles[i]})")
    cols[1].button("Remove", key="remove_items", on_click=_on_remove, args=(state, name), width="stretch",
                   disabled=not st.session_state.get("remove_item_ids"))


@callback
def _on_delete(state: ConsoleState, name: str) -> None:
    try:
        studies.delete_study(engine(), name)
    except service.ServiceError as err:
        state.say("error", str(err))
        return
    state.say("success", f"Deleted draft study `{name}` with its items and assistance.")
    st.session_state.pop("console_study", None)
    st.session_state["confirm_delete"] = False


def _delete(state: ConsoleState, name: str) -> None:
    st.subheader("Delete")
    cols = st.columns([3, 1], vertical_alignment="bottom")
    cols[0].checkbox(f"Yes, delete `{name}` and its items for good", key="confirm_delete")
    cols[1].button("Delete study", key="delete_study", on_click=_on_delete, args=(state, name), width="stretch",
                   disabled=not st.session_state.get("confirm_delete"))
