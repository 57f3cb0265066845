"""Read-only monitor statistics of a running study, as tidy DataFrames.

The experimenter console shows these; the CLI and notebooks can call them too. Every
count is computed in SQL (one query per table) on the same tables the service layer
writes; nothing here writes. Median times are taken in pandas because SQLite has no
median aggregate.

Rater states in the monitor (one per rater, so the columns of :func:`rater_counts`
add up to ``started``):

- ``in_progress``: enrolled or active and still inside the time limit;
- ``completed``: answered every assigned item;
- ``dropped``: withdrew (declined consent), timed out, or is past the time limit
  without having been marked yet (they can no longer submit);
- ``failed_attention``: the session ended on attention-check failures.

``excluded`` counts raters the study's ``exclusions`` rules drop from analysis
(status in ``exclude_statuses``, or more attention failures than allowed); it
overlaps the columns above. A rater's condition is read through
:func:`study.rater.rules.rater_condition_key` (within-subjects raters are counted
under their first block); per-item tables use the item's own condition
(:func:`study.rater.rules.assignment_condition_key`). The study config is the cached
typed one (:func:`study.service.study_config`), read once per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pandas as pd
from sqlalchemy import Engine, case, func, literal, or_, select
from sqlalchemy.orm import Session

from study import models as m
from study.config import StudyConfig
from study.db import read_session
from study.rater import RaterView, preview_item
from study.rater import rules as counting
from study.rater.rules import OPEN_STATUSES, assignment_condition_key, effective_status, rater_condition_key
from study.service import _study, needed_kinds, study_config

__all__ = [
    "MonitorSnapshot",
    "assistance_needs",
    "item_bank_summary",
    "item_roles",
    "StudyLinks",
    "assistance_provenance",
    "attention_summary",
    "condition_balance",
    "item_preview",
    "item_progress",
    "progress_summary",
    "rater_counts",
    "recent_activity",
    "snapshot",
    "study_links",
]

#: Columns of :func:`rater_counts`.
RATER_COLUMNS = ["condition", "started", "in_progress", "completed", "dropped", "failed_attention", "excluded"]
#: Columns of :func:`item_progress`.
ITEM_COLUMNS = ["condition", "item_id", "ratings", "target", "remaining", "median_time_s"]
#: Columns of :func:`progress_summary`.
PROGRESS_COLUMNS = ["condition", "items", "target_per_item", "ratings", "items_at_target",
                    "min_ratings", "median_ratings", "share_done", "median_time_s"]
#: Columns of :func:`attention_summary`.
ATTENTION_COLUMNS = ["condition", "checks_answered", "checks_failed", "raters_with_failures", "raters_ended"]
#: Columns of :func:`condition_balance`.
BALANCE_COLUMNS = ["condition", "raters", "holding_slot", "share", "expected_share", "deviation"]
#: Columns of :func:`recent_activity`.
ACTIVITY_COLUMNS = ["time", "rater_id", "condition", "item_id", "event"]
#: Columns of :func:`assistance_provenance`.
PROVENANCE_COLUMNS = ["kind", "generator", "model", "model_version", "seed", "parameters", "rows"]

_DROPPED = ("withdrawn", "timed_out")
_OPEN = OPEN_STATUSES


def _now(now: datetime | None) -> datetime:
    return now or m.utcnow()


def _excluded_clause(config: StudyConfig, status: Any) -> Any:
    rules = config.exclusions
    clauses = [status.in_(rules.exclude_statuses)] if rules.exclude_statuses else []
    if rules.drop_failed_attention:
        clauses.append(m.Rater.attention_failures > rules.max_attention_failures)
    return or_(*clauses) if clauses else literal(False)


def _keys(config: StudyConfig) -> list[str]:
    """The study's condition keys in config order."""
    return [c.key for c in config.conditions]


def _rater_key() -> Any:
    return rater_condition_key().label("condition")


def _item_key() -> Any:
    return assignment_condition_key().label("condition")


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _rater_counts(s: Session, study: m.Study, config: StudyConfig, now: datetime) -> pd.DataFrame:
    status = effective_status(config, now)
    key = _rater_key()
    rows = s.execute(
        select(
            key,
            func.count(m.Rater.id).label("started"),
            _count(status.in_(_OPEN)).label("in_progress"),
            _count(status == "completed").label("completed"),
            _count(status.in_(_DROPPED)).label("dropped"),
            _count(status == "failed_attention").label("failed_attention"),
            _count(_excluded_clause(config, status)).label("excluded"),
        )
        .where(m.Rater.study_id == study.id, counting.counted_rater())
        .group_by(key)
    ).mappings().all()
    by_key = {r["condition"]: r for r in rows}
    records = [[k, *(int(by_key[k][c]) if k in by_key else 0 for c in RATER_COLUMNS[1:])] for k in _keys(config)]
    return pd.DataFrame(records, columns=RATER_COLUMNS)


def rater_counts(engine: Engine, name: str, now: datetime | None = None) -> pd.DataFrame:
    """Raters per condition: started, in_progress, completed, dropped, failed_attention, excluded."""
    with read_session(engine) as s:
        study = _study(s, name)
        return _rater_counts(s, study, study_config(s, study), _now(now))


def _main_judgment_rows(s: Session, study: m.Study) -> pd.DataFrame:
    """(condition, item_id, time_ms) for every judgment on a main, non-attention item."""
    rows = s.execute(
        select(_item_key(), m.Item.item_id, m.Judgment.time_ms)
        .join(m.Assignment, m.Assignment.id == m.Judgment.assignment_id)
        .join(m.Item, m.Item.id == m.Judgment.item_pk)
        .where(m.Item.study_id == study.id, m.Assignment.stage == "main", m.Assignment.is_attention_check.is_(False), counting.counted_judgment())
    ).all()
    return pd.DataFrame(rows, columns=["condition", "item_id", "time_ms"])


def _item_progress(s: Session, study: m.Study, config: StudyConfig) -> pd.DataFrame:
    items = list(s.scalars(
        select(m.Item.item_id).where(m.Item.study_id == study.id, m.Item.role == "main").order_by(m.Item.id)
    ))
    key = _item_key()
    counts = s.execute(
        select(key, m.Item.item_id, func.count(m.Judgment.id))
        .join(m.Assignment, m.Assignment.id == m.Judgment.assignment_id)
        .join(m.Item, m.Item.id == m.Judgment.item_pk)
        .where(m.Item.study_id == study.id, m.Assignment.stage == "main", m.Assignment.is_attention_check.is_(False), counting.counted_judgment())
        .group_by(key, m.Item.item_id)
    ).all()
    n = {(c, i): int(k) for c, i, k in counts}
    times = _main_judgment_rows(s, study).groupby(["condition", "item_id"])["time_ms"].median()
    target = config.target_ratings_per_item
    records = []
    for key in _keys(config):
        for item_id in items:
            ratings = n.get((key, item_id), 0)
            t = times.get((key, item_id))
            records.append([key, item_id, ratings, target, max(0, target - ratings),
                            None if t is None or pd.isna(t) else float(t) / 1000.0])
    return pd.DataFrame(records, columns=ITEM_COLUMNS)


def item_progress(engine: Engine, name: str) -> pd.DataFrame:
    """Ratings per (condition, main item) against the target, and median seconds per rating."""
    with read_session(engine) as s:
        study = _study(s, name)
        return _item_progress(s, study, study_config(s, study))


def _progress_summary(items: pd.DataFrame, times: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    records = []
    for key in keys:
        part = items[items["condition"] == key]
        t = times.loc[times["condition"] == key, "time_ms"]
        target = int(part["target"].iloc[0]) if len(part) else 0
        wanted = target * len(part)
        done = int(part["ratings"].clip(upper=target).sum()) if len(part) else 0
        records.append([
            key, len(part), target, int(part["ratings"].sum()), int((part["ratings"] >= target).sum()),
            int(part["ratings"].min()) if len(part) else 0,
            float(part["ratings"].median()) if len(part) else 0.0,
            done / wanted if wanted else 0.0,
            float(t.median()) / 1000.0 if len(t) else None,
        ])
    return pd.DataFrame(records, columns=PROGRESS_COLUMNS)


def progress_summary(engine: Engine, name: str) -> pd.DataFrame:
    """Per condition: items, ratings, items at target, share done, median seconds per rating.

    ``share_done`` = sum(min(ratings, target)) / (items * target).
    """
    with read_session(engine) as s:
        study = _study(s, name)
        config = study_config(s, study)
        items = _item_progress(s, study, config)
        return _progress_summary(items, _main_judgment_rows(s, study), _keys(config))


def _attention_summary(s: Session, study: m.Study, config: StudyConfig) -> pd.DataFrame:
    item_key, rater_key = _item_key(), _rater_key()
    checks = dict(
        (key, (int(n), int(bad))) for key, n, bad in s.execute(
            select(item_key, func.count(m.Judgment.id), _count(m.Judgment.label != m.Item.gold_label))
            .join(m.Assignment, m.Assignment.id == m.Judgment.assignment_id)
            .join(m.Item, m.Item.id == m.Judgment.item_pk)
            .where(m.Item.study_id == study.id, m.Assignment.is_attention_check.is_(True), counting.counted_judgment())
            .group_by(item_key)
        ).all()
    )
    raters = dict(
        (key, (int(a), int(b))) for key, a, b in s.execute(
            select(rater_key, _count(m.Rater.attention_failures > 0), _count(m.Rater.status == "failed_attention"))
            .where(m.Rater.study_id == study.id, counting.counted_rater())
            .group_by(rater_key)
        ).all()
    )
    records = [[key, *checks.get(key, (0, 0)), *raters.get(key, (0, 0))] for key in _keys(config)]
    return pd.DataFrame(records, columns=ATTENTION_COLUMNS)


def attention_summary(engine: Engine, name: str) -> pd.DataFrame:
    """Attention checks answered and failed per condition (of the check), raters with a
    failure and raters whose session ended on failures (per the rater's condition)."""
    with read_session(engine) as s:
        study = _study(s, name)
        return _attention_summary(s, study, study_config(s, study))


def _balance(counts: pd.DataFrame, s: Session, study: m.Study, config: StudyConfig, now: datetime) -> pd.DataFrame:
    status = effective_status(config, now)
    key = _rater_key()
    holding = dict(
        (k, int(n)) for k, n in s.execute(
            select(key, func.count(m.Rater.id))
            .where(m.Rater.study_id == study.id, counting.counted_rater(), m.Rater.condition_id.is_not(None), status.in_((*_OPEN, "completed")))
            .group_by(key)
        ).all()
    )
    total = sum(holding.values())
    expected = 1.0 / len(counts) if len(counts) else 0.0
    out = pd.DataFrame({"condition": counts["condition"], "raters": counts["started"]})
    out["holding_slot"] = [holding.get(k, 0) for k in out["condition"]]
    out["share"] = out["holding_slot"] / total if total else 0.0
    out["expected_share"] = expected
    out["deviation"] = out["share"] - expected if total else 0.0
    return out[BALANCE_COLUMNS]


def condition_balance(engine: Engine, name: str, now: datetime | None = None) -> pd.DataFrame:
    """Raters per condition and the share holding a slot (completed or in progress, the
    count the balancer equalises) against an equal split."""
    with read_session(engine) as s:
        study = _study(s, name)
        config = study_config(s, study)
        counts = _rater_counts(s, study, config, _now(now))
        return _balance(counts, s, study, config, _now(now))


def _recent(s: Session, study: m.Study, limit: int) -> pd.DataFrame:
    rows = s.execute(
        select(m.Event.created_at, m.Rater.external_id,
               func.coalesce(assignment_condition_key(), rater_condition_key()), m.Item.item_id, m.Event.kind)
        .outerjoin(m.Rater, m.Rater.id == m.Event.rater_id)
        .outerjoin(m.Assignment, m.Assignment.id == m.Event.assignment_id)
        .outerjoin(m.Item, m.Item.id == m.Assignment.item_pk)
        .where(m.Event.study_id == study.id)
        .order_by(m.Event.id.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=ACTIVITY_COLUMNS)


def recent_activity(engine: Engine, name: str, limit: int = 20) -> pd.DataFrame:
    """The latest ``limit`` events, newest first: time (UTC), rater, condition, item, event kind."""
    with read_session(engine) as s:
        return _recent(s, _study(s, name), limit)


@dataclass(frozen=True)
class MonitorSnapshot:
    """Every monitor table of one study at one moment (what the console shows)."""

    study: str
    status: str
    taken_at: datetime
    raters: pd.DataFrame
    progress: pd.DataFrame
    items: pd.DataFrame
    attention: pd.DataFrame
    balance: pd.DataFrame
    activity: pd.DataFrame

    @property
    def judgments(self) -> int:
        """Judgments on main items (practice and attention checks left out)."""
        return int(self.progress["ratings"].sum())

    @property
    def share_done(self) -> float:
        """Share of the wanted ratings (items x conditions x target) that exist."""
        wanted = int((self.progress["items"] * self.progress["target_per_item"]).sum())
        done = int(self.items["ratings"].clip(upper=self.items["target"]).sum())
        return done / wanted if wanted else 0.0


def snapshot(engine: Engine, name: str, now: datetime | None = None, activity: int = 20) -> MonitorSnapshot:
    """All monitor tables from one read transaction (consistent with each other)."""
    when = _now(now)
    with read_session(engine) as s:
        study = _study(s, name)
        config = study_config(s, study)
        keys = _keys(config)
        counts = _rater_counts(s, study, config, when)
        items = _item_progress(s, study, config)
        return MonitorSnapshot(
            study=study.name,
            status=study.status,
            taken_at=when,
            raters=counts,
            progress=_progress_summary(items, _main_judgment_rows(s, study), keys),
            items=items,
            attention=_attention_summary(s, study, config),
            balance=_balance(counts, s, study, config, when),
            activity=_recent(s, study, activity),
        )


def assistance_provenance(engine: Engine, name: str) -> pd.DataFrame:
    """Stored assistance rows grouped by kind and provenance (generator, model, version, seed)."""
    with read_session(engine) as s:
        study = _study(s, name)
        rows = s.execute(
            select(m.Assistance.kind, m.Assistance.generator, m.Assistance.model, m.Assistance.model_version,
                   m.Assistance.seed, m.Assistance.parameters)
            .where(m.Assistance.study_id == study.id)
            .order_by(m.Assistance.kind, m.Assistance.id)
        ).all()
    frame = pd.DataFrame(rows, columns=PROVENANCE_COLUMNS[:-1])
    if frame.empty:
        return pd.DataFrame(columns=PROVENANCE_COLUMNS)
    frame["parameters"] = frame["parameters"].map(lambda p: ", ".join(f"{k}={v}" for k, v in sorted((p or {}).items())))
    keys = PROVENANCE_COLUMNS[:-1]
    return frame.groupby(keys, sort=False, dropna=False).size().reset_index(name="rows")[PROVENANCE_COLUMNS]


def item_bank_summary(engine: Engine, name: str) -> pd.DataFrame:
    """Items per role, and how many carry AI fields made elsewhere (``ai_label`` set)."""
    with read_session(engine) as s:
        study = _study(s, name)
        external = m.Item.data["ai_label"].as_string().is_not(None)
        rows = dict(
            (role, (int(n), int(ext))) for role, n, ext in s.execute(
                select(m.Item.role, func.count(), _count(external)).where(m.Item.study_id == study.id)
                .group_by(m.Item.role)
            ).all()
        )
    roles = ("main", "practice", "attention_check")
    return pd.DataFrame([[r, *rows.get(r, (0, 0))] for r in roles], columns=["role", "items", "with_ai_fields"])


def item_roles(engine: Engine, name: str) -> dict[str, str]:
    """item_id -> role, in import order."""
    with read_session(engine) as s:
        study = _study(s, name)
        return dict(s.execute(
            select(m.Item.item_id, m.Item.role).where(m.Item.study_id == study.id).order_by(m.Item.id)
        ).all())


def assistance_needs(engine: Engine, name: str) -> pd.DataFrame:
    """Per assistance kind the study needs (the AI verdict plus each condition's kind):
    rows needed (one per non-attention item), stored and missing."""
    with read_session(engine) as s:
        study = _study(s, name)
        kinds = needed_kinds(study_config(s, study))
        needed = s.scalar(select(func.count()).where(m.Item.study_id == study.id, m.Item.role != "attention_check"))
        stored = dict(
            (kind, int(n)) for kind, n in s.execute(
                select(m.Assistance.kind, func.count()).join(m.Item, m.Item.id == m.Assistance.item_pk)
                .where(m.Assistance.study_id == study.id, m.Item.role != "attention_check")
                .group_by(m.Assistance.kind)
            ).all()
        )
    n = int(needed or 0)
    rows = [[k, n, stored.get(k, 0), max(0, n - stored.get(k, 0))] for k in kinds]
    return pd.DataFrame(rows, columns=["kind", "needed", "stored", "missing"])


@dataclass(frozen=True)
class StudyLinks:
    """Links that open the rater page of a study."""

    plain: str  #: replace RATER_ID by each rater's id
    prolific: str  #: paste into Prolific as the study URL (it fills the placeholders)
    completion: str | None  #: where a rater is sent at the end (from the config), if set


def study_links(name: str, base_url: str, completion_url: str | None = None) -> StudyLinks:
    """Plain and Prolific links for ``name`` served at ``base_url`` (e.g. https://host:8501)."""
    base = base_url.rstrip("/") + "/"
    study = quote(name, safe="")
    prolific = "&".join(f"{p}={{{{%{p}%}}}}" for p in ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"))
    return StudyLinks(plain=f"{base}?study={study}&rater=RATER_ID", prolific=f"{base}?study={study}&{prolific}",
                      completion=completion_url)


def item_preview(engine: Engine, name: str, item_id: str, condition: str, *, debate_flip: bool = False,
                 initial: tuple[str, float] | None = None) -> RaterView:
    """The item screen a rater in ``condition`` gets for ``item_id`` (nothing is recorded).

    Built from the same rows as :func:`study.rater.rater_view`: the assistance of the
    condition's kind (none for attention checks), debate sides swapped when
    ``debate_flip`` (raters alternate). ``initial`` = (label, confidence) shows a
    two-stage trial after the first answer, i.e. with the assistance revealed.
    The item's ``assignment_id`` is 0.
    """
    with read_session(engine) as s:
        study = _study(s, name)
        config = study_config(s, study)
        cond = config.condition(condition)
        item = s.execute(select(m.Item.id, m.Item.role).where(
            m.Item.study_id == study.id, m.Item.item_id == item_id)).one()
        view = preview_item(s.connection(), config, item.id, item.role, cond.key,
                            debate_flip=debate_flip, initial=initial)
    n_practice = config.practice_items
    return RaterView(
        study_name=study.name, study_title=study.title, screen="item", status="active", condition=cond.key,
        assistance_kind=cond.assistance, condition_instructions=cond.instructions, two_stage=config.design.two_stage,
        labels=list(config.labels), confidence_min=config.confidence.min, confidence_max=config.confidence.max,
        confidence_step=config.confidence.step, show_sources=config.show_sources,
        position=0 if view.stage == "practice" else n_practice,
        total=n_practice + config.items_per_rater + config.attention_checks, n_practice=n_practice,
        item=view, consent_text=config.consent_text, extra={"design": config.design.type},
    )
