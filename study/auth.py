"""The experimenter login: secret check, password hashes and per-client throttling.

The console and dashboard call :func:`attempt_login`; it never sees a session or a
page. Policy (:class:`ThrottlePolicy`, defaults): a client's first 3 failures cost
nothing; each further failure makes the client wait before its next attempt is even
checked (1 s, 2 s, 4 s ... at most 30 s); the 10th failure within 15 minutes locks
the client out for 15 minutes, and after a lockout every further failure locks it
again (one guess per 15 minutes). A success clears the client's record. Other clients
are not affected, so the experimenter can still log in from another one.

Every failure and lockout is logged (logger ``oversight.auth``) with the time and
the client; the password is never logged. The throttle state is process-wide (a
dict behind a lock): each app process counts separately and a restart forgets it.

The secret is ``OVERSIGHT_ADMIN_PASSWORD`` (plain) or, better,
``OVERSIGHT_ADMIN_PASSWORD_HASH``: ``scrypt$<log2 n>$<r>$<p>$<salt>$<key>`` (base64),
made by ``oversight hash-password`` with :func:`hash_password` (``hashlib.scrypt``,
n = 2^15, r = 8, p = 1: 32 MiB and a fraction of a second per check).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "ADMIN_ENV",
    "ADMIN_HASH_ENV",
    "CLIENT_HEADER_ENV",
    "AdminSecret",
    "LoginResult",
    "LoginThrottle",
    "ThrottlePolicy",
    "THROTTLE",
    "attempt_login",
    "client_from",
    "hash_password",
    "verify_password",
]

ADMIN_ENV = "OVERSIGHT_ADMIN_PASSWORD"
ADMIN_HASH_ENV = "OVERSIGHT_ADMIN_PASSWORD_HASH"
#: Name of a header set by a trusted reverse proxy that carries the client address
#: (e.g. ``X-Forwarded-For`` or ``X-Real-IP``); unset: the socket's peer address.
CLIENT_HEADER_ENV = "OVERSIGHT_CLIENT_IP_HEADER"

_log = logging.getLogger("oversight.auth")
_SCRYPT = (15, 8, 1)  # log2 n, r, p
_MAX_CLIENT_CHARS = 100


# --------------------------------------------------------------------------- secrets


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """An scrypt hash for ``OVERSIGHT_ADMIN_PASSWORD_HASH`` (random 16-byte salt)."""
    log_n, r, p = _SCRYPT
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2**log_n, r=r, p=p, maxmem=2**26, dklen=32)
    return f"scrypt${log_n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(given: str, stored: str) -> bool:
    """True when ``given`` matches an scrypt hash from :func:`hash_password` (constant-time)."""
    try:
        scheme, log_n, r, p, salt, key = stored.strip().split("$")
        if scheme != "scrypt" or not (10 <= int(log_n) <= 20 and 1 <= int(r) <= 32 and 1 <= int(p) <= 16):
            raise ValueError(scheme)
        want = base64.b64decode(key, validate=True)
        got = hashlib.scrypt(given.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
                             n=2 ** int(log_n), r=int(r), p=int(p), maxmem=2**27, dklen=len(want))
    except (ValueError, binascii.Error):
        raise ValueError(f"{ADMIN_HASH_ENV} is not a hash made by `oversight hash-password`") from None
    return hmac.compare_digest(got, want)


@dataclass(frozen=True)
class AdminSecret:
    """The configured experimenter secret: a hash (preferred) or a plain password."""

    plain: str | None = None
    hashed: str | None = None

    @classmethod
    def from_env(cls, fallback_plain: str | None = None) -> AdminSecret:
        """From ``OVERSIGHT_ADMIN_PASSWORD_HASH`` / ``OVERSIGHT_ADMIN_PASSWORD`` (else ``fallback_plain``)."""
        return cls(plain=os.environ.get(ADMIN_ENV) or fallback_plain or None, hashed=os.environ.get(ADMIN_HASH_ENV) or None)

    @property
    def configured(self) -> bool:
        return bool(self.plain or self.hashed)

    def matches(self, given: str) -> bool:
        """Constant-time check; the hash wins when both are set."""
        if self.hashed:
            return verify_password(given, self.hashed)
        if self.plain:
            return hmac.compare_digest(given.encode("utf-8"), self.plain.encode("utf-8"))
        return False


# --------------------------------------------------------------------------- clients


def client_from(ip_address: str | None, headers: Mapping[str, str] | None = None) -> str:
    """The client a login attempt comes from.

    The socket peer address, unless ``OVERSIGHT_CLIENT_IP_HEADER`` names a header set
    by a trusted reverse proxy: then the last address in it (the one the proxy saw;
    earlier entries of ``X-Forwarded-For`` are whatever the client claimed).
    """
    name = os.environ.get(CLIENT_HEADER_ENV)
    if name and headers:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), "")
        forwarded = [part.strip() for part in value.split(",") if part.strip()]
        if forwarded:
            return forwarded[-1][:_MAX_CLIENT_CHARS]
    return (ip_address or "unknown")[:_MAX_CLIENT_CHARS]


# --------------------------------------------------------------------------- throttle


@dataclass(frozen=True)
class ThrottlePolicy:
    """How failures slow a client down and when it is locked out."""

    free_failures: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    lockout_failures: int = 10
    window_s: float = 15 * 60.0
    lockout_s: float = 15 * 60.0

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure: 0, then base * 2^k, capped."""
        if failures <= self.free_failures:
            return 0.0
        return float(min(self.max_delay_s, self.base_delay_s * 2 ** (failures - self.free_failures - 1)))


@dataclass
class _Client:
    failures: list[float] = field(default_factory=list)
    not_before: float = 0.0
    locked_until: float = 0.0
    lockouts: int = 0


class LoginThrottle:
    """Failures per client (process-wide, thread-safe, at most ``max_clients`` remembered)."""

    def __init__(self, policy: ThrottlePolicy | None = None, max_clients: int = 10_000):
        self.policy = policy or ThrottlePolicy()
        self.max_clients = max_clients
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def wait(self, client: str, now: float) -> tuple[float, bool]:
        """(seconds the client must still wait, whether that is a lockout)."""
        with self._lock:
            state = self._clients.get(client)
            if state is None:
                return 0.0, False
            if state.locked_until > now:
                return state.locked_until - now, True
            return max(0.0, state.not_before - now), False

    def failure(self, client: str, now: float) -> tuple[int, float, bool]:
        """Record a failure: (failures in the window, seconds to wait, locked out)."""
        p = self.policy
        with self._lock:
            state = self._clients.pop(client, None) or _Client()
            self._clients[client] = state  # re-inserted: the dict is oldest-first
            state.failures = [t for t in state.failures if now - t < p.window_s] + [now]
            n = len(state.failures)
            if n >= p.lockout_failures or state.lockouts:  # once locked out, every failure locks again
                state.locked_until, state.failures = now + p.lockout_s, []
                state.lockouts += 1
                wait, locked = p.lockout_s, True
            else:
                wait, locked = p.delay_after(n), False
                state.not_before = now + wait
            while len(self._clients) > self.max_clients:
                del self._clients[next(iter(self._clients))]
            return n, wait, locked

    def success(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def reset(self) -> None:
        """Forget every client (tests; an operator can also just restart the app)."""
        with self._lock:
            self._clients.clear()


#: The process-wide throttle the pages use.
THROTTLE = LoginThrottle()


@dataclass(frozen=True)
class LoginResult:
    """``ok``, or the one message to show (never saying more than the policy)."""

    ok: bool
    message: str = ""


def _clock_text(seconds: float) -> str:
    return f"{int(seconds // 60)} minutes" if seconds >= 120 else f"{max(1, round(seconds))} s"


def attempt_login(given: str, client: str, secret: AdminSecret, *, throttle: LoginThrottle | None = None,
                  now: float | None = None) -> LoginResult:
    """Check one login attempt from ``client`` against the throttle (default :data:`THROTTLE`), then the secret."""
    throttle = THROTTLE if throttle is None else throttle
    now = time.time() if now is None else now
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
    wait, locked = throttle.wait(client, now)
    if wait > 0:
        _log.warning("console login refused without checking: client=%s time=%s %s", client, stamp,
                     "locked out" if locked else "too soon after a failure")
        if locked:
            return LoginResult(False, f"Too many failed attempts from this connection: it is locked out for "
                                      f"{_clock_text(wait)}. The experimenter can still log in from another device.")
        return LoginResult(False, f"Too many failed attempts: wait {_clock_text(wait)} before trying again.")
    try:
        matches = secret.matches(given)
    except ValueError as err:  # a malformed hash in the environment: the operator's mistake
        _log.error("console login impossible: %s", err)
        return LoginResult(False, f"The experimenter login is misconfigured: {err}.")
    if matches:
        throttle.success(client)
        _log.info("console login succeeded: client=%s time=%s", client, stamp)
        return LoginResult(True)
    n, wait, locked = throttle.failure(client, now)
    _log.warning("console login failed: client=%s time=%s failures=%d%s", client, stamp, n,
                 " -> locked out" if locked else "")
    if locked:
        return LoginResult(False, f"Wrong password. Too many failed attempts from this connection: it is locked "
                                  f"out for {_clock_text(wait)}.")
    return LoginResult(False, "Wrong password." + (f" Wait {_clock_text(wait)} before trying again." if wait else ""))
