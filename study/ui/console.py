"""Experimenter console (behind the experimenter secret).

Sections: monitor, set up (item bank, assistance), preview, export, new study. Every
action calls ``study.service`` / ``study.assist`` / ``study.export``, every number
comes from ``study.monitor``: this page only lays them out (docs/console.md).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import altair as alt
import pandas as pd
import streamlit as st

from study import monitor, service
from study.assist import generate_for_study
from study.config import ConfigError, StudyConfig, parse_config_text
from study.export import export_zip
from study.incidents import guarded
from study.ui.common import engine, require_admin
from study.ui.item_view import render_item
from study.ui.links import links_section
from tasks.importers import FORMATS, ItemBank, ItemBankError, RowError, read_item_bank

SECTIONS = ("Monitor", "Set up", "Preview", "Links", "Export", "New study")
#: Auto-refresh choices of the live monitor (label -> seconds; None = off).
REFRESH = {"off": None, "5 s": 5, "15 s": 15, "60 s": 60}
PREVIEW_ROWS = 10

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


@dataclass
class ConsoleState:
    """Per-session state of the console (one typed object, not loose keys)."""

    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) shown once
    config_errors: list[tuple[str, str]] = field(default_factory=list)  # (field, problem)
    bank_key: tuple[str, str, str] | None = None  # (study, upload file id, format) parsed
    bank: ItemBank | None = None
    bank_errors: list[RowError] = field(default_factory=list)
    export: tuple[str, bytes] | None = None  # (study, zip bytes)

    def say(self, kind: str, text: str) -> None:
        self.flash.append((kind, text))


def _show(df: pd.DataFrame, key: str, **kwargs: Any) -> None:
    """A table inside a keyed container (the key names it for tests and CSS)."""
    with st.container(key=key):
        st.dataframe(df, hide_index=True, **kwargs)


def _state() -> ConsoleState:
    if "console" not in st.session_state:
        st.session_state["console"] = ConsoleState()
    return cast(ConsoleState, st.session_state["console"])


@guarded(st.error)
def console_page() -> None:
    """Entry point of the console page."""
    st.title("Experimenter console")
    if not require_admin():
        return
    state = _state()
    for kind, text in state.flash:
        getattr(st, kind)(text)
    state.flash.clear()
    names = [s.name for s in service.list_studies(engine())]
    sections = SECTIONS if names else ("New study",)
    section = st.radio("Section", sections, horizontal=True, key="console_section", label_visibility="collapsed")
    if section == "New study" or not names:
        _new_study(state)
        return
    name = st.selectbox("Study", names, key="console_study")
    _status_bar(state, name)
    {"Monitor": _monitor, "Set up": _setup, "Preview": _preview, "Links": links_section, "Export": _export}[section](state, name)


# --------------------------------------------------------------------------- status


_ACTIONS = (("Launch", "live", ("draft", "paused")), ("Pause", "paused", ("live",)),
            ("Close", "closed", ("draft", "live", "paused")))


@guarded(lambda message: _state().say("error", message))  # a button callback: shown on the next run
def _set_status(state: ConsoleState, name: str, status: str) -> None:
    try:
        service.set_status(engine(), name, status)
        state.say("success", f"Study `{name}` is now **{status}**.")
    except service.ServiceError as err:
        state.say("error", str(err))


def _status_bar(state: ConsoleState, name: str) -> None:
    study = service.get_study(engine(), name)
    cols = st.columns([3, 1, 1, 1], vertical_alignment="center")
    cols[0].markdown(f"**{study.title}** · status `{study.status}`")
    for col, (label, status, allowed) in zip(cols[1:], _ACTIONS, strict=True):
        confirm = status != "closed" or st.session_state.get("confirm_close", False)
        col.button(label, key=f"status_{status}", disabled=study.status not in allowed or not confirm,
                   on_click=_set_status, args=(state, name, status), width="stretch")
    if study.status != "closed":
        st.checkbox("Allow closing (a closed study cannot reopen)", key="confirm_close")


# --------------------------------------------------------------------------- new study


def _config_errors(err: ConfigError) -> list[tuple[str, str]]:
    return [(e.path, e.message) if e.path else ("(file)", err.describe(e)) for e in err.errors]


@guarded(lambda message: _state().say("error", message))  # a button callback: shown on the next run
def _load_config_upload() -> None:
    upload = st.session_state.get("config_upload")
    if upload is not None:
        st.session_state["config_text"] = upload.getvalue().decode("utf-8", errors="replace")


@guarded(lambda message: _state().say("error", message))  # a button callback: shown on the next run
def _on_create(state: ConsoleState) -> None:
    text = st.session_state.get("config_text", "")
    try:
        config = parse_config_text(text, "config")
        service.create_study(engine(), config)
    except ConfigError as err:
        state.config_errors = _config_errors(err)
        return
    except service.ServiceError as err:
        state.config_errors = [("name", str(err))]
        return
    state.config_errors = []
    state.say("success", f"Created draft study `{config.name}`. Next: import its item bank.")
    st.session_state["console_study"] = config.name
    st.session_state["console_section"] = "Set up"


def _new_study(state: ConsoleState) -> None:
    st.subheader("New study")
    st.caption("Upload a YAML config or edit the template; every setting is described in docs/study-config.md.")
    st.file_uploader("Config file (YAML)", type=["yaml", "yml", "json"], key="config_upload",
                     on_change=_load_config_upload)
    st.session_state.setdefault("config_text", CONFIG_TEMPLATE)
    st.text_area("Study config", key="config_text", height=420)
    st.button("Create study", key="create_study", type="primary", on_click=_on_create, args=(state,))
    if state.config_errors:
        st.error(f"The config has {len(state.config_errors)} problem(s); nothing was created.")
        _show(pd.DataFrame(state.config_errors, columns=["field", "problem"]), "config_errors")


# --------------------------------------------------------------------------- set up


def _setup(state: ConsoleState, name: str) -> None:
    config = service.get_config(engine(), name)
    draft = service.get_study(engine(), name).status == "draft"
    st.subheader("Item bank")
    _show(monitor.item_bank_summary(engine(), name), "bank_summary")
    if draft:
        _import_items(state, name, config)
    else:
        st.caption("Items and assistance are frozen once a study has been launched.")
    st.subheader("AI assistance")
    _assistance(state, name, draft)


def _parse_upload(state: ConsoleState, name: str, config: StudyConfig) -> None:
    upload = st.session_state.get("bank_upload")
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
        )
    except ItemBankError as err:
        state.bank_errors = err.errors


def _errors_table(errors: list[RowError]) -> pd.DataFrame:
    return pd.DataFrame([(e.line or None, e.field, e.message) for e in errors], columns=["line", "field", "problem"])


def _bank_preview(bank: ItemBank) -> pd.DataFrame:
    rows = [{"line": bank.line_of(it.item_id), "item_id": it.item_id, "role": it.role, "gold_label": it.gold_label,
             "claim": it.claim, "sources": len(it.sources), "ai_label": it.ai_label} for it in bank[:PREVIEW_ROWS]]
    return pd.DataFrame(rows)


@guarded(lambda message: _state().say("error", message))  # a button callback: shown on the next run
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
    st.session_state.pop("bank_upload", None)


def _import_items(state: ConsoleState, name: str, config: StudyConfig) -> None:
    cols = st.columns([3, 1])
    cols[0].file_uploader("Item bank (JSONL or CSV)", type=["jsonl", "json", "csv"], key="bank_upload")
    cols[1].selectbox("Format", ["auto", *FORMATS], key="bank_format")
    _parse_upload(state, name, config)
    if state.bank_errors:
        st.error(f"{len(state.bank_errors)} problem(s) in the file; nothing was imported. Fix them and upload again.")
        _show(_errors_table(state.bank_errors), "bank_errors")
    elif state.bank is not None:
        st.write(f"**{len(state.bank)} valid items** in `{state.bank.path}`. First rows:")
        _show(_bank_preview(state.bank), "bank_preview")
        st.button(f"Import {len(state.bank)} items", key="import_items", type="primary",
                  on_click=_on_import, args=(state, name))


def _assistance(state: ConsoleState, name: str, draft: bool) -> None:
    st.caption("Assistance is frozen before launch: every rater in a condition sees the same stored text. "
               "AI fields in the item bank (`ai_label`, `ai_confidence`, `ai_reasoning`, `ai_evidence`, `debate`) "
               "are used as they are; the pipeline generates the rest.")
    _show(monitor.assistance_needs(engine(), name), "assistance_needs")
    missing = len(service.missing_assistance(engine(), name))
    if draft and missing and st.button(f"Generate {missing} missing assistance rows", key="generate", type="primary"):
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
    elif not missing:
        st.success("All assistance is stored; the study can be launched.")
    provenance = monitor.assistance_provenance(engine(), name)
    if len(provenance):
        st.write("**Provenance** (stored rows by generator, model and seed)")
        _show(provenance, "provenance")


# --------------------------------------------------------------------------- preview


def _preview(state: ConsoleState, name: str) -> None:
    items = monitor.item_roles(engine(), name)
    if not items:
        st.info("Import an item bank first.")
        return
    config = service.get_config(engine(), name)
    cols = st.columns(2)
    item_id = cols[0].selectbox("Item", list(items), key="preview_item", format_func=lambda i: f"{i} ({items[i]})")
    keys = [c.key for c in config.conditions]
    condition = cols[1].selectbox("Condition", keys, key="preview_condition",
                                  format_func=lambda k: f"{k}: {config.condition(k).label or config.condition(k).assistance}")
    flip = initial = None
    if config.condition(condition).assistance == "debate":
        flip = st.toggle("Sides swapped (every second rater sees them so)", key="preview_flip")
    if config.design.two_stage and st.toggle("After the first answer (assistance revealed)", value=True,
                                             key="preview_revealed"):
        initial = (config.labels[0], round((config.confidence.min + config.confidence.max) / 2, 2))
    view = monitor.item_preview(engine(), name, item_id, condition, debate_flip=bool(flip), initial=initial)
    if view.item is not None and view.item.assistance_kind != "none" and view.item.assistance is None \
            and not view.item.is_attention_check:
        st.warning("No assistance stored for this item yet: raters would see none. Generate it under Set up.")
    st.caption("Exactly what a rater sees (answers given here are not recorded).")
    with st.container(border=True, key="preview_screen"):
        render_item(view)  # no actions: the form and the quotes record nothing


# --------------------------------------------------------------------------- monitor


def _monitor(state: ConsoleState, name: str) -> None:
    choice = st.segmented_control("Auto-refresh", list(REFRESH), default="15 s", key="monitor_refresh")
    every = REFRESH.get(choice or "off")
    st.fragment(run_every=timedelta(seconds=every) if every else None)(_monitor_body)(name)
    _links(name)


def _ratings_chart(items: pd.DataFrame, conditions: list[str]) -> alt.FacetChart:
    bars = alt.Chart().mark_bar().encode(
        x=alt.X("item_id:N", title="items", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("ratings:Q", title="ratings"),
        color=alt.Color("condition:N", legend=None, sort=conditions),
        tooltip=["condition", "item_id", "ratings", "target"],
    )
    target = alt.Chart().mark_rule(color="black", strokeDash=[4, 3]).encode(y="max(target):Q")
    return alt.layer(bars, target, data=items).properties(height=110, width=150).facet(
        column=alt.Column("condition:N", title="ratings per item (dashed: target)", sort=conditions))


def _monitor_body(name: str) -> None:
    snap = monitor.snapshot(engine(), name)
    totals = snap.raters[["started", "in_progress", "completed", "dropped", "failed_attention", "excluded"]].sum()
    cols = st.columns(5)
    cols[0].metric("Raters started", int(totals["started"]))
    cols[1].metric("In progress", int(totals["in_progress"]))
    cols[2].metric("Completed", int(totals["completed"]))
    cols[3].metric("Ratings", snap.judgments)
    cols[4].metric("Ratings done", f"{snap.share_done:.0%}")
    st.caption(f"Study `{snap.study}` is {snap.status}. Updated {snap.taken_at:%H:%M:%S} UTC.")
    st.write("**Raters per condition**")
    _show(snap.raters, "monitor_raters")
    st.write("**Ratings per item against the target** (main items; practice and attention checks left out)")
    _show(snap.progress, "monitor_progress",
                 column_config={"share_done": st.column_config.ProgressColumn("share_done", min_value=0, max_value=1,
                                                                              format="percent"),
                                "median_time_s": st.column_config.NumberColumn("median_time_s", format="%.1f")})
    if len(snap.items):
        st.altair_chart(_ratings_chart(snap.items, list(snap.raters["condition"])), width="content")
    left, right = st.columns(2)
    with left:
        st.write("**Condition balance**")
        _show(snap.balance, "monitor_balance",
                     column_config={c: st.column_config.NumberColumn(c, format="%.2f")
                                    for c in ("share", "expected_share", "deviation")})
    with right:
        st.write("**Attention checks**")
        _show(snap.attention, "monitor_attention")
    st.write("**Recent activity**")
    _show(snap.activity, "monitor_activity")
    with st.expander("Ratings per item (table)"):
        _show(snap.items, "monitor_items")


def _base_url() -> str:
    try:
        parts = urlsplit(st.context.url or "")
    except Exception:  # noqa: BLE001 - no browser context (tests, bare mode)
        parts = urlsplit("")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "http://localhost:8501"


def _links(name: str) -> None:
    st.subheader("Study links")
    base = st.text_input("Public address of this app", value=_base_url(), key="links_base")
    completion = service.get_config(engine(), name).completion.redirect_url
    links = monitor.study_links(name, base, completion)
    st.write("Plain link (replace `RATER_ID` by each rater's id):")
    st.code(links.plain, language=None)
    st.write("Prolific study URL (Prolific fills in the placeholders):")
    st.code(links.prolific, language=None)
    if links.completion:
        st.write("Raters are sent back to:")
        st.code(links.completion, language=None)


# --------------------------------------------------------------------------- export


@guarded(lambda message: _state().say("error", message))  # a button callback: shown on the next run
def _on_prepare_export(state: ConsoleState, name: str) -> None:
    state.export = (name, export_zip(engine(), name))


def _export(state: ConsoleState, name: str) -> None:
    st.subheader("Export")
    st.write("One zip with the tidy judgments (`judgments.csv`, `judgments.parquet`), the wide rater file "
             "(`raters.csv`), the event log (`events.csv`), `codebook.csv` and `manifest.json`.")
    st.button("Prepare the export", key="prepare_export", type="primary", on_click=_on_prepare_export,
              args=(state, name))
    if state.export is None or state.export[0] != name:
        return
    data = state.export[1]
    st.download_button("Download export (zip)", data=data, file_name=f"{name}-export.zip", mime="application/zip",
                       key="export_zip", type="primary", on_click="ignore")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = [(i.filename.split("/")[-1], i.file_size) for i in zf.infolist()]
        files = {fname: zf.read(i) for (fname, _), i in zip(infos, zf.infolist(), strict=True)}
    _show(pd.DataFrame(infos, columns=["file", "bytes"]), "export_files")
    cols = st.columns(3)
    for i, (fname, blob) in enumerate(files.items()):
        cols[i % 3].download_button(fname, data=blob, file_name=f"{name}-{fname}", key=f"export_{fname}",
                                    on_click="ignore")
