"""POST JSON to an OpenAI-compatible server with retries, backoff and rate limits.

A request that fails to connect, times out, or gets HTTP 429/500/502/503/504 is retried
up to ``max_retries`` times. The wait before retry ``a`` (0-based) is the server's
``Retry-After`` when it sends one (seconds or an HTTP date), else
``min(60, base * 2**a)`` seconds times a random factor in [0.5, 1] (jitter, so many
clients do not retry in step). Other HTTP errors fail at once with the server's message.
``requests_per_minute`` spaces requests at least ``60 / rpm`` seconds apart.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

#: Status codes that are worth retrying.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: Longest single wait between retries, seconds.
MAX_WAIT = 60.0


class LLMRequestError(RuntimeError):
    """A request to the LLM server failed for good (message names the URL and status)."""


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_seconds(attempt: int, base: float, rng: random.Random) -> float:
    """``min(60, base * 2**attempt) * U(0.5, 1)``."""
    return float(min(MAX_WAIT, base * 2.0**attempt) * rng.uniform(0.5, 1.0))


class JsonPoster:
    """Sends JSON POSTs with retries; counts attempts and retries for reports and tests."""

    def __init__(
        self,
        *,
        headers: dict[str, str],
        timeout: float,
        max_retries: int,
        requests_per_minute: float | None = None,
        backoff_base: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = requests.Session()
        self._session.headers.update(headers)
        self.timeout = timeout
        self.max_retries = max_retries
        self.min_interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.backoff_base = backoff_base
        self._sleep = sleep
        self._rng = random.Random()
        self._last_sent = 0.0
        self.attempts = 0
        self.retries = 0

    def _pace(self) -> None:
        wait = self._last_sent + self.min_interval - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last_sent = time.monotonic()

    def post(self, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The JSON answer of a POST; raises :class:`LLMRequestError` when retries run out."""
        problem = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.retries += 1
            self._pace()
            self.attempts += 1
            try:
                response = self._session.post(url, json=payload, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as err:
                problem = f"{type(err).__name__}: {err}"
                wait = backoff_seconds(attempt, self.backoff_base, self._rng)
            else:
                if response.status_code < 400:
                    return _json(response, url)
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRY_STATUS:
                    raise LLMRequestError(f"{url}: {problem}")
                hinted = retry_after_seconds(response.headers.get("Retry-After"))
                wait = min(MAX_WAIT, hinted) if hinted is not None else backoff_seconds(attempt, self.backoff_base, self._rng)
            if attempt < self.max_retries:
                self._sleep(wait)
        raise LLMRequestError(f"{url}: gave up after {self.max_retries + 1} attempts; last: {problem}")


def _json(response: requests.Response, url: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise LLMRequestError(f"{url}: the server did not answer with JSON: {response.text[:200]!r}") from None
    if not isinstance(data, dict):
        raise LLMRequestError(f"{url}: expected a JSON object, got {type(data).__name__}")
    return data
