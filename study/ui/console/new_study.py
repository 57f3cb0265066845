"""New study: the form (default) or a raw YAML config (advanced); both validate first.

Nothing is created until the config is valid; the YAML the form writes can be
downloaded, and it is what ``oversight study create FILE`` takes.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from study import service
from study.config import ConfigError, parse_config_text
from study.study_form import check_form, default_form
from study.ui.common import engine
from study.ui.console.base import ConsoleState, callback, show
from study.ui.console.form_view import read_form, render_form, reset_form, seed_form

MODES = ("Form", "YAML (advanced)")

CONFIG_TEMPLATE = """\
# A new study. Every setting is documented in docs/study-config.md.
name: my-study
title: "Checking AI answers"
seed: 1
labels: [correct, incorrect]
conditions:
  - {key: none, assistance: none, label: No assistance}
  - {key: evidence, assistance: evidence, label: AI-selected evidence}
  - {key: reasoning, assistance: reasoning, label: AI reasoning}
  - {key: debate, assistance: debate, label: AI debate}
design: {type: between, two_stage: false}
items_per_rater: 12
target_ratings_per_item: 3
practice_items: 2
attention_checks: 1
assistance: {encoder: minilm}
"""


def config_errors(err: ConfigError) -> list[tuple[str, str]]:
    """(field, problem) rows of a config error; file-level problems name the file and line."""
    return [(e.path, e.message) if e.path else ("(file)", err.describe(e)) for e in err.errors]


def render(state: ConsoleState) -> None:
    st.subheader("New study")
    mode = st.segmented_control("How", MODES, default=MODES[0], key="new_study_mode")
    if mode == MODES[1]:
        _yaml_editor(state)
    else:
        _form(state)


def _created(state: ConsoleState, name: str) -> None:
    state.say("success", f"Created draft study `{name}`. Next: import its item bank.")
    st.session_state["console_study"] = name
    st.session_state["console_section"] = "Set up"


# --------------------------------------------------------------------------- the form


@callback
def _on_create_from_form(state: ConsoleState) -> None:
    check = check_form(read_form("form"))  # the values as sent with the click
    if check.config is None:
        state.say("error", f"The form has {sum(map(len, check.errors.values()))} problem(s); nothing was created.")
        return
    try:
        service.create_study(engine(), check.config)
    except service.ServiceError as err:
        state.say("error", str(err))
        return
    reset_form("form")
    _created(state, check.config.name)


def _form(state: ConsoleState) -> None:
    st.caption("Every setting is described in docs/study-config.md. Settings the form does not show "
               "(consent text, exclusions, assistance generation) keep their defaults; set them under YAML (advanced).")
    seed_form("form", default_form(CONFIG_TEMPLATE))
    check = render_form("form")
    cols = st.columns([1, 1, 2], vertical_alignment="center")
    cols[0].button("Create study", key="create_from_form", type="primary", on_click=_on_create_from_form,
                   args=(state,), disabled=not check.ok)
    name = str(st.session_state.get("form_name") or "study")
    cols[1].download_button("Download YAML", data=check.yaml.encode("utf-8"), file_name=f"{name}.yaml",
                            mime="application/x-yaml", key="download_form_yaml", on_click="ignore")
    if not check.ok:
        cols[2].error(f"{sum(map(len, check.errors.values()))} problem(s) to fix before the study can be created.")
    with st.expander("The YAML this form writes"):
        st.code(check.yaml, language="yaml")


# --------------------------------------------------------------------------- raw YAML


@callback
def _load_config_upload() -> None:
    upload = st.session_state.get("config_upload")
    if upload is not None:
        st.session_state["config_text"] = upload.getvalue().decode("utf-8", errors="replace")


@callback
def _on_create(state: ConsoleState) -> None:
    text = st.session_state.get("config_text", "")
    try:
        config = parse_config_text(text, "config")
        service.create_study(engine(), config)
    except ConfigError as err:
        state.config_errors = config_errors(err)
        return
    except service.ServiceError as err:
        state.config_errors = [("name", str(err))]
        return
    state.config_errors = []
    _created(state, config.name)


def _yaml_editor(state: ConsoleState) -> None:
    st.caption("Upload a YAML config or edit the template; every setting is described in docs/study-config.md.")
    st.file_uploader("Config file (YAML)", type=["yaml", "yml", "json"], key="config_upload",
                     on_change=_load_config_upload)
    st.session_state.setdefault("config_text", CONFIG_TEMPLATE)
    st.text_area("Study config", key="config_text", height=420)
    cols = st.columns([1, 3])
    cols[0].button("Create study", key="create_study", type="primary", on_click=_on_create, args=(state,))
    cols[1].download_button("Download YAML", data=str(st.session_state["config_text"]).encode("utf-8"),
                            file_name="study.yaml", mime="application/x-yaml", key="download_yaml", on_click="ignore")
    if state.config_errors:
        st.error(f"The config has {len(state.config_errors)} problem(s); nothing was created.")
        show(pd.DataFrame(state.config_errors, columns=["field", "problem"]), "config_errors")
