"""Set up: the item bank (upload, check, import), AI assistance (generate, provenance)
and the AI quality panel, with an honest launch check at the top."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from study import monitor, service, studies
from study.assist import generate_for_study
from study.config import StudyConfig
from study.ui.common import engine
from study.ui.console import quality
from study.ui.console.base import ConsoleState, callback, show
from tasks.formats import FORMATS
from tasks.importers import ItemBank, ItemBankError, RowError, read_item_bank

PREVIEW_ROWS = 10


def render(state: ConsoleState, name: str) -> None:
    config = service.get_config(engine(), name)
    draft = service.get_study(engine(), name).status == "draft"
    if draft:
        _readiness(name)
    st.subheader("Item bank")
    show(monitor.item_bank_summary(engine(), name), "bank_summary")
    if draft:
        _import_items(state, name, config)
    else:
        st.caption("Items and assistance are frozen once a study has been launched.")
    st.subheader("AI assistance", anchor="ai-assistance")
    _assistance(state, name, draft)
    quality.render(name)


def _readiness(name: str) -> None:
    problems = studies.launch_problems(engine(), name)
    with st.container(key="launch_check"):
        if problems:
            st.warning("Not ready to launch: " + "; ".join(problems) + ".")
        else:
            st.success("Ready to launch: items and every assistance row are stored.")


def uploader_key(state: ConsoleState) -> str:
    """The item-bank uploader's key: a new one after each import, so the widget clears."""
    return "bank_upload" if state.uploads == 0 else f"bank_upload_{state.uploads}"


def _parse_upload(state: ConsoleState, name: str, config: StudyConfig) -> None:
    upload = st.session_state.get(uploader_key(state))
    fmt = st.session_state.get("bank_format", "auto")
    if upload is None:
        state.bank_key, state.bank, state.bank_errors = None, None, []
        return
    key = (name, upload.file_id, fmt)
    if key == state.bank_key:
        return
    state.bank_key, state.bank, state.bank_errors = key, None, []
    try:
        state.bank = read_item_bank(
            upload.name, None if fmt == "auto" else fmt, labels=config.labels,
            label_map=config.importing.label_map, max_sources=config.importing.max_sources, data=upload.getvalue(),
            stances=config.importing.stances,
        )
    except ItemBankError as err:
        state.bank_errors = err.errors


def _errors_table(errors: list[RowError]) -> pd.DataFrame:
    return pd.DataFrame([(e.line or None, e.field, e.message) for e in errors], columns=["line", "field", "problem"])


def _bank_preview(bank: ItemBank) -> pd.DataFrame:
    rows = [{"line": bank.line_of(it.item_id), "item_id": it.item_id, "role": it.role, "gold_label": it.gold_label,
             "claim": it.claim, "sources": len(it.sources), "ai_label": it.ai_label} for it in bank[:PREVIEW_ROWS]]
    return pd.DataFrame(rows)


@callback
def _on_import(state: ConsoleState, name: str) -> None:
    bank = state.bank
    if bank is None:
        return
    try:
        n = service.import_items(engine(), name, bank, origin=bank.path)
    except ItemBankError as err:
        state.bank_errors = err.errors
        return
    except service.ServiceError as err:
        state.say("error", str(err))
        return
    state.say("success", f"Imported {n} items into `{name}` from `{bank.path}`.")
    state.bank_key, state.bank = None, None
    state.uploads += 1  # a new uploader key: the old file leaves the widget


def _import_items(state: ConsoleState, name: str, config: StudyConfig) -> None:
    cols = st.columns([3, 1])
    cols[0].file_uploader("Item bank (JSONL or CSV)", type=["jsonl", "json", "csv"], key=uploader_key(state))
    cols[1].selectbox("Format", ["auto", *FORMATS], key="bank_format")
    _parse_upload(state, name, config)
    if state.bank_errors:
        st.error(f"{len(state.bank_errors)} problem(s) in the file; nothing was imported. Fix them and upload again.")
        show(_errors_table(state.bank_errors), "bank_errors")
    elif state.bank is not None:
        st.write(f"**{len(state.bank)} valid items** in `{state.bank.path}`. First rows:")
        show(_bank_preview(state.bank), "bank_preview")
        st.button(f"Import {len(state.bank)} items", key="import_items", type="primary",
                  on_click=_on_import, args=(state, name))


def _generate(state: ConsoleState, name: str) -> None:
    bar = st.progress(0.0, text="Preparing the assistance pipeline ...")

    def progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"Generating assistance: {done} of {total}")

    try:
        added = generate_for_study(engine(), name, progress=progress)
    except (service.ServiceError, ValueError, RuntimeError, OSError) as err:
        state.say("error", f"Assistance generation failed: {err}")
    else:
        state.say("success", f"Stored {added} assistance rows.")
    st.rerun()


def _assistance(state: ConsoleState, name: str, draft: bool) -> None:
    st.caption("Assistance is frozen before launch: every rater in a condition sees the same stored text. "
               "AI fields in the item bank (`ai_label`, `ai_confidence`, `ai_reasoning`, `ai_evidence`, `debate`) "
               "are used as they are; the pipeline generates the rest.")
    needs = monitor.assistance_needs(engine(), name)
    show(needs, "assistance_needs")
    missing = len(service.missing_assistance(engine(), name))
    n_items = int(needs["needed"].max()) if len(needs) else 0
    if draft and missing and st.button(f"Generate {missing} missing assistance rows", key="generate", type="primary"):
        _generate(state, name)
    elif not n_items:
        st.info("No items yet: import an item bank first; its assistance is generated here.")
    elif not missing:
        st.success("All assistance is stored.")
    provenance = monitor.assistance_provenance(engine(), name)
    if len(provenance):
        st.write("**Provenance** (stored rows by generator, model and seed)")
        show(_short_provenance(provenance), "provenance")
        with st.expander("Full provenance (model paths, versions and parameters)"):
            show(provenance, "provenance_full")


def _short_provenance(provenance: pd.DataFrame) -> pd.DataFrame:
    """The provenance table narrow enough to read without scrolling: a model path shows its
    last two folders, a version its first 12 characters (the expander has the full values)."""
    short = provenance.drop(columns=["parameters"]).copy()
    short["model"] = short["model"].map(lambda m: "/".join(str(m).split("/")[-2:]) if "/" in str(m) else m)
    short["model_version"] = short["model_version"].map(lambda v: str(v)[:19] + "…" if len(str(v)) > 20 else v)
    return short
