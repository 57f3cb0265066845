"""The one set of size and value limits.

Every length a database column enforces (``String(n)``) and every bound validation
checks is declared here once. ``study.models`` builds its columns from these
constants and the validators (``tasks.items``, ``study.config``, the rater-page
parameter checks) import the same ones, so a value is refused by validation, with
a message naming the field, before it reaches either database: SQLite would store
an over-long string silently where PostgreSQL raises ``DataError``.
``tests/study/test_limits.py`` checks that every ``String(n)`` column appears in
:data:`COLUMN_LIMITS` with the same ``n``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "COLUMN_LIMITS",
    "INTERNAL_COLUMNS",
    "MAX_CODE_CHARS",
    "MAX_CONDITION_KEY",
    "MAX_EVENT_KIND",
    "MAX_EXTERNAL_ID",
    "MAX_ITEM_ID",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_LABEL_CHARS",
    "MAX_LABELS",
    "MAX_PROLIFIC_ID",
    "MAX_QUOTES",
    "MAX_SOURCES",
    "MAX_STANCES",
    "MAX_STUDY_NAME",
    "MAX_SUBMISSION_KEY",
    "MAX_TEXT_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_SOURCE_TITLE_CHARS",
    "MAX_TOKEN",
    "MAX_URL_CHARS",
]

# --------------------------------------------------------------------------- study config
#: Study name (``study.name``); also the pattern ``[A-Za-z0-9][A-Za-z0-9_-]*``.
MAX_STUDY_NAME: Final = 64
#: Title shown to raters (``study.title``).
MAX_TITLE_CHARS: Final = 200
#: Condition key (``condition.key``); also the pattern ``[a-z][a-z0-9_]*``.
MAX_CONDITION_KEY: Final = 40
#: One label of the label set; gold, AI, initial and final labels are labels.
MAX_LABEL_CHARS: Final = 100
#: Labels in a label set.
MAX_LABELS: Final = 20
#: A completion code (shown to the rater, put into the redirect URL).
MAX_CODE_CHARS: Final = 100
#: A URL (redirect URL, source URL).
MAX_URL_CHARS: Final = 2_000

# --------------------------------------------------------------------------- items
#: Item id (``item.item_id``).
MAX_ITEM_ID: Final = 200
#: Any long text: claim, context, source text, AI reasoning, debate argument, quote,
#: consent text, description. A longer field is almost always a broken export and
#: would make the rater page unusable.
MAX_TEXT_CHARS: Final = 20_000
#: A source title.
MAX_SOURCE_TITLE_CHARS: Final = 1_000
#: Sources per item.
MAX_SOURCES: Final = 100
#: Quotes in ``ai_evidence`` or in one debate side.
MAX_QUOTES: Final = 50
#: Stance annotations (``sources[].stances``) on one source.
MAX_STANCES: Final = 200
#: Nesting depth of any free-form JSON value (item ``metadata``): ``{"a": {"b": 1}}`` is 2.
MAX_JSON_DEPTH: Final = 16
#: Size of any free-form JSON value (item ``metadata``), as compact UTF-8 JSON.
MAX_JSON_BYTES: Final = 64 * 1024

# --------------------------------------------------------------------------- raters
#: External rater id (``rater.external_id``: ``?rater=`` or ``?PROLIFIC_PID=``).
MAX_EXTERNAL_ID: Final = 200
#: Prolific ``PROLIFIC_PID`` / ``STUDY_ID`` / ``SESSION_ID`` (Prolific's are 24 hex characters).
MAX_PROLIFIC_ID: Final = 100
#: Rater token (``rater.token``; made by the code: 32 characters).
MAX_TOKEN: Final = 64
#: Client idempotency key of a submitted answer (``judgment.submission_key``).
MAX_SUBMISSION_KEY: Final = 64
#: Client event kind (``event.kind``).
MAX_EVENT_KIND: Final = 40

#: ``table.column`` -> the limit validation enforces before that ``String(n)`` column.
COLUMN_LIMITS: Final[dict[str, int]] = {
    "study.name": MAX_STUDY_NAME,
    "study.title": MAX_TITLE_CHARS,
    "condition.key": MAX_CONDITION_KEY,
    "item.item_id": MAX_ITEM_ID,
    "item.gold_label": MAX_LABEL_CHARS,
    "rater.external_id": MAX_EXTERNAL_ID,
    "rater.prolific_pid": MAX_PROLIFIC_ID,
    "rater.prolific_study_id": MAX_PROLIFIC_ID,
    "rater.prolific_session_id": MAX_PROLIFIC_ID,
    "rater.token": MAX_TOKEN,
    "assignment.initial_label": MAX_LABEL_CHARS,
    "judgment.label": MAX_LABEL_CHARS,
    "judgment.initial_label": MAX_LABEL_CHARS,
    "judgment.submission_key": MAX_SUBMISSION_KEY,
    "event.kind": MAX_EVENT_KIND,
}

#: ``String(n)`` columns only the code writes (enumerations, hashes, provenance), never
#: a value from a file, a form or a URL: ``table.column`` -> (n, why it cannot overflow).
INTERNAL_COLUMNS: Final[dict[str, tuple[int, str]]] = {
    "study.status": (16, "one of models.STUDY_STATUSES"),
    "condition.assistance": (16, "one of the assistance kinds"),
    "item.role": (20, "one of main, practice, attention_check"),
    "item.import_batch": (64, "secrets.token_hex(8), with a 'pending-' prefix while importing"),
    "assistance.kind": (16, "one of models.ASSISTANCE_ROW_KINDS"),
    "assistance.generator": (100, "a generator name in tasks.assistance"),
    "assistance.model_version": (100, "a sha256 hex digest or a version string"),
    "assistance.content_hash": (80, "a sha256 hex digest"),
    "rater.status": (20, "one of models.RATER_STATUSES"),
    "assignment.stage": (16, "practice or main"),
}
