"""Experimenter login: scrypt hashes, per-client slow-down and lockout, logs without passwords."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from study.auth import (
    AdminSecret,
    LoginThrottle,
    ThrottlePolicy,
    attempt_login,
    client_from,
    hash_password,
    verify_password,
)
from study.cli import app

SECRET = AdminSecret(plain="correct horse battery staple")


def test_scrypt_hash_round_trip_and_format() -> None:
    stored = hash_password("s3cret pass")
    assert stored.startswith("scrypt$15$8$1$") and "s3cret" not in stored
    assert verify_password("s3cret pass", stored)
    assert not verify_password("s3cret pasS", stored)
    assert hash_password("x", salt=b"0" * 16) == hash_password("x", salt=b"0" * 16)
    assert hash_password("x") != hash_password("x")  # random salt
    with pytest.raises(ValueError, match="not a hash made by"):
        verify_password("x", "plain-text-by-mistake")


def test_hash_wins_over_plain_and_is_checked() -> None:
    secret = AdminSecret(plain="old", hashed=hash_password("new password"))
    assert secret.matches("new password") and not secret.matches("old")


def test_failures_slow_down_then_lock_out_one_client_only() -> None:
    policy = ThrottlePolicy()
    throttle = LoginThrottle(policy)
    t = 1000.0
    messages = []
    for _ in range(policy.lockout_failures):
        wait, _locked = throttle.wait("1.2.3.4", t)
        t += wait  # the attacker waits exactly as long as it must
        result = attempt_login("guess", "1.2.3.4", SECRET, throttle=throttle, now=t)
        assert not result.ok
        messages.append(result.message)
    assert messages[:3] == ["Wrong password."] * 3
    assert messages[3] == "Wrong password. Wait 1 s before trying again."
    assert messages[4] == "Wrong password. Wait 2 s before trying again."
    assert "locked out for 15 minutes" in messages[-1]
    # while locked, even the right password from that client is not checked
    locked = attempt_login(SECRET.plain or "", "1.2.3.4", SECRET, throttle=throttle, now=t + 60)
    assert not locked.ok and "locked out" in locked.message and "another device" in locked.message
    # another client gets in at once
    assert attempt_login(SECRET.plain or "", "5.6.7.8", SECRET, throttle=throttle, now=t + 60).ok
    # after the lockout, the client can log in again
    assert attempt_login(SECRET.plain or "", "1.2.3.4", SECRET, throttle=throttle, now=t + policy.lockout_s + 1).ok


def test_an_attempt_during_the_wait_is_refused_unchecked() -> None:
    throttle = LoginThrottle(ThrottlePolicy(free_failures=0, base_delay_s=5))
    assert attempt_login("bad", "c", SECRET, throttle=throttle, now=0).message == "Wrong password. Wait 5 s before trying again."
    early = attempt_login(SECRET.plain or "", "c", SECRET, throttle=throttle, now=2)
    assert not early.ok and early.message == "Too many failed attempts: wait 3 s before trying again."
    assert attempt_login(SECRET.plain or "", "c", SECRET, throttle=throttle, now=5.5).ok


def test_brute_force_rate_is_bounded() -> None:
    """2.9 guesses per second for 30 minutes from one client (the rate the issue measured).

    The waits are 0, 0, 0, 1, 2, 4, 8, 16, 30 s; the 10th failure comes at ~63 s and
    locks the client out for 15 minutes; after that each failure locks it again. So
    11 guesses are checked in 30 minutes instead of ~5,200.
    """
    policy = ThrottlePolicy()
    throttle = LoginThrottle(policy)
    checked_at = []
    for k in range(int(30 * 60 * 2.9)):
        t = k / 2.9
        wait, _ = throttle.wait("x", t)
        if wait == 0:
            attempt_login("guess", "x", SECRET, throttle=throttle, now=t)
            checked_at.append(t)
    assert len(checked_at) == 11
    assert 61 < checked_at[9] < 64  # 0+0+0+1+2+4+8+16+30 s of waits, plus the 0.35 s steps
    assert checked_at[10] >= checked_at[9] + policy.lockout_s


def test_success_clears_the_record() -> None:
    throttle = LoginThrottle()
    for i in range(3):
        attempt_login("bad", "c", SECRET, throttle=throttle, now=i)
    assert attempt_login(SECRET.plain or "", "c", SECRET, throttle=throttle, now=10).ok
    assert attempt_login("bad", "c", SECRET, throttle=throttle, now=11).message == "Wrong password."


def test_failures_are_logged_with_time_and_client_never_the_password(caplog: pytest.LogCaptureFixture) -> None:
    throttle = LoginThrottle()
    with caplog.at_level(logging.INFO, logger="oversight.auth"):
        attempt_login("hunter2-guess", "203.0.113.9", SECRET, throttle=throttle, now=1_700_000_000)
        attempt_login(SECRET.plain or "", "203.0.113.9", SECRET, throttle=throttle, now=1_700_000_001)
    text = caplog.text
    assert "console login failed: client=203.0.113.9 time=2023-11-14T22:13:20+00:00 failures=1" in text
    assert "console login succeeded: client=203.0.113.9" in text
    assert "hunter2" not in text and (SECRET.plain or "") not in text


def test_client_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7"}
    assert client_from("10.0.0.1", headers) == "10.0.0.1"  # headers are ignored unless a proxy is declared
    monkeypatch.setenv("OVERSIGHT_CLIENT_IP_HEADER", "x-forwarded-for")
    assert client_from("10.0.0.1", headers) == "198.51.100.7"  # the address the proxy saw, not the claimed one
    assert client_from(None, {}) == "unknown"


def test_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_clients=50)
    for i in range(500):
        throttle.failure(f"c{i}", 0)
    assert len(throttle._clients) == 50


def test_cli_hash_password() -> None:
    result = CliRunner().invoke(app, ["hash-password"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    stored = result.stdout.strip().splitlines()[-1]
    assert verify_password("long enough pw", stored) and "long enough" not in result.stdout
    short = CliRunner().invoke(app, ["hash-password"], input="short\nshort\n")
    assert short.exit_code == 2 and short.stderr.strip().endswith("error: use at least 8 characters")
