"""Study settings about what raters are told before the items: comprehension check, consent file.

Part of the study config (:class:`study.config.StudyConfig` has ``comprehension`` and
``consent_file``); kept here so each module stays small. docs/study-config.md
documents every field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tasks import limits

if TYPE_CHECKING:
    from study.config import StudyConfig

__all__ = ["Comprehension", "ComprehensionQuestion", "resolve_consent_file"]


def _at_most(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters long; at most {limit} are allowed")
    return value


class ComprehensionQuestion(BaseModel):
    """One multiple-choice question about the instructions."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, description="The question, shown as plain text.")
    options: list[str] = Field(min_length=2, max_length=10, description="The answer options, in the order shown.")
    answer: str = Field(description="The right option (one of `options`; never sent to the browser).")

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> ComprehensionQuestion:
        for option in self.options:
            if not option.strip():
                raise ValueError("options: must not be empty")
            _at_most(option, limits.MAX_LABEL_CHARS, "options: an option")
        if len(set(self.options)) != len(self.options):
            raise ValueError("options: must be unique")
        if self.answer not in self.options:
            raise ValueError(f"answer: {self.answer!r} is not one of the options")
        return self


class Comprehension(BaseModel):
    """An optional check that the rater understood the instructions, before the first item."""

    model_config = ConfigDict(extra="forbid")

    questions: list[ComprehensionQuestion] = Field(
        min_length=1, max_length=20, description="The questions; every one must be answered right to pass."
    )
    attempts: int = Field(default=2, ge=1, le=2, description="Attempts allowed (Prolific allows at most two).")
    fail_code: str = Field(default="COMPREHENSION", description="Completion code for raters who fail every attempt.")

    @field_validator("fail_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return _at_most(value, limits.MAX_CODE_CHARS, "the code")


def resolve_consent_file(config: StudyConfig, base: Path, origin: str = "<config>") -> StudyConfig:
    """The config with ``consent_file`` (relative to ``base``) read into ``consent_text``.

    Done once, when a config is loaded or a study is created, so the database keeps the
    text itself and never depends on the file again.
    """
    from study.config import ConfigError, FieldError

    if config.consent_file is None:
        return config
    path = base / config.consent_file
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        problem = "no such file" if isinstance(err, FileNotFoundError) else f"cannot be read ({err})"
        raise ConfigError(origin, [FieldError("consent_file", f"{path}: {problem}")]) from None
    if not text or "\x00" in text or len(text) > limits.MAX_TEXT_CHARS:
        raise ConfigError(origin, [FieldError(
            "consent_file", f"{path}: empty, longer than {limits.MAX_TEXT_CHARS} characters, or holds a NUL character")])
    return config.model_copy(update={"consent_text": text, "consent_file": None})
