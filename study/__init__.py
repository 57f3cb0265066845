"""oversight-lab study package: config, persistence, service layer, export, CLI, UI.

The names below load their module on first use (PEP 562 ``__getattr__``), so that
``import study.cli`` for a command that needs no database does not import SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from study.assignment import StudyFull
    from study.config import ConfigError, StudyConfig, load_config, parse_config, parse_config_text
    from study.db import get_engine, resolve_url, upgrade
    from study.rater import (
        Enrolment,
        ItemView,
        RaterView,
        SubmitResult,
        consent,
        enrol,
        finish,
        log_event,
        rater_view,
        start,
        submit_initial,
        submit_judgment,
    )
    from study.service import (
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

_LAZY = {
    "StudyFull": "study.assignment",
    "ConfigError": "study.config",
    "StudyConfig": "study.config",
    "load_config": "study.config",
    "parse_config": "study.config",
    "parse_config_text": "study.config",
    "get_engine": "study.db",
    "resolve_url": "study.db",
    "upgrade": "study.db",
    "Enrolment": "study.rater",
    "ItemView": "study.rater",
    "RaterView": "study.rater",
    "SubmitResult": "study.rater",
    "consent": "study.rater",
    "enrol": "study.rater",
    "finish": "study.rater",
    "log_event": "study.rater",
    "rater_view": "study.rater",
    "start": "study.rater",
    "submit_initial": "study.rater",
    "submit_judgment": "study.rater",
    "ServiceError": "study.service",
    "add_assistance": "study.service",
    "assistance_status": "study.service",
    "create_study": "study.service",
    "expire_raters": "study.service",
    "get_config": "study.service",
    "get_study": "study.service",
    "import_items": "study.service",
    "list_studies": "study.service",
    "missing_assistance": "study.service",
    "set_status": "study.service",
    "study_items": "study.service",
}


def __getattr__(name: str) -> Any:
    """A public name of the package, imported from its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = [
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
