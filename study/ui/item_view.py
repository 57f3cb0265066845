"""The item screen as a rater sees it: shared by the rater page and the console's preview.

:func:`render_item` draws progress, the item, its sources, the AI assistance and the
answer form of one :class:`~study.rater.RaterView`. What the controls *do* comes in
as :class:`ItemActions`: the rater page passes callbacks that record answers and
events; the preview passes none, so nothing it shows can write to the database.
Widget keys are the automation contract of docs/automation.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from study.config import ASSISTANCE_KINDS
from study.rater import ItemView, RaterView
from study.ui.assistance_view import ExpandCallback, assistance, sources
from study.ui.common import md_escape, plain

#: Show the remaining time once less than this is left.
SHOW_TIME_LEFT_S = 10 * 60


@dataclass(frozen=True)
class ItemActions:
    """What the item screen's controls do (``None``: the control records nothing).

    ``on_answer(assignment_id, stage)`` runs when an answer form is sent (``stage`` is
    ``initial``, ``final`` or ``only``); ``on_expand(assignment_id, quote, key)`` when a
    quote's source is opened; ``activity(key, assignment_id)`` draws the client-side
    activity clock inside each answer form.
    """

    on_answer: Callable[[int, str], None] | None = None
    on_expand: ExpandCallback | None = None
    activity: Callable[[str, int], None] | None = None


def item_key(key: str, assignment_id: int) -> str:
    """The widget key of contract element ``key`` for one item (see docs/automation.md).

    The stable contract key goes on a container around the widget; the widget itself
    is new for every item. A click or a form sent from a page that still shows the
    previous item (the second click of a double click, a stale tab) then names
    widgets that no longer exist, and Streamlit drops it, instead of applying its
    answer to the item that is now current. New widgets also start blank.
    """
    return f"{key}-{assignment_id}"


def render_item(view: RaterView, actions: ItemActions | None = None) -> None:
    """The item screen of ``view`` (which must have an item): progress, item, assistance, form."""
    item = view.item
    if item is None:
        raise ValueError(f"the view shows the {view.screen!r} screen, not an item")
    actions = actions or ItemActions()
    _progress(view, item)
    if item.stage == "practice":
        st.info("Practice item: you will see the right answer after you submit.")
    _item_body(view, item)
    # Condition `none` answers twice too: its revisions are the baseline for the others'.
    two_stage = view.two_stage and not item.is_attention_check
    if two_stage and item.initial_label is None:
        _answer_form(view, item, "initial", actions)
        return
    if two_stage:
        look = "at the AI assistance below" if item.assistance_kind != "none" else "at the item again"
        st.info(f"Your first answer: {md_escape(item.initial_label or '')} "
                f"({round((item.initial_confidence or 0) * 100)}%). Now look {look}; you may keep your answer or change it.")
    if view.extra.get("design") == "within":
        st.caption(f"AI assistance on this item: {ASSISTANCE_KINDS[item.assistance_kind]}. {md_escape(item.instructions)}")
    assistance(item, actions.on_expand)
    _answer_form(view, item, "final" if two_stage else "only", actions)


def _progress(view: RaterView, item: ItemView) -> None:
    done = min(view.position, view.total)
    what = "Practice item" if item.stage == "practice" else "Item"
    with st.container(key="progress"):
        st.progress(done / max(view.total, 1), text=f"{what} {min(done + 1, view.total)} of {view.total}")
    if view.seconds_left is not None and view.seconds_left < SHOW_TIME_LEFT_S:
        st.caption(f"Time left: about {max(1, round(view.seconds_left / 60))} min")


def _item_body(view: RaterView, item: ItemView) -> None:
    with st.container(key="item"):
        if item.context:
            st.caption("Question to the AI")
            st.html(plain(item.context))
        st.caption("The AI's answer: is it correct?")
        with st.container(border=True, key="claim"):
            st.html(plain(item.claim, css="font-size: 1.15rem; font-weight: 600;"))
        if view.show_sources and item.sources:
            sources(item)


def _answer_form(view: RaterView, item: ItemView, stage: str, actions: ItemActions) -> None:
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
                key=item_key(button, aid), type="primary", on_click=actions.on_answer, args=(aid, stage),
            )
        if actions.activity is not None:
            actions.activity(item_key(f"activity_{stage}", aid), aid)
