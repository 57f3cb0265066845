"""Study configuration: one YAML file describes a whole study.

Every setting is declared once here, with its description; ``docs/study-config.md``
documents each and a test checks that the docs cover every field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from analysis.exclusions import ExclusionRules
from tasks.assistance.llm.settings import LLMSettings
from tasks.importers import CLIMATE_FEVER_LABEL_MAP

AssistanceKind = Literal["none", "evidence", "reasoning", "debate"]

#: The assistance kinds of DESIGN.md's condition table, and what the rater sees.
ASSISTANCE_KINDS: dict[str, str] = {
    "none": "nothing besides the item",
    "evidence": "AI-selected verbatim evidence quotes, each marked verified or not; no AI label",
    "reasoning": "the AI's label, confidence, written reasoning and its evidence",
    "debate": "two AI sides, one arguing each verdict, each with its own quotes; no AI verdict",
}

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ConfigError(ValueError):
    """A study config is invalid; the message names the file and every bad field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    """One level of the randomized factor."""

    key: str = Field(description="Short identifier stored with every judgment, e.g. `evidence`.")
    assistance: AssistanceKind = Field(description="Which AI assistance the rater sees.")
    label: str = Field(default="", description="Human-readable name shown to experimenters.")
    instructions: str = Field(default="", description="Extra instructions for raters in this condition.")
    warning: str = Field(default="", description="Optional warning shown above the assistance.")

    @field_validator("key")
    @classmethod
    def _key_format(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("must be lowercase letters, digits or _, starting with a letter")
        return value


class Design(_Strict):
    """How conditions are assigned and how trials run."""

    type: Literal["between", "within"] = Field(
        default="between", description="`between`: one condition per rater; `within`: blocks of items per condition."
    )
    two_stage: bool = Field(
        default=False,
        description="Rater answers without assistance first, then sees it and gives a final answer.",
    )


class Completion(_Strict):
    """Codes shown at the end, and where to send the rater."""

    completed: str = Field(default="COMPLETE", description="Code for raters who finished.")
    failed_attention: str = Field(default="ATTENTION", description="Code for raters who failed attention checks.")
    timed_out: str = Field(default="TIMEOUT", description="Code for raters who exceeded the time limit.")
    redirect_url: str | None = Field(
        default=None,
        description="URL to send the rater to after saving; `{code}` is replaced by the code "
        "(Prolific: `https://app.prolific.com/submissions/complete?cc={code}`).",
    )

    @field_validator("redirect_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return value


class Confidence(_Strict):
    """The confidence slider raters answer with (probability their label is right)."""

    min: float = Field(default=0.5, ge=0.0, le=1.0, description="Lowest confidence (0.5 = guessing for two labels).")
    max: float = Field(default=1.0, ge=0.0, le=1.0, description="Highest confidence.")
    step: float = Field(default=0.05, gt=0.0, le=0.5, description="Slider step.")

    @model_validator(mode="after")
    def _ordered(self) -> Confidence:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class Exclusions(ExclusionRules):
    """Which judgments analysis drops; applied the same way in every report.

    The fields are :class:`analysis.ExclusionRules`' own; here unknown keys are errors.
    """

    model_config = ConfigDict(extra="forbid")


class ImportSettings(_Strict):
    """How public item-bank formats map onto the study's labels."""

    label_map: dict[str, str | None] = Field(
        default_factory=lambda: dict(CLIMATE_FEVER_LABEL_MAP),
        description="Source label -> study label; `null` skips items with that label.",
    )
    max_sources: int = Field(default=5, ge=1, le=20, description="Sources kept per item.")


class AssistanceSettings(_Strict):
    """How AI assistance is generated before launch."""

    encoder: str = Field(default="minilm", description="`minilm` (bundled model), `hashing` (fast stand-in) or a local model directory.")
    quotes: int = Field(default=3, ge=1, le=10, description="Evidence quotes per item.")
    folds: int = Field(default=5, ge=2, le=20, description="Cross-fitting folds for the AI verdict.")
    generator_model: str | None = Field(default=None, description="Local causal-LM directory for reasoning/debate text; template text when empty.")
    max_new_tokens: int = Field(default=120, ge=1, le=2048, description="Generation length for the generative backend.")
    llm: LLMSettings | None = Field(
        default=None,
        description="An LLM as the AI: it gives the verdict (calibrated P(label)) and writes the reasoning and debate text.",
    )


class StudyConfig(_Strict):
    """A whole study (see docs/study-config.md)."""

    name: str = Field(description="Unique short name, used in links and the CLI.")
    title: str = Field(default="", description="Title shown to raters.")
    description: str = Field(default="", description="Notes for experimenters.")
    seed: int = Field(default=0, ge=-(2**63), le=2**63 - 1, description="Seed of every random choice in the study.")
    labels: list[str] = Field(default_factory=lambda: ["correct", "incorrect"], min_length=2, description="Label set.")
    conditions: list[Condition] = Field(min_length=1, description="The assistance conditions.")
    design: Design = Field(default_factory=Design, description="Between/within subjects, two-stage trials.")
    items_per_rater: int = Field(default=12, ge=1, le=1000, description="Rated (non-practice) items per rater.")
    target_ratings_per_item: int = Field(default=3, ge=1, le=10_000, description="Ratings wanted per item in each condition.")
    practice_items: int = Field(default=2, ge=0, le=20, description="Practice items (role `practice`) shown first, with feedback.")
    attention_checks: int = Field(default=1, ge=0, le=20, description="Attention-check items (role `attention_check`) mixed in.")
    max_attention_failures: int = Field(default=0, ge=0, description="Failures allowed; one more ends the session.")
    time_limit_minutes: int = Field(default=60, ge=1, le=24 * 60, description="Session time limit; later submissions are refused.")
    show_sources: bool = Field(default=True, description="Show the source passages with each item.")
    confidence: Confidence = Field(default_factory=Confidence, description="Confidence scale.")
    completion: Completion = Field(default_factory=Completion, description="Completion codes and redirect.")
    consent_text: str = Field(
        default="This study is run for research on how people check AI outputs. "
        "Participation is voluntary; you may stop at any time. Your answers are stored "
        "without your name.",
        description="Consent text shown first.",
    )
    exclusions: Exclusions = Field(default_factory=Exclusions, description="Analysis exclusion rules.")
    importing: ImportSettings = Field(default_factory=ImportSettings, alias="import", description="Import adapter settings.")
    assistance: AssistanceSettings = Field(default_factory=AssistanceSettings, description="Assistance generation.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _name_format(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", value):
            raise ValueError("must be 1-64 letters, digits, - or _")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> StudyConfig:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels: must be unique")
        keys = [c.key for c in self.conditions]
        if len(set(keys)) != len(keys):
            raise ValueError("conditions: keys must be unique")
        if self.design.type == "within" and self.items_per_rater < len(self.conditions):
            raise ValueError("items_per_rater: a within-subjects design needs at least one item per condition")
        for source, target in self.importing.label_map.items():
            if target is not None and target not in self.labels:
                raise ValueError(f"import.label_map.{source}: {target!r} is not in labels")
        return self

    def condition(self, key: str) -> Condition:
        """The condition with this key (KeyError when unknown)."""
        for cond in self.conditions:
            if cond.key == key:
                return cond
        raise KeyError(key)


def _format_errors(err: ValidationError, origin: str) -> str:
    lines = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{origin}: field '{field}': {e['msg']}")
    return "\n".join(lines)


def _nul_field(data: Any, path: str = "", seen: set[int] | None = None) -> str | None:
    """Dotted path of the first string (or key) holding a NUL character, if any.

    Containers are visited once each: YAML aliases share them, and a "billion laughs"
    document would otherwise be walked exponentially many times.
    """
    if isinstance(data, str):
        return (path or "(top level)") if "\x00" in data else None
    seen = set() if seen is None else seen
    if id(data) in seen:
        return None
    seen.add(id(data))
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return where
        found = _nul_field(value, where, seen)
        if found is not None:
            return found
    return None


def parse_config(data: Any, origin: str = "<config>") -> StudyConfig:
    """Validate a parsed mapping; raise :class:`ConfigError` naming every bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the config must be a mapping of settings, got {type(data).__name__}")
    nul = _nul_field(data)
    if nul is not None:  # PostgreSQL text cannot hold NUL; it is never meant anyway
        raise ConfigError(f"{origin}: field '{nul}': contains a NUL character")
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, origin)) from None


def parse_config_text(text: str, origin: str = "<config>") -> StudyConfig:
    """Parse YAML text (JSON is YAML too) into a validated config."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        raise ConfigError(f"{where}: not valid YAML: {getattr(err, 'problem', err)}") from None
    except RecursionError:  # e.g. [[[[...]]]] thousands deep
        raise ConfigError(f"{origin}: not a usable config: nested too deeply") from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise ConfigError(f"{origin}: not a usable config: {err}") from None
    return parse_config(data, origin)


def load_config(path: str | Path) -> StudyConfig:
    """Load and validate a YAML study config file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{p}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return parse_config_text(text, str(p))


def config_to_yaml(config: StudyConfig) -> str:
    """Serialise a config back to YAML (round-trips through :func:`parse_config_text`)."""
    return yaml.safe_dump(config.model_dump(mode="json", by_alias=True), sort_keys=False, allow_unicode=True)
