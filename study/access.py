"""Who may enter a study: the link and enrolment settings of the study config.

:class:`RaterAccess` holds the top-level config fields ``links``, ``prolific``,
``unconsented_expiry_minutes`` and ``enrol_limit``; :class:`study.config.StudyConfig`
inherits them (they are documented with the other settings in docs/study-config.md).
They are used by :mod:`study.links` (signed links) and :mod:`study.rater.enrolment`
(places taken at consent, the sweep of unconsented visits, the per-client limit).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EnrolLimit", "RaterAccess"]


class EnrolLimit(BaseModel):
    """How many new raters one client (address) may enrol, per window (0: no limit)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    per_client: int = Field(default=20, ge=0, le=100_000, description="New enrolments per client per window; 0 = no limit.")
    minutes: int = Field(default=10, ge=1, le=24 * 60, description="The window, in minutes.")


class RaterAccess(BaseModel):
    """The study config's access settings (a base of :class:`study.config.StudyConfig`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    links: Literal["open", "signed"] = Field(
        default="open", description="`signed`: rater links must carry a signature (`oversight links`); see docs/security.md.")
    prolific: bool = Field(
        default=False, description="With `links: signed`, also accept Prolific's own links (`PROLIFIC_PID`) unsigned.")
    unconsented_expiry_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="Visits that never consented are deleted after this idle time.")
    enrol_limit: EnrolLimit = Field(default_factory=EnrolLimit, description="New enrolments per client (rate limit).")
