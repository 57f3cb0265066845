"""The study form's widgets (a thin skin over :mod:`study.study_form`).

One widget per :class:`~study.study_form.StudyForm` field, keyed ``{prefix}_{field}``;
each problem :func:`~study.study_form.check_form` finds is shown under the widget of
its config path, the rest in one list. The "New study" and "Manage -> Edit" sections
both draw this form (prefixes ``form`` and ``edit``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from study.config import ASSISTANCE_KINDS
from study.study_form import DISPLAY_PARTS, ConditionForm, FormCheck, StudyForm, check_form
from study.ui.console.form_comprehension import read_check, render_comprehension, revive_check, seed_check
from tasks.assistance.kinds import DEFAULT_DISPLAY

MAX_CONDITIONS = 8
_SCALARS = ("name", "title", "design_type", "two_stage", "items_per_rater", "target_ratings_per_item",
            "practice_items", "attention_checks", "max_attention_failures", "time_limit_minutes", "code_completed",
            "code_failed_attention", "code_timed_out", "redirect_url", "bonus_per_correct", "bonus_currency",
            "comprehension")


def _k(prefix: str, name: str) -> str:
    return f"{prefix}_{name}"


def seed_form(prefix: str, form: StudyForm) -> None:
    """Put ``form``'s values into the widgets' state (once per prefix, or again after :func:`reset_form`).

    Streamlit forgets a widget's value when a run does not draw it (another section
    was open): the values are then restored from the copy :func:`render_form` keeps.
    """
    if st.session_state.get(_k(prefix, "seeded")):
        if _k(prefix, "name") in st.session_state:
            return
        form = st.session_state.get(_k(prefix, "kept"), form)
    for name in _SCALARS:
        st.session_state[_k(prefix, name)] = getattr(form, name)
    st.session_state[_k(prefix, "labels")] = ", ".join(form.labels)
    st.session_state[_k(prefix, "bonus_cap")] = form.bonus_max is not None
    st.session_state[_k(prefix, "bonus_max")] = form.bonus_max or 0.0
    st.session_state[_k(prefix, "n_conditions")] = len(form.conditions)
    for i, cond in enumerate(form.conditions):
        _seed_condition(prefix, i, cond)
    seed_check(prefix, form)
    st.session_state[_k(prefix, "rest")] = dict(form.rest)
    st.session_state[_k(prefix, "seeded")] = True


def reset_form(prefix: str) -> None:
    """Seed the form afresh on its next draw (after it was saved)."""
    st.session_state[_k(prefix, "seeded")] = False
    st.session_state.pop(_k(prefix, "kept"), None)


def _seed_condition(prefix: str, i: int, cond: ConditionForm) -> None:
    for part in ("key", "assistance", "label", "instructions"):
        st.session_state[_k(prefix, f"c{i}_{part}")] = getattr(cond, part)
    for part in DISPLAY_PARTS:
        st.session_state[_k(prefix, f"c{i}_show_{part}")] = bool(cond.show.get(part, part == "sources"))


def _on_kind(prefix: str, i: int) -> None:
    """A condition's kind changed: its display toggles follow the kind's defaults."""
    kind = st.session_state[_k(prefix, f"c{i}_assistance")]
    for part in DISPLAY_PARTS[:-1]:
        st.session_state[_k(prefix, f"c{i}_show_{part}")] = part in DEFAULT_DISPLAY.get(kind, frozenset())


def read_form(prefix: str) -> StudyForm:
    """The form as the widgets hold it now."""
    get = st.session_state.get
    n = int(get(_k(prefix, "n_conditions"), 1))
    conditions = []
    for i in range(n):
        if _k(prefix, f"c{i}_key") not in st.session_state:
            _seed_condition(prefix, i, ConditionForm(f"condition_{i + 1}", "none", show={"sources": True}))
        conditions.append(ConditionForm(
            key=str(get(_k(prefix, f"c{i}_key"), "")), assistance=str(get(_k(prefix, f"c{i}_assistance"), "none")),
            label=str(get(_k(prefix, f"c{i}_label"), "")), instructions=str(get(_k(prefix, f"c{i}_instructions"), "")),
            show={p: bool(get(_k(prefix, f"c{i}_show_{p}"), False)) for p in DISPLAY_PARTS}))
    kept: StudyForm | None = get(_k(prefix, "kept"))
    defaults = kept or StudyForm(name="")  # a value whose widget was not drawn: as the last run had it
    values: dict[str, Any] = {name: _value(get(_k(prefix, name)), getattr(defaults, name)) for name in _SCALARS}
    return StudyForm(
        **values, labels=[x.strip() for x in str(get(_k(prefix, "labels"), "")).split(",")],
        conditions=conditions, bonus_max=float(get(_k(prefix, "bonus_max"), 0.0)) if get(_k(prefix, "bonus_cap")) else None,
        **read_check(prefix, kept), rest=dict(get(_k(prefix, "rest"), {})),
    )


def _value(value: Any, default: Any) -> Any:
    return default if value is None else value


class _Errors:
    """The check's problems, handed out under the widget of each path; :meth:`rest` = the unclaimed."""

    def __init__(self, check: FormCheck) -> None:
        self.left = {k: list(v) for k, v in check.errors.items()}

    def at(self, *paths: str) -> None:
        for path in paths:
            for key in [k for k in self.left if k == path or k.startswith(path + ".")]:
                for message in self.left.pop(key):
                    st.error(f"`{key}`: {message}", icon=":material/error:")

    def rest(self) -> None:
        for key, messages in self.left.items():
            for message in messages:
                st.error(f"`{key}`: {message}", icon=":material/error:")


def render_form(prefix: str, *, editing: bool = False) -> FormCheck:
    """Draw the form (seeded beforehand with :func:`seed_form`); returns its current check."""
    revive_check(prefix)
    form = read_form(prefix)
    st.session_state[_k(prefix, "kept")] = form
    check = check_form(form)
    errors = _Errors(check)
    cols = st.columns(2)
    with cols[0]:
        st.text_input("Name (used in links and the CLI)", key=_k(prefix, "name"), disabled=editing)
        errors.at("name")
    with cols[1]:
        st.text_input("Title shown to raters", key=_k(prefix, "title"))
        errors.at("title")
    st.text_input("Labels (comma-separated)", key=_k(prefix, "labels"))
    errors.at("labels")
    _conditions(prefix, errors)
    _design(prefix, errors)
    _checks(prefix, errors)
    render_comprehension(prefix, form, errors.at)
    _completion(prefix, errors)
    errors.rest()
    return check


def _conditions(prefix: str, errors: _Errors) -> None:
    st.markdown("**Conditions** and what each shows the rater")
    n = st.number_input("Number of conditions", 1, MAX_CONDITIONS, key=_k(prefix, "n_conditions"))
    kinds = list(ASSISTANCE_KINDS)
    for i in range(int(n)):
        if _k(prefix, f"c{i}_key") not in st.session_state:
            _seed_condition(prefix, i, ConditionForm(f"condition_{i + 1}", "none", show={"sources": True}))
        with st.container(border=True, key=_k(prefix, f"condition_{i}")):
            top = st.columns([1, 1, 2])
            top[0].text_input("Key", key=_k(prefix, f"c{i}_key"))
            top[1].selectbox("Assistance", kinds, key=_k(prefix, f"c{i}_assistance"), on_change=_on_kind,
                             args=(prefix, i))
            top[2].text_input("Label (for experimenters)", key=_k(prefix, f"c{i}_label"))
            toggles = st.columns(len(DISPLAY_PARTS))
            for col, part in zip(toggles, DISPLAY_PARTS, strict=True):
                col.checkbox(f"show {part}", key=_k(prefix, f"c{i}_show_{part}"))
            st.text_input("Extra instructions for this condition (optional)", key=_k(prefix, f"c{i}_instructions"))
            errors.at(f"conditions.{i}")
    errors.at("conditions")


def _design(prefix: str, errors: _Errors) -> None:
    st.markdown("**Design**")
    cols = st.columns(4)
    cols[0].radio("Design", ["between", "within"], key=_k(prefix, "design_type"), horizontal=True)
    cols[1].toggle("Two-stage trials (answer, then see the AI)", key=_k(prefix, "two_stage"))
    cols[2].number_input("Items per rater", 1, 1000, key=_k(prefix, "items_per_rater"))
    cols[3].number_input("Target ratings per item", 1, 10_000, key=_k(prefix, "target_ratings_per_item"))
    errors.at("design", "items_per_rater", "target_ratings_per_item")


def _checks(prefix: str, errors: _Errors) -> None:
    st.markdown("**Practice and checks**")
    cols = st.columns(4)
    cols[0].number_input("Practice items", 0, 20, key=_k(prefix, "practice_items"))
    cols[1].number_input("Attention checks", 0, 20, key=_k(prefix, "attention_checks"))
    cols[2].number_input("Attention failures allowed", 0, 20, key=_k(prefix, "max_attention_failures"))
    cols[3].number_input("Time limit (minutes)", 1, 24 * 60, key=_k(prefix, "time_limit_minutes"))
    errors.at("practice_items", "attention_checks", "max_attention_failures", "time_limit_minutes")


def _completion(prefix: str, errors: _Errors) -> None:
    st.markdown("**Completion codes, redirect and bonus**")
    codes = st.columns(3)
    codes[0].text_input("Code: completed", key=_k(prefix, "code_completed"))
    codes[1].text_input("Code: failed attention", key=_k(prefix, "code_failed_attention"))
    codes[2].text_input("Code: timed out", key=_k(prefix, "code_timed_out"))
    st.text_input("Redirect URL at the end (`{code}` is replaced by the code), e.g. "
                  "https://app.prolific.com/submissions/complete?cc={code}", key=_k(prefix, "redirect_url"))
    errors.at("completion")
    cols = st.columns(4)
    cols[0].number_input("Bonus per correct item", 0.0, 100.0, step=0.01, format="%.2f", key=_k(prefix, "bonus_per_correct"))
    cols[1].text_input("Currency", key=_k(prefix, "bonus_currency"), max_chars=3)
    cols[2].checkbox("Cap the bonus", key=_k(prefix, "bonus_cap"))
    cols[3].number_input("Largest bonus", 0.0, 10_000.0, step=0.5, format="%.2f", key=_k(prefix, "bonus_max"))
    errors.at("bonus")
