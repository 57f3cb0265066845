"""The console's Links section: rater links (signed when the study's are) and test raters.

A thin skin over :mod:`study.links`: generate N links with new random rater ids and
download them as CSV; create test raters (kept out of balancing, the monitor, the
export and the analysis) and open their links.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from study import links, service
from study.ui.common import engine

__all__ = ["links_section"]

_MADE = "_links_made"


def _base_url() -> str:
    try:
        parts = urlsplit(st.context.url or "")
    except Exception:  # noqa: BLE001 - no browser context (tests, bare mode)
        parts = urlsplit("")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "http://localhost:8501"


def links_section(_state: object, name: str) -> None:
    """Rater links and test raters of study ``name``."""
    config = service.get_config(engine(), name)
    st.subheader("Rater links")
    if config.links == "signed":
        if links.link_secret() is None:
            st.error(f"This study uses signed links, but `{links.LINK_SECRET_ENV}` is not set (at least "
                     f"{links.MIN_SECRET_CHARS} characters): no link can be made or accepted until it is.")
            return
        prolific = "Prolific links are accepted unsigned." if config.prolific else "Prolific links are refused."
        st.write(f"Links are **signed**: a link only works with its own rater id. {prolific}")
    else:
        st.write("Links are **open**: anybody with the study's address can join under any id "
                 "(set `links: signed` in the config to require signed links).")
    base = st.text_input("Public address of this app", value=_base_url(), key="links_base_url")
    col1, col2 = st.columns(2)
    n = int(col1.number_input("Rater links", min_value=1, max_value=10_000, value=50, key="links_n"))
    if col1.button("Generate rater links", key="links_generate"):
        st.session_state[_MADE] = ("links", links.make_links(engine(), name, n, base))
    n_test = int(col2.number_input("Test raters", min_value=1, max_value=100, value=1, key="links_n_test"))
    if col2.button("Create test raters", key="links_test"):
        st.session_state[_MADE] = ("test", links.make_test_raters(engine(), name, n_test, base))
    _show_made(name)


def _show_made(name: str) -> None:
    made: tuple[str, list[links.RaterLink]] | None = st.session_state.get(_MADE)
    if not made:
        return
    kind, rows = made
    if kind == "test":
        st.success(f"Created {len(rows)} test rater(s): they are marked in the database and left out of "
                   "balancing, the monitor, the export and the analysis (export and analyse with "
                   "`--include-test` to see them).")
        for row in rows[:10]:
            st.code(row.url, language=None)
    frame = pd.DataFrame([{"rater_id": r.rater_id, "url": r.url} for r in rows])
    with st.container(key="links_table"):
        st.dataframe(frame.head(20), hide_index=True, width="stretch")
    st.download_button("Download the links (CSV)", links.links_csv(rows), file_name=f"{name}-{kind}.csv",
                       mime="text/csv", key="links_download", on_click="ignore")
