"""Preview: the whole rater flow in any condition, screen by screen, read-only.

Consent, instructions, practice, items (before and after the reveal in two-stage
studies), exit questions and the end screen, drawn by the rater page's own item screen
(:func:`study.ui.item_view.render_item` with no actions: nothing is recorded, no
rater is enrolled). Above each item the experimenter sees the gold label and whether
the stored AI verdict is right (:func:`study.preview.item_truth`).
"""

from __future__ import annotations

import streamlit as st

from study import preview as flow
from study import service
from study.monitor import item_roles
from study.rater import RaterView
from study.ui import screens
from study.ui.common import engine, md_escape
from study.ui.console.base import ConsoleState
from study.ui.item_view import render_item


def render(state: ConsoleState, name: str) -> None:
    if not item_roles(engine(), name):
        st.info("Import an item bank first: the preview shows the study's own items.")
        return
    config = service.get_config(engine(), name)
    steps = flow.flow_steps(engine(), name)
    cols = st.columns([2, 1, 1], vertical_alignment="bottom")
    keys = [c.key for c in config.conditions]
    condition = cols[0].selectbox("Condition", keys, key="preview_condition",
                                  format_func=lambda k: f"{k}: {config.condition(k).label or config.condition(k).assistance}")
    flip = cols[1].toggle("Debate sides swapped", key="preview_flip",
                          disabled=config.condition(condition).assistance != "debate",
                          help="Every second rater sees the two sides in swapped order.")
    index = min(int(st.session_state.get("preview_index", 0)), len(steps) - 1)
    st.session_state["preview_index"] = index
    cols[2].caption(f"Screen {index + 1} of {len(steps)}")
    _navigation(steps)
    step = _any_item(name, config.design.two_stage) or steps[int(st.session_state["preview_index"])]
    st.caption("Exactly what a rater sees; nothing here is recorded and no rater is enrolled.")
    view = flow.step_view(engine(), name, condition, step, debate_flip=bool(flip))
    if step.screen == "item":
        _truth(name, step.item_id)
    with st.container(border=True, key="preview_screen"):
        _screen(view, step)


def _navigation(steps: list[flow.FlowStep]) -> None:
    last = len(steps) - 1
    cols = st.columns([1, 4, 1], vertical_alignment="bottom")
    cols[0].button("Back", key="preview_back", on_click=_move, args=(-1, last), width="stretch",
                   disabled=st.session_state["preview_index"] == 0)
    cols[1].selectbox("Screen", range(len(steps)), key="preview_index", format_func=lambda i: steps[i].title)
    cols[2].button("Next", key="preview_next", on_click=_move, args=(1, last), width="stretch", type="primary",
                   disabled=st.session_state["preview_index"] == last)


def _any_item(name: str, two_stage: bool) -> flow.FlowStep | None:
    """The item picked in "Or any item" (None: follow the flow)."""
    roles = item_roles(engine(), name)
    cols = st.columns([4, 2], vertical_alignment="bottom")
    item_id = cols[0].selectbox("Or any item of the bank", list(roles), index=None, key="preview_item",
                                placeholder="(follow the flow)", format_func=lambda i: f"{i} ({roles[i]})")
    revealed = two_stage and cols[1].toggle("After the first answer", value=True, key="preview_revealed",
                                            disabled=item_id is None)
    if item_id is None:
        return None
    return flow.FlowStep("item", item_id, roles[item_id], bool(revealed) and roles[item_id] != "attention_check")


def _move(delta: int, last: int) -> None:
    st.session_state["preview_index"] = max(0, min(last, int(st.session_state.get("preview_index", 0)) + delta))


def _truth(name: str, item_id: str) -> None:
    truth = flow.item_truth(engine(), name, item_id)
    with st.container(key="preview_truth"):
        if truth.ai_label is None:
            st.info(f"For you: gold label **{md_escape(truth.gold_label)}**; no AI verdict stored yet "
                    "(generate it under Set up).")
            return
        verdict = "right" if truth.ai_correct else "wrong"
        text = (f"For you: gold label **{md_escape(truth.gold_label)}**; the AI says "
                f"**{md_escape(truth.ai_label)}** ({(truth.ai_confidence or 0):.0%}), so the AI is **{verdict}** here.")
        (st.success if truth.ai_correct else st.warning)(text)


def _screen(view: RaterView, step: flow.FlowStep) -> None:
    st.title(view.study_title)
    if step.screen == "consent":
        screens.consent_body(view)
        cols = st.columns(2)
        cols[0].button("I agree and want to take part", key="pv_consent", type="primary", disabled=True)
        cols[1].button("I do not agree", key="pv_decline", disabled=True)
    elif step.screen == "instructions":
        screens.instructions_body(view)
        st.button("Start", key="pv_start", type="primary", disabled=True)
    elif step.screen == "item":
        if view.item is not None and view.item.assistance_kind != "none" and view.item.assistance is None \
                and not view.item.is_attention_check:
            st.warning("No assistance stored for this item yet: raters would see none. Generate it under Set up.")
        render_item(view)  # no actions: the form and the quotes record nothing
    elif step.screen == "exit":
        st.subheader("Almost done: two short questions")
        st.radio("How much did you trust the AI assistance? (1 = not at all, 7 = completely)", [1, 2, 3, 4, 5, 6, 7],
                 index=None, horizontal=True, key="pv_exit_trust")
        st.text_area("Anything you want to tell us? (optional)", key="pv_exit_comments")
        st.button("Finish", key="pv_finish", type="primary", disabled=True)
    else:
        st.subheader(screens.DONE_TEXT["completed"])
        st.write("Your completion code (copy it into the study platform, e.g. Prolific):")
        st.code(view.completion_code or "", language=None)
        if view.redirect_url:
            st.caption(f"The rater is then sent to {view.redirect_url} (not followed in the preview).")
