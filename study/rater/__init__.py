"""The rater side of the study: enrol, view, answer, finish.

This package is the one public surface for everything a rater does; the UI, the
CLI, simulated raters and the benchmarks all call it, so a simulation exercises
exactly what a human rater does. It writes the raters, their assignments,
judgments and events (:mod:`study.service` writes studies, items and assistance).

- :mod:`~study.rater.enrolment`: enrol a rater, choose the condition, plan items;
- :mod:`~study.rater.view`: the rater's screen, the item screen, the preview;
- :mod:`~study.rater.answers`: consent, start, initial and final answers, exit
  questionnaire, client events;
- :mod:`~study.rater.rules`: the deadline, the refusal of an answer, which raters
  hold a slot, and which condition a rater (and each item) is in.
"""

from study.rater.answers import SubmitResult, consent, finish, log_event, start, submit_initial, submit_judgment
from study.rater.enrolment import (
    MAX_EXTERNAL_ID,
    MAX_PROLIFIC_ID,
    Enrolment,
    enrol,
    plan_for_new_rater,
    sweep_unconsented,
)
from study.rater.rules import (
    alive_clause,
    assignment_condition_key,
    deadline,
    effective_status,
    rater_condition,
    rater_condition_key,
    refusal,
)
from study.rater.throttle import EnrolmentThrottled
from study.rater.view import ItemView, RaterView, preview_item, rater_view

__all__ = [
    "MAX_EXTERNAL_ID",
    "MAX_PROLIFIC_ID",
    "Enrolment",
    "EnrolmentThrottled",
    "ItemView",
    "RaterView",
    "SubmitResult",
    "alive_clause",
    "assignment_condition_key",
    "consent",
    "deadline",
    "effective_status",
    "enrol",
    "finish",
    "log_event",
    "plan_for_new_rater",
    "preview_item",
    "rater_condition",
    "rater_condition_key",
    "rater_view",
    "refusal",
    "start",
    "submit_initial",
    "submit_judgment",
    "sweep_unconsented",
]
