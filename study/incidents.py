"""Incidents: an unexpected error shown as a plain message with a short id.

A person using a page never sees a traceback, SQL or a server path. The full error
(type, message, traceback) goes to the server log under logger ``oversight.incidents``
with a short incident id; the page shows only the id, which the person can quote and
an operator can find with ``grep <id>`` in the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

__all__ = ["LOGGER_NAME", "guard", "guarded", "message", "new_incident_id", "report"]

LOGGER_NAME = "oversight.incidents"
_log = logging.getLogger(LOGGER_NAME)

P = ParamSpec("P")
R = TypeVar("R")


def new_incident_id() -> str:
    """Eight upper-case hex characters, e.g. ``3F9A0C1B`` (2^32 values: unique enough for a log)."""
    return secrets.token_hex(4).upper()


def report(err: BaseException, where: str = "") -> str:
    """Log ``err`` with its traceback under a new incident id; returns the id."""
    incident = new_incident_id()
    place = f" in {where}" if where else ""
    _log.error("incident %s%s: %s", incident, place, type(err).__name__, exc_info=err)
    return incident


def message(incident: str) -> str:
    """What a person sees instead of the error."""
    return (f"Something went wrong on our side (incident {incident}). Nothing you entered before this was lost; "
            f"please try again. If it keeps happening, tell the study team the incident id.")


@contextmanager
def guard(show: Callable[[str], object], where: str = "") -> Iterator[None]:
    """Run a block; an unexpected error is reported and ``show(message)`` is called instead.

    Only :class:`Exception` is caught: Streamlit's rerun/stop signals derive from
    ``BaseException`` and pass through, as do ``KeyboardInterrupt`` and ``SystemExit``.
    """
    try:
        yield
    except Exception as err:  # noqa: BLE001 - the point is to catch whatever was not expected
        show(message(report(err, where)))


def guarded(show: Callable[[str], object], where: str = "") -> Callable[[Callable[P, R]], Callable[P, R | None]]:
    """Decorator form of :func:`guard` (the function returns ``None`` after an incident)."""

    def wrap(func: Callable[P, R]) -> Callable[P, R | None]:
        @wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R | None:
            with guard(show, where or func.__qualname__):
                return func(*args, **kwargs)
            return None

        return inner

    return wrap
