"""Export: one zip of every analysis file, each file alone, and the Prolific lists."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import streamlit as st

from study.export import export_zip
from study.ui.common import engine
from study.ui.console.base import ConsoleState, callback, show


@callback
def _on_prepare_export(state: ConsoleState, name: str) -> None:
    state.export = (name, export_zip(engine(), name))


def render(state: ConsoleState, name: str) -> None:
    st.subheader("Export")
    st.write("One zip with the tidy judgments (`judgments.csv`, `judgments.parquet`), the wide rater file "
             "(`raters.csv`), the event log (`events.csv`), the Prolific lists (`approvals.csv`: approve/reject "
             "decisions of the review; `bonus.csv`: `participant_id,amount` from the config's `bonus` rule), "
             "`codebook.csv` and `manifest.json`.")
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
    show(pd.DataFrame(infos, columns=["file", "bytes"]), "export_files")
    cols = st.columns(4)
    for i, (fname, blob) in enumerate(files.items()):
        cols[i % 4].download_button(fname, data=blob, file_name=f"{name}-{fname}", key=f"export_{fname}",
                                    on_click="ignore")
