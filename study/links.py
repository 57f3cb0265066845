"""Rater links, signed links and test raters.

With ``links: signed`` in the study config, a rater link must carry
``sig = HMAC-SHA256(secret, "<study>\\x1f<rater id>")`` (the first 32 hex characters,
128 bits) where the secret is the environment variable ``OVERSIGHT_LINK_SECRET``:
nobody without the secret can make a link for another rater id, and changing the
study or the id in a link breaks its signature. Launching a signed study without
the secret is refused. Prolific cannot sign links (it puts ``PROLIFIC_PID`` into one
URL for everybody), so a signed study accepts Prolific's own links unsigned only
when its config says ``prolific: true`` (docs/security.md says how they are trusted).

:func:`make_links` writes new rater links (and :func:`links_csv` a CSV of them);
:func:`make_test_raters` creates test raters (``rater.is_test``) that are kept out
of balancing, the monitor, the export and the analysis by default.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import Engine

from study.config import StudyConfig
from study.service import ServiceError, get_config

__all__ = [
    "LINK_SECRET_ENV",
    "SIGNATURE_PARAM",
    "RaterLink",
    "link_problem",
    "link_secret",
    "links_csv",
    "make_links",
    "make_test_raters",
    "rater_link",
    "require_secret",
    "signature",
    "verify",
]

LINK_SECRET_ENV = "OVERSIGHT_LINK_SECRET"
SIGNATURE_PARAM = "sig"
#: Hex characters of the HMAC kept in a link (128 bits).
SIGNATURE_CHARS = 32
#: A secret shorter than this is refused (it could be guessed offline from one link).
MIN_SECRET_CHARS = 16


def link_secret() -> bytes | None:
    """The signing secret from ``OVERSIGHT_LINK_SECRET`` (None when unset or too short)."""
    value = os.environ.get(LINK_SECRET_ENV, "")
    return value.encode("utf-8") if len(value) >= MIN_SECRET_CHARS else None


def require_secret(config: StudyConfig) -> bytes | None:
    """The secret a study needs: None for open links; ServiceError for a signed study without one."""
    if config.links != "signed":
        return None
    secret = link_secret()
    if secret is None:
        raise ServiceError(f"study {config.name!r} uses signed links: set {LINK_SECRET_ENV} "
                           f"(at least {MIN_SECRET_CHARS} characters) in the environment of every app process")
    return secret


def signature(study: str, rater_id: str, secret: bytes) -> str:
    """``HMAC-SHA256(secret, study + US + rater_id)``, first :data:`SIGNATURE_CHARS` hex characters."""
    digest = hmac.new(secret, f"{study}\x1f{rater_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:SIGNATURE_CHARS]


def verify(study: str, rater_id: str, sig: str | None, secret: bytes) -> bool:
    """True when ``sig`` is the signature of (study, rater id); constant-time."""
    if not sig or len(sig) != SIGNATURE_CHARS:
        return False
    return hmac.compare_digest(sig.lower().encode("ascii", "replace"), signature(study, rater_id, secret).encode())


def rater_link(base_url: str, study: str, rater_id: str, secret: bytes | None = None) -> str:
    """The link of one rater (``?study=..&rater=..[&sig=..]``), its values URL-encoded."""
    params = {"study": study, "rater": rater_id}
    if secret is not None:
        params[SIGNATURE_PARAM] = signature(study, rater_id, secret)
    return f"{base_url.rstrip('/')}/?{urlencode(params)}"


def link_problem(config: StudyConfig, params: Mapping[str, str | None], secret: bytes | None) -> str | None:
    """Why a link may not enter the study (None: it may).

    ``params`` are the link's query parameters. Open studies take every link. A
    signed study takes a ``rater`` link with a valid signature, and a
    ``PROLIFIC_PID`` link only when ``prolific: true``.
    """
    if config.links != "signed":
        return None
    if secret is None:
        return "unconfigured"
    if params.get("PROLIFIC_PID"):
        return None if config.prolific else "unsigned"
    rater_id = params.get("rater")
    if not rater_id:
        return "unsigned"
    return None if verify(config.name, rater_id, params.get(SIGNATURE_PARAM), secret) else "unsigned"


@dataclass(frozen=True)
class RaterLink:
    rater_id: str
    url: str
    is_test: bool = False


def make_links(engine: Engine, study: str, n: int, base_url: str, *, prefix: str = "r") -> list[RaterLink]:
    """``n`` links with new random rater ids (signed when the study's links are).

    Nothing is written to the database: a rater is enrolled when the link is first opened.
    """
    if not 1 <= n <= 100_000:
        raise ServiceError("the number of links must be 1-100000")
    config = get_config(engine, study)
    secret = require_secret(config)
    ids = [f"{prefix}-{secrets.token_hex(6)}" for _ in range(n)]
    return [RaterLink(rid, rater_link(base_url, study, rid, secret)) for rid in ids]


def make_test_raters(engine: Engine, study: str, n: int, base_url: str) -> list[RaterLink]:
    """Create ``n`` test raters (``is_test``) and return their links.

    They go through the whole flow like anyone else, and are kept out of balancing,
    the monitor's counts, the export and the analysis unless those are asked to
    include test raters.
    """
    from study.rater.enrolment import enrol

    if not 1 <= n <= 1000:
        raise ServiceError("the number of test raters must be 1-1000")
    config = get_config(engine, study)
    secret = require_secret(config)
    made = []
    for _ in range(n):
        rid = f"test-{secrets.token_hex(6)}"
        enrol(engine, study, rid, is_test=True)
        made.append(RaterLink(rid, rater_link(base_url, study, rid, secret), is_test=True))
    return made


def links_csv(links: Sequence[RaterLink]) -> bytes:
    """``rater_id,url,is_test`` rows, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rater_id", "url", "is_test"])
    for link in links:
        writer.writerow([link.rater_id, link.url, "true" if link.is_test else "false"])
    return out.getvalue().encode("utf-8")
