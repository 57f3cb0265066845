"""Analyst dashboard (behind the experimenter secret)."""

from __future__ import annotations

import streamlit as st

from study import service
from study.export import judgments_frame
from study.ui.common import engine, require_admin


def dashboard_page() -> None:
    """Judgments of a study as a table."""
    st.title("Analyst dashboard")
    if not require_admin():
        return
    studies = service.list_studies(engine())
    if not studies:
        st.info("No studies yet.")
        return
    name = st.selectbox("Study", [s.name for s in studies], key="dashboard_study")
    st.dataframe(judgments_frame(engine(), name))
