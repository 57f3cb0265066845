"""ORM models: the study's domain as tables (SQLAlchemy 2, typed ``Mapped[]``).

study -> condition, item (-> assistance), rater (-> assignment -> judgment), event.
Invariants the database enforces (not process memory): one judgment per
(rater, item), one assignment per (rater, item), one assistance row per
(item, kind), one rater per (study, external id).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tasks import limits as L

#: Kinds of the stored assistance rows (declared once in :mod:`tasks.assistance.kinds`).
from tasks.assistance.kinds import ASSISTANCE_ROW_KINDS as ASSISTANCE_ROW_KINDS

STUDY_STATUSES = ("draft", "live", "paused", "closed")
RATER_STATUSES = ("enrolled", "active", "completed", "failed_attention", "timed_out", "withdrawn")
#: Rater statuses that end a session (no more judgments accepted).
FINAL_RATER_STATUSES = ("completed", "failed_attention", "timed_out", "withdrawn")


def utcnow() -> datetime:
    """Timezone-aware UTC now (stored as naive UTC for SQLite/PostgreSQL parity)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Study(Base):
    __tablename__ = "study"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(L.MAX_STUDY_NAME), unique=True)
    title: Mapped[str] = mapped_column(String(L.MAX_TITLE_CHARS), default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: Bumped under a row lock by every enrolment: serialises balancing decisions.
    enrol_counter: Mapped[int] = mapped_column(Integer, default=0)

    conditions: Mapped[list[Condition]] = relationship(back_populates="study", order_by="Condition.position", lazy="selectin")
    items: Mapped[list[Item]] = relationship(back_populates="study")


class Condition(Base):
    __tablename__ = "condition"
    __table_args__ = (UniqueConstraint("study_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(L.MAX_CONDITION_KEY))
    assistance: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)

    study: Mapped[Study] = relationship(back_populates="conditions")


class Item(Base):
    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("study_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(L.MAX_ITEM_ID))
    role: Mapped[str] = mapped_column(String(20), default="main")
    claim: Mapped[str] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text, nullable=True)
    gold_label: Mapped[str] = mapped_column(String(L.MAX_LABEL_CHARS))
    #: The validated item-bank row (incl. any AI fields made elsewhere).
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    import_batch: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    study: Mapped[Study] = relationship(back_populates="items")
    sources: Mapped[list[Source]] = relationship(back_populates="item", order_by="Source.position")


class Source(Base):
    __tablename__ = "source"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_pk: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)

    item: Mapped[Item] = relationship(back_populates="sources")


class Assistance(Base):
    """Frozen AI assistance for one item and kind, with provenance."""

    __tablename__ = "assistance"
    __table_args__ = (UniqueConstraint("item_pk", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    item_pk: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    generator: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(Text, default="")
    model_version: Mapped[str] = mapped_column(String(100), default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    package_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    content_hash: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Rater(Base):
    __tablename__ = "rater"
    __table_args__ = (UniqueConstraint("study_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(L.MAX_EXTERNAL_ID))
    prolific_pid: Mapped[str | None] = mapped_column(String(L.MAX_PROLIFIC_ID), nullable=True)
    prolific_study_id: Mapped[str | None] = mapped_column(String(L.MAX_PROLIFIC_ID), nullable=True)
    prolific_session_id: Mapped[str | None] = mapped_column(String(L.MAX_PROLIFIC_ID), nullable=True)
    token: Mapped[str] = mapped_column(String(L.MAX_TOKEN), unique=True)
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id"), nullable=True)
    #: Within-subjects: condition keys in block order; between: [the condition].
    condition_order: Mapped[list[Any]] = mapped_column(JSON, default=list)
    debate_flip: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="enrolled", index=True)
    attention_failures: Mapped[int] = mapped_column(Integer, default=0)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    consented_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    exit_answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: A test rater (made by the experimenter): kept out of balancing, the monitor,
    #: the export and the analysis unless asked for.
    is_test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    condition: Mapped[Condition | None] = relationship()
    assignments: Mapped[list[Assignment]] = relationship(back_populates="rater", order_by="Assignment.position")


class Assignment(Base):
    """One item a rater will judge, at a position, in a stage (practice or main)."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("rater_id", "item_pk"),
        UniqueConstraint("rater_id", "position"),
        Index("ix_assignment_item_condition", "item_pk", "condition_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("rater.id", ondelete="CASCADE"))
    item_pk: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id"))
    position: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16))  # practice | main
    is_attention_check: Mapped[bool] = mapped_column(Boolean, default=False)
    shown_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    initial_label: Mapped[str | None] = mapped_column(String(L.MAX_LABEL_CHARS), nullable=True)
    initial_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    initial_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    rater: Mapped[Rater] = relationship(back_populates="assignments")
    item: Mapped[Item] = relationship()
    condition: Mapped[Condition] = relationship()
    judgment: Mapped[Judgment | None] = relationship(back_populates="assignment", uselist=False)


class Judgment(Base):
    """A rater's final answer on one item. Unique per (rater, item)."""

    __tablename__ = "judgment"
    __table_args__ = (UniqueConstraint("rater_id", "item_pk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), unique=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("rater.id", ondelete="CASCADE"), index=True)
    item_pk: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(L.MAX_LABEL_CHARS))
    confidence: Mapped[float] = mapped_column(Float)
    initial_label: Mapped[str | None] = mapped_column(String(L.MAX_LABEL_CHARS), nullable=True)
    initial_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    time_ms: Mapped[int] = mapped_column(Integer)
    active_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    client_submitted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: Idempotency key from the client: a resubmitted form carries the same one.
    submission_key: Mapped[str | None] = mapped_column(String(L.MAX_SUBMISSION_KEY), nullable=True)

    assignment: Mapped[Assignment] = relationship(back_populates="judgment")


class Event(Base):
    """Something a rater did or saw (page view, reveal, quote expand, reload, ...)."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("rater.id", ondelete="CASCADE"), nullable=True, index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(L.MAX_EVENT_KIND))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
