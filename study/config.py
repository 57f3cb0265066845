"""Study configuration: one YAML file describes a whole study.

Every setting is declared once here, with its description; ``docs/study-config.md``
documents each and a test checks that the docs cover every field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from analysis.exclusions import ExclusionRules
from study import access, strict_yaml
from study.assistance_settings import AssistanceSettings as AssistanceSettings
from study.assistance_settings import VerdictSettings as VerdictSettings
from study.bonus import BonusRule
from study.rater_settings import Comprehension, resolve_consent_file
from tasks import limits
from tasks.assistance.kinds import ASSISTANCE_KINDS as ASSISTANCE_KINDS
from tasks.assistance.kinds import DEFAULT_DISPLAY
from tasks.assistance.kinds import AssistanceKind as AssistanceKind
from tasks.importers import CLIMATE_FEVER_LABEL_MAP

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_BOOL: TypeAdapter[bool] = TypeAdapter(bool)


@dataclass(frozen=True)
class FieldError:
    """One problem in a config: the field's dotted path ("" = the file as a whole),
    what is wrong, and the 1-based line in the YAML text when known."""

    path: str
    message: str
    line: int | None = None


class ConfigError(ValueError):
    """A study config is invalid; the message names the file and every bad field.

    ``errors`` holds the same problems as data (:class:`FieldError`), ``origin`` the
    file (or label) they are in; ``str(err)`` is one line per problem.
    """

    def __init__(self, origin: str, errors: Sequence[FieldError]) -> None:
        self.origin = origin
        self.errors = list(errors)
        super().__init__("\n".join(self.describe(e) for e in self.errors))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, list[FieldError]]]:
        return type(self), (self.origin, self.errors)  # pickles with its structure, not just the text

    def location(self, error: FieldError) -> str:
        """``origin`` or ``origin:line`` where the line of a file-level problem is known."""
        return f"{self.origin}:{error.line}" if error.line is not None and not error.path else self.origin

    def describe(self, error: FieldError) -> str:
        """One problem as a line of text: ``<file>: field '<path>': <message>``."""
        if not error.path:
            return f"{self.location(error)}: {error.message}"
        return f"{self.origin}: field '{error.path}': {error.message}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Display(_Strict):
    """Which parts of the item and its assistance a condition shows the rater.

    A toggle left out of the config takes its assistance kind's default, so the four
    kinds show what docs/study-config.md lists without any ``show`` section.
    """

    label: bool = Field(default=False, description="The AI's label (its verdict).")
    confidence: bool = Field(default=False, description="The AI's confidence in its label.")
    reasoning: bool = Field(
        default=False, description="The AI's written reasoning; for `debate`, each side's argument."
    )
    quotes: bool = Field(default=False, description="The AI-selected evidence quotes, each marked verified or not.")
    sources: bool = Field(default=True, description="The item's source passages (default: the study's `show_sources`).")


#: The toggles of :class:`Display` that depend on the assistance kind (``sources`` does not).
_KIND_PARTS = ("label", "confidence", "reasoning", "quotes")


class Condition(_Strict):
    """One level of the randomized factor."""

    key: str = Field(description="Short identifier stored with every judgment, e.g. `evidence`.")
    assistance: AssistanceKind = Field(description="Which AI assistance the rater sees.")
    label: str = Field(default="", description="Human-readable name shown to experimenters.")
    instructions: str = Field(default="", description="Extra instructions for raters in this condition.")
    warning: str = Field(default="", description="Optional warning shown above the assistance.")
    show: Display = Field(
        default_factory=Display,
        description="Display toggles (`label`, `confidence`, `reasoning`, `quotes`, `sources`); "
        "unset ones follow the assistance kind.",
    )

    @model_validator(mode="before")
    @classmethod
    def _kind_display(cls, data: Any) -> Any:
        """Fill the display toggles the config leaves out from the assistance kind's defaults."""
        if not isinstance(data, dict) or data.get("assistance") not in DEFAULT_DISPLAY:
            return data  # the field validators report what is wrong
        given = data.get("show")
        if given is None:
            given = {}
        if not isinstance(given, dict):
            return data
        shown = DEFAULT_DISPLAY[data["assistance"]]
        return {**data, "show": {**{part: part in shown for part in _KIND_PARTS}, **given}}

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
    two_stage: bool = Field(default=False, description="Rater answers without assistance first, then sees it and "
                            "gives a final answer.")


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
        return _at_most(value, limits.MAX_URL_CHARS)

    @field_validator("completed", "failed_attention", "timed_out")
    @classmethod
    def _code(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return _at_most(value, limits.MAX_CODE_CHARS)


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

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ImportSettings(_Strict):
    """How public item-bank formats map onto the study's labels."""

    label_map: dict[str, str | None] = Field(
        default_factory=lambda: dict(CLIMATE_FEVER_LABEL_MAP),
        description="Source label -> study label; `null` skips items with that label.",
    )
    max_sources: int = Field(default=5, ge=1, le=20, description="Sources kept per item.")
    stances: bool = Field(
        default=True,
        description="Climate-FEVER: keep each evidence sentence's label as its stance annotation "
        "(`false`: the model scores stances).",
    )


class StudyConfig(access.RaterAccess):
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
    require_confidence: bool = Field(default=False, description="Raters must move the confidence slider before an answer is accepted.")
    minutes_per_item: float = Field(default=1.0, gt=0.0, le=60.0, description="Expected minutes per item; the instructions estimate the study's length from it.")
    comprehension: Comprehension | None = Field(default=None, description="Optional comprehension check after the instructions, before the first item.")
    completion: Completion = Field(default_factory=Completion, description="Completion codes and redirect.")
    consent_text: str = Field(default="This study is run for research on how people check AI outputs. Participation is voluntary; you may stop at any time. Your answers are stored without your name.", description="Consent text shown first (markdown).")
    consent_file: str | None = Field(default=None, description="A markdown file with the consent text, relative to the config file; read when the config is loaded, so the database keeps the text itself (`consent_text` is replaced).")
    exclusions: Exclusions = Field(default_factory=Exclusions, description="Analysis exclusion rules.")
    importing: ImportSettings = Field(default_factory=ImportSettings, alias="import", description="Import adapter settings.")
    assistance: AssistanceSettings = Field(default_factory=AssistanceSettings, description="Assistance generation.")
    bonus: BonusRule = Field(default_factory=BonusRule, description="Per-correct-answer bonus (export `bonus.csv`).")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _sources_display(cls, data: Any) -> Any:
        """A condition that does not set ``show.sources`` follows the study's ``show_sources``."""
        if not isinstance(data, dict) or not isinstance(data.get("conditions"), list):
            return data
        try:
            sources = _BOOL.validate_python(data.get("show_sources", True))
        except ValidationError:
            return data  # the field's own validation reports it
        conditions = [
            {**c, "show": {"sources": sources, **(c.get("show") or {})}}
            if isinstance(c, dict) and isinstance(c.get("show") or {}, dict) else c
            for c in data["conditions"]
        ]
        return {**data, "conditions": conditions}

    @field_validator("name")
    @classmethod
    def _name_format(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", value):
            raise ValueError("must be 1-64 letters, digits, - or _")
        return value

    @field_validator("title")
    @classmethod
    def _title_limit(cls, value: str) -> str:
        return _at_most(value, limits.MAX_TITLE_CHARS)

    @field_validator("description", "consent_text")
    @classmethod
    def _text_limit(cls, value: str) -> str:
        return _at_most(value, limits.MAX_TEXT_CHARS)

    @field_validator("labels")
    @classmethod
    def _labels_limit(cls, value: list[str]) -> list[str]:
        if len(value) > limits.MAX_LABELS:
            raise ValueError(f"at most {limits.MAX_LABELS} labels are allowed")
        for i, label in enumerate(value):
            if not label.strip():
                raise ValueError(f"label {i + 1} is empty")
            if label != label.strip():
                raise ValueError(f"label {label!r} starts or ends with whitespace")
            _at_most(label, limits.MAX_LABEL_CHARS, f"label {i + 1}")
        return value

    @field_validator("conditions")
    @classmethod
    def _condition_texts(cls, value: list[Condition]) -> list[Condition]:
        for i, cond in enumerate(value):
            _at_most(cond.label, limits.MAX_TITLE_CHARS, f"{i}.label")
            _at_most(cond.instructions, limits.MAX_TEXT_CHARS, f"{i}.instructions")
            _at_most(cond.warning, limits.MAX_TEXT_CHARS, f"{i}.warning")
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


_Text = TypeVar("_Text", str, str | None)


def _at_most(value: _Text, limit: int, what: str = "") -> _Text:
    """``value`` unchanged, or ValueError when it is longer than ``limit`` characters."""
    if value is not None and len(value) > limit:
        raise ValueError(f"{what + ' ' if what else ''}is {len(value)} characters long; at most {limit} are allowed")
    return value



def _field_errors(err: ValidationError) -> list[FieldError]:
    return [FieldError(".".join(str(p) for p in e["loc"]) or "(top level)", e["msg"]) for e in err.errors()]


def _yaml_lines(text: str, errors: list[FieldError]) -> list[FieldError]:
    """The errors with the line of each field in ``text`` (its deepest existing parent
    when the field itself is missing); unchanged when the text cannot be walked."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError, ValueError):
        return errors
    out = []
    for error in errors:
        node, line = root, None
        for part in error.path.split(".") if error.path != "(top level)" else ():
            if isinstance(node, yaml.MappingNode):
                pair = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
                if pair is None:
                    break
                line, node = pair[0].start_mark.line + 1, pair[1]
            elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
                node = node.value[int(part)]
                line = node.start_mark.line + 1
            else:
                break
        out.append(FieldError(error.path, error.message, line))
    return out


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
        raise ConfigError(origin, [FieldError("", f"the config must be a mapping of settings, got {type(data).__name__}")])
    nul = _nul_field(data)
    if nul is not None:  # PostgreSQL text cannot hold NUL; it is never meant anyway
        raise ConfigError(origin, [FieldError(nul, "contains a NUL character")])
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(origin, _field_errors(err)) from None


def parse_config_text(text: str, origin: str = "<config>") -> StudyConfig:
    """Parse YAML text (JSON is YAML too) into a validated config.

    Field errors carry the line of the field in ``text`` (``FieldError.line``).
    """
    try:
        data = strict_yaml.load(text)
    except strict_yaml.DuplicateKeyError as err:
        problem = f"duplicate key {err.key!r} (first on line {err.first_line})"
        raise ConfigError(origin, [FieldError("", problem, err.line)]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(origin, [FieldError("", f"not valid YAML: {getattr(err, 'problem', err)}", line)]) from None
    except RecursionError:  # e.g. [[[[...]]]] thousands deep
        raise ConfigError(origin, [FieldError("", "not a usable config: nested too deeply")]) from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise ConfigError(origin, [FieldError("", f"not a usable config: {err}")]) from None
    try:
        return parse_config(data, origin)
    except ConfigError as err:
        if not any(e.path for e in err.errors):
            raise
        raise ConfigError(origin, _yaml_lines(text, err.errors)) from None


def load_config(path: str | Path) -> StudyConfig:
    """Load and validate a YAML study config file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), [FieldError("", "no such file")]) from None
    except UnicodeDecodeError as err:
        raise ConfigError(str(p), [FieldError("", f"not UTF-8 text ({err.reason} at byte {err.start})")]) from None
    return resolve_consent_file(parse_config_text(text, str(p)), p.parent, str(p))


def config_to_yaml(config: StudyConfig) -> str:
    """Serialise a config back to YAML (round-trips through :func:`parse_config_text`)."""
    text: str = yaml.safe_dump(config.model_dump(mode="json", by_alias=True), sort_keys=False, allow_unicode=True)
    return text
