"""Item-bank schema: what one item to verify looks like.

An *item* is one AI-written claim a rater judges, with optional context (the
question the claim answered), source passages, and optionally AI assistance made
elsewhere (``ai_label``, ``ai_confidence``, ``ai_reasoning``, ``ai_evidence``,
``debate``). A source may carry stance annotations (``stances``): which label each
of its passages favours, as the bank's authors judged it. Every length and count is bounded by the constants of
:mod:`tasks.limits` (the same ones the database columns are built from), and no
number may be NaN or infinite.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasks.limits import (
    MAX_ITEM_ID,
    MAX_LABEL_CHARS,
    MAX_QUOTES,
    MAX_SOURCE_TITLE_CHARS,
    MAX_SOURCES,
    MAX_STANCES,
    MAX_TEXT_CHARS,
    MAX_URL_CHARS,
)
from tasks.values import json_value_problem

__all__ = ["MAX_TEXT_CHARS", "Debate", "DebateSide", "Item", "ItemRole", "Quote", "SentenceStance", "Source"]

ItemRole = Literal["main", "practice", "attention_check"]


def _bounded(limit: int) -> Any:
    """A validator refusing text longer than ``limit`` characters."""

    def check(value: str | None) -> str | None:
        if value is not None and len(value) > limit:
            raise ValueError(f"is longer than {limit} characters")
        return value

    return check


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"is longer than {MAX_TEXT_CHARS} characters")
    return value


def _label(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be empty")
    return _bounded(MAX_LABEL_CHARS)(value)  # type: ignore[no-any-return]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SentenceStance(_Strict):
    """The label one passage of a source favours, as the item bank's authors judged it.

    ``text`` is a passage of the source, word for word (checked on import, like a quote);
    ``label`` is the label it favours, or None when it favours no label (background).
    """

    text: str
    label: str | None = None

    _text = field_validator("text")(_non_empty)
    _label = field_validator("label")(_label)


class Source(_Strict):
    """One source passage shown with an item (e.g. a Wikipedia sentence).

    ``stances`` (optional) annotates passages of ``text`` with the label each favours;
    an item with any annotated source takes its quote stances from the annotations
    (docs/item-bank.md, "Stance annotations"). Raters never see them.
    """

    title: str = ""
    text: str
    url: str | None = None
    stances: list[SentenceStance] | None = Field(default=None, max_length=MAX_STANCES)

    _text = field_validator("text")(_non_empty)
    _title = field_validator("title")(_bounded(MAX_SOURCE_TITLE_CHARS))
    _url = field_validator("url")(_bounded(MAX_URL_CHARS))


class Quote(_Strict):
    """A quote an AI (made elsewhere) cites as evidence, by source index or title."""

    text: str
    source: int | str = 0

    _text = field_validator("text")(_non_empty)

    @field_validator("source")
    @classmethod
    def _source_ref(cls, value: int | str) -> int | str:
        if isinstance(value, str):
            return _bounded(MAX_SOURCE_TITLE_CHARS)(value)  # type: ignore[no-any-return]
        if not 0 <= value < MAX_SOURCES:
            raise ValueError(f"a source index must be between 0 and {MAX_SOURCES - 1}")
        return value


class DebateSide(_Strict):
    """One side of an AI debate: the verdict it argues for, its argument and quotes."""

    label: str
    argument: str
    quotes: list[Quote] = Field(default_factory=list, max_length=MAX_QUOTES)

    _argument = field_validator("argument")(_non_empty)
    _label = field_validator("label")(_label)


class Debate(_Strict):
    """Two AI sides arguing opposite verdicts (made elsewhere)."""

    sides: list[DebateSide] = Field(min_length=2, max_length=2)


class Item(_Strict):
    """One item of an item bank (see docs/item-bank.md)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=False)

    item_id: str = Field(min_length=1, max_length=MAX_ITEM_ID)
    claim: str
    gold_label: str
    context: str | None = None
    sources: list[Source] = Field(default_factory=list, max_length=MAX_SOURCES)
    role: ItemRole = "main"
    ai_label: str | None = None
    ai_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    ai_reasoning: str | None = None
    ai_evidence: list[Quote] | None = Field(default=None, max_length=MAX_QUOTES)
    debate: Debate | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    _claim = field_validator("claim")(_non_empty)
    _labels = field_validator("gold_label", "ai_label")(_label)
    _texts = field_validator("context", "ai_reasoning")(_bounded(MAX_TEXT_CHARS))

    @field_validator("item_id")
    @classmethod
    def _item_id_clean(cls, value: str) -> str:
        if not value.strip() or value != value.strip():
            raise ValueError("must be non-empty with no surrounding whitespace")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata_bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = json_value_problem(value, "metadata")
        if problem is not None:
            field, message = problem
            raise ValueError(message if field == "metadata" else f"{field}: {message}")
        return value

    @property
    def has_external_ai(self) -> bool:
        """True when the bank carries an AI verdict made elsewhere."""
        return self.ai_label is not None and self.ai_confidence is not None
