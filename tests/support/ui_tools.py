"""AppTest helpers for the console and dashboard pages (the ``ui`` fixture of tests/ui)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from support.app_db import PASSWORD

TIMEOUT = 120


class UiTools:
    """Log in, check a run, and find keyed containers, tables and texts on a page."""

    password = PASSWORD
    timeout = TIMEOUT

    @staticmethod
    def login(at: AppTest, password: str = PASSWORD) -> AppTest:
        at.text_input(key="admin_password").input(password)
        at.button(key="login").click()
        return at.run()

    @staticmethod
    def ok(at: AppTest) -> AppTest:
        """``at`` after checking the run raised nothing."""
        assert not at.exception, [e.value for e in at.exception]
        return at

    @staticmethod
    def frame(at: AppTest, key: str) -> pd.DataFrame:
        """The DataFrame shown inside ``st.container(key=key)``."""
        block = UiTools.block(at, key)
        if block is None or not block.dataframe:
            raise KeyError(f"no dataframe in a container with key {key!r}")
        return block.dataframe[0].value

    @staticmethod
    def block(at: AppTest, key: str) -> Block | None:
        """The container made with ``st.container(key=key)``, if shown."""
        todo: list[Any] = [at.main]
        while todo:
            node = todo.pop()
            if isinstance(node, Block):
                if getattr(node, "key", None) == key:
                    return node
                todo.extend(node.children.values())
        return None

    @staticmethod
    def texts(at: AppTest) -> str:
        """Every message, markdown and caption of the page, joined (for `in` checks)."""
        parts = [e.value for kind in ("error", "warning", "info", "success", "markdown", "caption")
                 for e in getattr(at, kind)]
        return "\n".join(str(p) for p in parts)
