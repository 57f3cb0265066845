"""Shared UI helpers: the cached engine, literal text rendering, the experimenter gate."""

from __future__ import annotations

import gc
import hmac
import html
import os
import re
from typing import Any

import streamlit as st
from sqlalchemy import Engine

from study import auth
from study.db import get_engine, resolve_url, upgrade
from study.preparing import Preparation, demo_ready

RATER_PARAMS = ("rater", "PROLIFIC_PID")
ADMIN_ENV = "OVERSIGHT_ADMIN_PASSWORD"


@st.cache_resource(show_spinner="Preparing the database ...")
def engine_for(url: str) -> Engine:
    """Migrate once per process and return the pooled engine."""
    upgrade(url)
    return get_engine(url)


@st.cache_resource(show_spinner=False)
def first_start(url: str) -> Preparation | None:
    """The demo's preparation on this server, started once per process when the demo is not ready yet.

    None when there is nothing to prepare (the demo is live, or ``OVERSIGHT_NO_DEMO=1``).
    The page shows its progress (``app.py``) until :meth:`Preparation.state` is None.
    """
    if os.environ.get("OVERSIGHT_NO_DEMO") == "1":
        return None
    eng = engine_for(url)
    return None if demo_ready(eng) else Preparation(eng).start()


def first_start_progress() -> dict[str, Any] | None:
    """The first start's progress (step, number of steps, item counts), or None when the app can run."""
    preparation = first_start(resolve_url())
    return preparation.state() if preparation is not None else None


def first_start_error() -> Exception | None:
    """Why preparing the demo failed on this server, if it did."""
    preparation = first_start(resolve_url())
    return preparation.error if preparation is not None else None


@st.cache_resource
def freeze_startup_heap() -> bool:
    """Exempt the objects alive after start-up from garbage collection (once per process).

    The app imports pandas, SQLAlchemy, altair and more: ~285k tracked objects. Each
    page run allocates enough to trigger a full (generation 2) collection, which walked
    all of them: ~150 ms on every Submit, about half the rater's wait in the latency
    benchmark. ``gc.freeze()`` moves them to a permanent generation, so full collections
    only scan what was allocated since.

    Before freezing, it loads what Streamlit would otherwise load on the first alert
    of the process (``st.info``/``st.success``/``st.warning``/``st.error`` look for a
    leading emoji with a regular expression over every emoji, compiled when
    ``streamlit.emojis`` is imported): 170 ms of CPU measured on the demo's first
    practice item or feedback, 0.7-3.7 s of wall time for the first rater on the
    loaded 2-core machine.
    """
    import streamlit.emojis  # noqa: F401  (compiles the emoji pattern now, once)

    gc.collect()
    gc.freeze()
    return True


def engine() -> Engine:
    return engine_for(resolve_url())


def plain(text: str | None, *, mark: tuple[int, int] | None = None, css: str = "") -> str:
    """Item text as escaped HTML: markdown and HTML in items are shown literally.

    ``mark`` highlights ``text[start:end]`` (a verified quote inside its source).
    """
    text = text or ""
    if mark is not None and 0 <= mark[0] < mark[1] <= len(text):
        a, b = mark
        body = html.escape(text[:a]) + "<mark>" + html.escape(text[a:b]) + "</mark>" + html.escape(text[b:])
    else:
        body = html.escape(text)
    return f'<div style="white-space: pre-wrap; {css}">{body}</div>'


def md_escape(text: str) -> str:
    """Item text inside a markdown element (captions): every markdown character literal."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\\\1", str(text))


def admin_password() -> str | None:
    """The plain experimenter secret from the environment or Streamlit secrets."""
    value = os.environ.get(ADMIN_ENV)
    if value:
        return value
    try:
        secret = st.secrets.get("admin_password")
    except Exception:  # no secrets.toml at all
        secret = None
    return str(secret) if secret else None


def check_password(given: str, expected: str) -> bool:
    """Constant-time comparison (hmac.compare_digest)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def login_client() -> str:
    """Who is logging in, for the throttle (``study.auth.client_from``)."""
    return auth.client_from(st.context.ip_address, dict(st.context.headers))


def require_admin() -> bool:
    """Show the login form until the secret is given; True once logged in."""
    secret = auth.AdminSecret.from_env(fallback_plain=admin_password())
    if not secret.configured:
        st.error(
            f"The experimenter pages are locked: no password is configured. Set the environment "
            f"variable `{auth.ADMIN_HASH_ENV}` (from `oversight hash-password`) or `{ADMIN_ENV}` "
            f"(or `admin_password` in `.streamlit/secrets.toml`) and restart."
        )
        return False
    if st.session_state.get("_admin_ok"):
        return True
    with st.form("login"):
        given = st.text_input("Experimenter password", type="password", key="admin_password")
        ok = st.form_submit_button("Log in", key="login")
    if ok:
        result = auth.attempt_login(given or "", login_client(), secret)
        if result.ok:
            st.session_state["_admin_ok"] = True
            st.rerun()
        st.error(result.message)
    return False
