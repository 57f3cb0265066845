"""Experimenter console (behind the experimenter secret)."""

from __future__ import annotations

import streamlit as st

from study import service
from study.export import export_zip
from study.ui.common import engine, require_admin


def console_page() -> None:
    """Studies, their status, launch/pause/close and export."""
    st.title("Experimenter console")
    if not require_admin():
        return
    studies = service.list_studies(engine())
    if not studies:
        st.info("No studies yet. Create one with `oversight study create CONFIG`.")
        return
    name = st.selectbox("Study", [s.name for s in studies], key="console_study")
    study = service.get_study(engine(), name)
    st.write(f"**{study.title}**: status `{study.status}`")
    cols = st.columns(3)
    for col, (label, status) in zip(cols, [("Launch", "live"), ("Pause", "paused"), ("Close", "closed")], strict=True):
        if col.button(label, key=f"status_{status}"):
            try:
                service.set_status(engine(), name, status)
                st.rerun()
            except service.ServiceError as err:
                st.error(str(err))
    st.download_button("Download export (zip)", data=export_zip(engine(), name), file_name=f"{name}-export.zip",
                       mime="application/zip", key="export_zip")
