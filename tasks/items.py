"""Item-bank schema: what one item to verify looks like.

An *item* is one AI-written claim a rater judges, with optional context (the
question the claim answered), source passages, and optionally AI assistance made
elsewhere (``ai_label``, ``ai_confidence``, ``ai_reasoning``, ``ai_evidence``,
``debate``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Maximum length of any single text field (claim, context, source text). A longer
#: field is almost always a broken export, and would make the rater page unusable.
MAX_TEXT_CHARS = 20_000

ItemRole = Literal["main", "practice", "attention_check"]


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"is longer than {MAX_TEXT_CHARS} characters")
    return value


class Source(BaseModel):
    """One source passage shown with an item (e.g. a Wikipedia sentence)."""

    model_config = ConfigDict(extra="forbid")

    title: str = ""
    text: str
    url: str | None = None

    _text = field_validator("text")(_non_empty)


class Quote(BaseModel):
    """A quote an AI (made elsewhere) cites as evidence, by source index or title."""

    model_config = ConfigDict(extra="forbid")

    text: str
    source: int | str = 0

    _text = field_validator("text")(_non_empty)


class DebateSide(BaseModel):
    """One side of an AI debate: the verdict it argues for, its argument and quotes."""

    model_config = ConfigDict(extra="forbid")

    label: str
    argument: str
    quotes: list[Quote] = Field(default_factory=list)

    _argument = field_validator("argument")(_non_empty)


class Debate(BaseModel):
    """Two AI sides arguing opposite verdicts (made elsewhere)."""

    model_config = ConfigDict(extra="forbid")

    sides: list[DebateSide] = Field(min_length=2, max_length=2)


class Item(BaseModel):
    """One item of an item bank (see docs/item-bank.md)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    item_id: str = Field(min_length=1, max_length=200)
    claim: str
    gold_label: str
    context: str | None = None
    sources: list[Source] = Field(default_factory=list)
    role: ItemRole = "main"
    ai_label: str | None = None
    ai_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    ai_reasoning: str | None = None
    ai_evidence: list[Quote] | None = None
    debate: Debate | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    _claim = field_validator("claim")(_non_empty)

    @field_validator("item_id")
    @classmethod
    def _item_id_clean(cls, value: str) -> str:
        if not value.strip() or value != value.strip():
            raise ValueError("must be non-empty with no surrounding whitespace")
        return value

    @field_validator("context")
    @classmethod
    def _context_len(cls, value: str | None) -> str | None:
        if value is not None and len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"is longer than {MAX_TEXT_CHARS} characters")
        return value

    @property
    def has_external_ai(self) -> bool:
        """True when the bank carries an AI verdict made elsewhere."""
        return self.ai_label is not None and self.ai_confidence is not None
