"""oversight-lab study package: config, persistence, service layer, export, CLI, UI."""

from study.assignment import StudyFull
from study.config import ConfigError, StudyConfig, load_config, parse_config, parse_config_text
from study.db import get_engine, resolve_url, upgrade
from study.raters import Enrolment, ItemView, RaterView, SubmitResult, consent, enrol, finish, log_event, rater_view, start, submit_initial, submit_judgment
from study.service import (
    AssistanceRow,
    ServiceError,
    add_assistance,
    assistance_status,
    create_study,
    expire_raters,
    get_config,
    get_study,
    import_items,
    list_studies,
    missing_assistance,
    set_status,
    study_items,
)

__all__ = [
    "AssistanceRow",
    "ConfigError",
    "Enrolment",
    "ItemView",
    "RaterView",
    "ServiceError",
    "StudyConfig",
    "StudyFull",
    "SubmitResult",
    "add_assistance",
    "assistance_status",
    "consent",
    "create_study",
    "enrol",
    "expire_raters",
    "finish",
    "get_config",
    "get_engine",
    "get_study",
    "import_items",
    "list_studies",
    "load_config",
    "log_event",
    "missing_assistance",
    "parse_config",
    "parse_config_text",
    "rater_view",
    "resolve_url",
    "set_status",
    "start",
    "study_items",
    "submit_initial",
    "submit_judgment",
    "upgrade",
]
