"""Participants: one row per rater (``study.participants``) and the review.

Approve, reject or exclude raters with a reason; each decision is an event
(``study.review``). The Prolific lists (approvals, bulk bonus) download here too.
"""

from __future__ import annotations

import streamlit as st

from study import review, service
from study.export import judgments_frame, to_csv_bytes
from study.participants import participants
from study.ui.common import engine
from study.ui.console.base import ConsoleState, callback, show

#: The columns of the main table (all of them are under "Every column").
COMPACT = ("rater_id", "prolific_pid", "condition", "status", "progress", "accuracy", "attention_failures",
           "active_s", "review", "reason")
_DECISIONS = {"approve": "Approve (pay)", "reject": "Reject (no pay)", "exclude": "Exclude from analysis",
              "include": "Include again"}


def render(state: ConsoleState, name: str) -> None:
    table = participants(engine(), name)
    st.subheader("Participants")
    if table.empty:
        st.info("No raters yet. Share the study link (Monitor) once the study is live.")
        return
    cols = st.columns(4)
    cols[0].metric("Raters", len(table))
    cols[1].metric("Approved", int((table["payment"] == "approve").sum()))
    cols[2].metric("Rejected", int((table["payment"] == "reject").sum()))
    cols[3].metric("Excluded from analysis", int(table["excluded"].sum()))
    config = {
        "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1, format="percent",
                                                    width="small"),
        "accuracy": st.column_config.NumberColumn("accuracy", format="%.2f"),
        "enrolled_at": st.column_config.DatetimeColumn("enrolled_at", format="YYYY-MM-DD HH:mm"),
    }
    compact = table.assign(review=[", ".join(x for x in (pay, "excluded" if excl else "") if x)
                                   for pay, excl in zip(table["payment"], table["excluded"], strict=True)])
    narrow = {c: st.column_config.Column(c, width="small") for c in ("prolific_pid", "active_s", "condition", "reason")}
    narrow["attention_failures"] = st.column_config.NumberColumn("attn. failed", width="small")
    show(compact[list(COMPACT)], "participants", column_config={**config, **narrow})
    with st.expander("Every column (Prolific study and session ids, counts, times)"):
        show(table, "participants_all", column_config=config)
    _review_form(state, name, list(table["rater_id"]))
    _prolific_lists(name)


@callback
def _on_review(state: ConsoleState, name: str) -> None:
    raters = list(st.session_state.get("review_raters") or [])
    decision = str(st.session_state.get("review_decision") or "")
    reason = str(st.session_state.get("review_reason") or "")
    if not raters:
        state.say("error", "Choose at least one rater to review.")
        return
    try:
        n = review.review(engine(), name, raters, decision, reason, by="console")
    except service.ServiceError as err:
        state.say("error", str(err))
        return
    state.say("success", f"Recorded **{decision}** for {n} rater(s).")
    st.session_state["review_raters"] = []
    st.session_state["review_reason"] = ""


def _review_form(state: ConsoleState, name: str, rater_ids: list[str]) -> None:
    st.markdown("**Review** (each decision is recorded as an event; the latest one counts)")
    cols = st.columns([3, 2, 3, 1], vertical_alignment="bottom")
    cols[0].multiselect("Raters", rater_ids, key="review_raters")
    cols[1].selectbox("Decision", list(_DECISIONS), key="review_decision", format_func=_DECISIONS.__getitem__)
    cols[2].text_input("Reason (required to reject or exclude)", key="review_reason", max_chars=2000)
    cols[3].button("Record", key="review_apply", type="primary", on_click=_on_review, args=(state, name),
                   width="stretch")
    st.caption("Excluded raters are marked `excluded_by_experimenter` in the export and left out by "
               "`oversight analyze --study` and the dashboard (which say how many). Approve and reject decide "
               "payment on Prolific: download the list below and apply it there.")


def _prolific_lists(name: str) -> None:
    config = service.get_config(engine(), name)
    approvals = review.approvals_frame(engine(), name)
    bonus = review.bonus_frame(engine(), name, judgments_frame(engine(), name, config), config.bonus)
    rule = config.bonus
    st.markdown("**Prolific lists**")
    cols = st.columns(2)
    cols[0].download_button(f"approvals.csv ({len(approvals)} decisions)", data=to_csv_bytes(approvals),
                            file_name=f"{name}-approvals.csv", key="download_approvals", on_click="ignore")
    total = bonus["amount"].astype(float).sum() if len(bonus) else 0.0
    cols[1].download_button(f"bonus.csv ({len(bonus)} raters, {total:.2f} {rule.currency})", data=to_csv_bytes(bonus),
                            file_name=f"{name}-bonus.csv", key="download_bonus", on_click="ignore")
    cap = f", at most {rule.max:.2f}" if rule.max is not None else ""
    st.caption(f"Bonus rule: {rule.per_correct:.2f} {rule.currency} per correct main item{cap}, for raters with "
               f"status {', '.join(rule.statuses)} who were not rejected (config `bonus`).")
