"""Experimenter console (behind the experimenter secret).

Sections (one module each): monitor, participants, set up (item bank, assistance, AI
quality), preview (the whole flow), export, manage (clone, edit, delete), new study
(form or YAML). Every action calls ``study.service``, ``study.studies``,
``study.review``, ``study.assist`` or ``study.export``, every number comes from
``study.monitor`` / ``study.participants``: these modules only lay them out
(docs/console.md). ``page.SECTIONS`` lists the sections.
"""

from __future__ import annotations

from study.ui.console.base import ConsoleState
from study.ui.console.new_study import CONFIG_TEMPLATE
from study.ui.console.new_study import config_errors as _config_errors
from study.ui.console.page import SECTIONS, console_page

__all__ = ["CONFIG_TEMPLATE", "SECTIONS", "ConsoleState", "_config_errors", "console_page"]
