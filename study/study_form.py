"""The "New study" form as data: form values -> config mapping -> validated StudyConfig.

The console's form is a thin skin over :class:`StudyForm`: it shows one widget per
field here, calls :func:`check_form` and shows each problem under the widget whose
``path`` (the config's dotted field path, e.g. ``conditions.1.key``) it names. Settings
the form does not show (consent text, exclusions, import and assistance settings...)
travel unchanged in ``StudyForm.rest``, so editing a draft through the form keeps them.
:func:`form_from_config` goes the other way (prefill, edit a draft). The comprehension
check is a form field too: ``comprehension`` switches it on, and its questions, attempts
and fail code become the config's ``comprehension:`` block (left out when it is off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from study.config import ConfigError, StudyConfig, config_to_yaml, parse_config, parse_config_text

__all__ = ["DISPLAY_PARTS", "ConditionForm", "FormCheck", "QuestionForm", "StudyForm", "check_form",
           "form_from_config", "form_to_data", "default_form"]

#: The display toggles of a condition (``Condition.show``), in form order.
DISPLAY_PARTS = ("label", "confidence", "reasoning", "quotes", "sources")
#: Top-level settings the form edits; everything else stays in ``StudyForm.rest``.
FORM_FIELDS = ("name", "title", "labels", "conditions", "design", "items_per_rater", "target_ratings_per_item",
               "practice_items", "attention_checks", "max_attention_failures", "time_limit_minutes", "completion",
               "bonus", "comprehension")


@dataclass
class ConditionForm:
    """One condition row of the form; ``show`` holds the five display toggles."""

    key: str
    assistance: str
    label: str = ""
    instructions: str = ""
    show: dict[str, bool] = field(default_factory=dict)


@dataclass
class QuestionForm:
    """One comprehension question of the form: the question, its options in order, the right one."""

    question: str = ""
    options: list[str] = field(default_factory=list)
    answer: str | None = None


@dataclass
class StudyForm:
    """Every value the form shows (names follow the config; see docs/study-config.md)."""

    name: str
    title: str = ""
    labels: list[str] = field(default_factory=lambda: ["correct", "incorrect"])
    conditions: list[ConditionForm] = field(default_factory=list)
    design_type: str = "between"
    two_stage: bool = False
    items_per_rater: int = 12
    target_ratings_per_item: int = 3
    practice_items: int = 2
    attention_checks: int = 1
    max_attention_failures: int = 0
    time_limit_minutes: int = 60
    code_completed: str = "COMPLETE"
    code_failed_attention: str = "ATTENTION"
    code_timed_out: str = "TIMEOUT"
    redirect_url: str = ""
    bonus_per_correct: float = 0.0
    bonus_currency: str = "GBP"
    bonus_max: float | None = None
    #: The comprehension check (``comprehension:``): on or off, its questions, attempts, fail code.
    comprehension: bool = False
    questions: list[QuestionForm] = field(default_factory=list)
    comprehension_attempts: int = 2
    comprehension_fail_code: str = "COMPREHENSION"
    #: Settings the form does not show (consent text, exclusions, assistance...), kept as they are.
    rest: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FormCheck:
    """The outcome of :func:`check_form`: the config when valid, else the problems by field path."""

    config: StudyConfig | None
    errors: dict[str, list[str]]
    yaml: str

    @property
    def ok(self) -> bool:
        return self.config is not None


def form_to_data(form: StudyForm) -> dict[str, Any]:
    """The config mapping the form describes (``rest`` merged in, form values win)."""
    completion = {**form.rest.get("completion", {}), "completed": form.code_completed,
                  "failed_attention": form.code_failed_attention, "timed_out": form.code_timed_out,
                  "redirect_url": form.redirect_url.strip() or None}
    bonus = {**form.rest.get("bonus", {}), "per_correct": form.bonus_per_correct,
             "currency": form.bonus_currency.strip().upper(), "max": form.bonus_max}
    data: dict[str, Any] = {k: v for k, v in form.rest.items() if k not in FORM_FIELDS}
    data.update({
        "name": form.name.strip(), "title": form.title.strip(),
        "labels": [lab.strip() for lab in form.labels if lab.strip()],
        "conditions": [_condition_data(c) for c in form.conditions],
        "design": {"type": form.design_type, "two_stage": form.two_stage},
        "items_per_rater": form.items_per_rater, "target_ratings_per_item": form.target_ratings_per_item,
        "practice_items": form.practice_items, "attention_checks": form.attention_checks,
        "max_attention_failures": form.max_attention_failures, "time_limit_minutes": form.time_limit_minutes,
        "completion": completion, "bonus": bonus,
    })
    if form.comprehension:
        data["comprehension"] = _comprehension_data(form)
    return data


def _comprehension_data(form: StudyForm) -> dict[str, Any]:
    """The ``comprehension:`` block: blank options are dropped, text is stripped."""
    questions = []
    for q in form.questions:
        options = [o.strip() for o in q.options if o.strip()]
        questions.append({"question": q.question.strip(), "options": options,
                          "answer": q.answer.strip() if isinstance(q.answer, str) else q.answer})
    return {"questions": questions, "attempts": form.comprehension_attempts,
            "fail_code": form.comprehension_fail_code.strip()}


def _condition_data(cond: ConditionForm) -> dict[str, Any]:
    out: dict[str, Any] = {"key": cond.key.strip(), "assistance": cond.assistance, "label": cond.label.strip()}
    if cond.instructions.strip():
        out["instructions"] = cond.instructions.strip()
    if cond.show:
        out["show"] = {p: bool(cond.show[p]) for p in DISPLAY_PARTS if p in cond.show}
    return out


_TOP_MESSAGE = re.compile(r"^(?:Value error, )?([a-z_]+(?:\.[A-Za-z0-9_]+)*): (.*)$")


def _errors_by_field(err: ConfigError) -> dict[str, list[str]]:
    """Problems keyed by the dotted config path; model-level ones by the field they name."""
    out: dict[str, list[str]] = {}
    for e in err.errors:
        path, message = e.path, e.message
        if path in ("", "(top level)"):
            match = _TOP_MESSAGE.match(message)
            path, message = (match.group(1), match.group(2)) if match else ("(form)", message)
        out.setdefault(path, []).append(message.removeprefix("Value error, "))
    return out


def check_form(form: StudyForm) -> FormCheck:
    """Validate the form: the config and its YAML when valid, else every problem by field path."""
    data = form_to_data(form)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        config = parse_config(data, "form")
    except ConfigError as err:
        errors = _errors_by_field(err)
        for i, q in enumerate(form.questions if form.comprehension else []):
            if q.answer is None and f"comprehension.questions.{i}.answer" in errors:
                errors[f"comprehension.questions.{i}.answer"] = ["choose the right answer (one of the options)"]
        return FormCheck(None, errors, text)
    return FormCheck(config, {}, config_to_yaml(config))


def form_from_config(config: StudyConfig) -> StudyForm:
    """The form showing ``config`` (every setting it does not show goes to ``rest``)."""
    data = config.model_dump(mode="json", by_alias=True)
    completion, bonus, check = config.completion, config.bonus, config.comprehension
    return StudyForm(
        name=config.name, title=config.title, labels=list(config.labels),
        conditions=[ConditionForm(c.key, c.assistance, c.label, c.instructions, c.show.model_dump())
                    for c in config.conditions],
        design_type=config.design.type, two_stage=config.design.two_stage,
        items_per_rater=config.items_per_rater, target_ratings_per_item=config.target_ratings_per_item,
        practice_items=config.practice_items, attention_checks=config.attention_checks,
        max_attention_failures=config.max_attention_failures, time_limit_minutes=config.time_limit_minutes,
        code_completed=completion.completed, code_failed_attention=completion.failed_attention,
        code_timed_out=completion.timed_out, redirect_url=completion.redirect_url or "",
        bonus_per_correct=bonus.per_correct, bonus_currency=bonus.currency, bonus_max=bonus.max,
        comprehension=check is not None,
        questions=[QuestionForm(q.question, list(q.options), q.answer) for q in check.questions] if check else [],
        comprehension_attempts=check.attempts if check else 2,
        comprehension_fail_code=check.fail_code if check else "COMPREHENSION",
        rest={k: v for k, v in data.items() if k not in FORM_FIELDS or k in ("completion", "bonus")},
    )


def default_form(template: str) -> StudyForm:
    """The form prefilled from a YAML template (the console's ``CONFIG_TEMPLATE``)."""
    return form_from_config(parse_config_text(template, "template"))
