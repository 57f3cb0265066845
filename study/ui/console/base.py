"""What every console section shares: the per-session state and keyed tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd
import streamlit as st

from study.incidents import guarded
from tasks.importers import ItemBank, RowError


@dataclass
class ConsoleState:
    """Per-session state of the console (one typed object, not loose keys)."""

    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) shown once
    config_errors: list[tuple[str, str]] = field(default_factory=list)  # (field, problem)
    form_errors: dict[str, list[str]] = field(default_factory=dict)  # config path -> problems
    bank_key: tuple[str, str, str] | None = None  # (study, upload file id, format) parsed
    bank: ItemBank | None = None
    bank_errors: list[RowError] = field(default_factory=list)
    uploads: int = 0  # bumped after an import: the uploader gets a new key, so it clears
    export: tuple[str, bytes] | None = None  # (study, zip bytes)
    preview_step: int = 0

    def say(self, kind: str, text: str) -> None:
        self.flash.append((kind, text))


def state() -> ConsoleState:
    if "console" not in st.session_state:
        st.session_state["console"] = ConsoleState()
    return cast(ConsoleState, st.session_state["console"])


def show(df: pd.DataFrame, key: str, *, height: int | None = None,
         column_config: dict[str, Any] | None = None) -> None:
    """A table inside a keyed container (the key names it for tests and CSS).

    Full width, and tall enough for every row up to 20 (then it scrolls), so no
    column or row is cut off at 1280 px.
    """
    rows = min(len(df), 20)
    with st.container(key=key):
        st.dataframe(df, hide_index=True, width="stretch", height=height or (rows + 1) * 35 + 3,
                     column_config=column_config)


def flash_error(message: str) -> None:
    """Show ``message`` as an error on the next run (what a failed button callback says)."""
    state().say("error", message)


#: Decorator for button callbacks: an unexpected error becomes an incident id on the next run.
callback = guarded(flash_error)
