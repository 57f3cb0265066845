"""The per-client limit on new enrolments (``enrol_limit`` in the study config).

A client (an address, see :func:`client_of`) may enrol at most ``per_client`` new
raters of one study per ``minutes``-long sliding window; resuming an existing
rater is never limited. The record is kept per process, in memory (a dict behind a
lock): several app processes each allow their own ``per_client``, and a restart
forgets it (docs/security.md, "Remaining limits"). What a refused client sees is
the 429-style message of :class:`EnrolmentThrottled`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Hashable, Mapping

from study.auth import CLIENT_HEADER_ENV, client_from
from study.service import ServiceError

__all__ = ["CLIENT_HEADER_ENV", "EnrolmentThrottled", "admit", "client_of", "reset"]

_MAX_CLIENTS = 100_000

_lock = threading.Lock()
_seen: dict[Hashable, deque[float]] = {}


class EnrolmentThrottled(ServiceError):
    """Too many new enrolments from one client: try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many new participants from this connection; try again in {self.retry_after} s")


def client_of(ip_address: object, headers: Mapping[str, str] | None = None) -> str:
    """The client a request comes from (:func:`study.auth.client_from`: the trusted proxy
    header's last address when ``OVERSIGHT_CLIENT_IP_HEADER`` is set, else the peer)."""
    return client_from(ip_address if isinstance(ip_address, str) and ip_address else None, headers)


def admit(key: Hashable, per_client: int, minutes: int, now: float | None = None) -> None:
    """Count one new enrolment by ``key`` (database, study, client); raise :class:`EnrolmentThrottled` if over.

    Sliding window: the enrolment is admitted when fewer than ``per_client`` were
    admitted in the last ``minutes``; a refused attempt is not counted.
    """
    if per_client <= 0:
        return
    now = time.monotonic() if now is None else now
    window = minutes * 60.0
    with _lock:
        if len(_seen) > _MAX_CLIENTS:
            _seen.clear()
        times = _seen.setdefault(key, deque())
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= per_client:
            raise EnrolmentThrottled(times[0] + window - now)
        times.append(now)


def reset() -> None:
    """Forget every client (tests)."""
    with _lock:
        _seen.clear()
