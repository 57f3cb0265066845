"""The participants table of the console: one row per rater, with the review.

:func:`participants` is read-only (like :mod:`study.monitor`): one SQL query for the
raters, one for their judgment totals, and the review events (:mod:`study.review`).
Columns (:data:`PARTICIPANT_COLUMNS`):

- ``rater_id``, ``prolific_pid``, ``prolific_study_id``, ``prolific_session_id``;
- ``condition`` (within-subjects: the first block), ``status`` (open raters past the
  time limit count as ``timed_out``, as in the monitor);
- ``judged``, ``assigned``, ``progress`` = judged / assigned (practice included);
- ``accuracy`` = correct / judged on main items (no practice, no attention checks);
- ``attention_failures``; ``active_s`` = sum of the client-measured active time
  (seconds; empty when the browser sent none), ``time_s`` = sum of server time on item;
- ``enrolled_at`` (UTC); the review: ``payment`` (approve / reject / empty),
  ``excluded`` (from analysis), ``reason`` (of the latest rejection or exclusion).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, and_, case, func, select

from study import models as m
from study.db import read_session
from study.rater.rules import effective_status, rater_condition_key
from study.review import reviews
from study.service import _study, study_config

__all__ = ["PARTICIPANT_COLUMNS", "participants"]

PARTICIPANT_COLUMNS = [
    "rater_id", "prolific_pid", "prolific_study_id", "prolific_session_id", "condition", "status",
    "judged", "assigned", "progress", "accuracy", "attention_failures", "active_s", "time_s", "enrolled_at",
    "payment", "excluded", "reason",
]


def _judgment_totals(engine: Engine, study_id: int) -> pd.DataFrame:
    main = and_(m.Assignment.stage == "main", m.Assignment.is_attention_check.is_(False))
    with read_session(engine) as s:
        rows = s.execute(
            select(
                m.Judgment.rater_id,
                func.count(m.Judgment.id).label("judged"),
                func.sum(case((main, 1), else_=0)).label("main"),
                func.sum(case((and_(main, m.Judgment.label == m.Item.gold_label), 1), else_=0)).label("correct"),
                func.sum(m.Judgment.active_ms).label("active_ms"),
                func.sum(m.Judgment.time_ms).label("time_ms"),
            )
            .join(m.Assignment, m.Assignment.id == m.Judgment.assignment_id)
            .join(m.Item, m.Item.id == m.Judgment.item_pk)
            .join(m.Rater, m.Rater.id == m.Judgment.rater_id)
            .where(m.Rater.study_id == study_id)
            .group_by(m.Judgment.rater_id)
        ).all()
    return pd.DataFrame(rows, columns=["id", "judged", "main", "correct", "active_ms", "time_ms"])


def participants(engine: Engine, name: str, now: datetime | None = None) -> pd.DataFrame:
    """One row per rater of the study (test raters left out), oldest first (:data:`PARTICIPANT_COLUMNS`)."""
    with read_session(engine) as s:
        study = _study(s, name)
        config = study_config(s, study)
        assigned = (select(func.count(m.Assignment.id)).where(m.Assignment.rater_id == m.Rater.id)
                    .correlate(m.Rater).scalar_subquery())
        rows = s.execute(
            select(m.Rater.id, m.Rater.external_id, m.Rater.prolific_pid, m.Rater.prolific_study_id,
                   m.Rater.prolific_session_id, rater_condition_key().label("condition"),
                   effective_status(config, now or m.utcnow()).label("status"), assigned.label("assigned"),
                   m.Rater.attention_failures, m.Rater.enrolled_at)
            .where(m.Rater.study_id == study.id, m.Rater.is_test.is_(False)).order_by(m.Rater.id)
        ).all()
        study_id = study.id
    raters = pd.DataFrame(rows, columns=["id", "rater_id", "prolific_pid", "prolific_study_id", "prolific_session_id",
                                         "condition", "status", "assigned", "attention_failures", "enrolled_at"])
    if raters.empty:
        return pd.DataFrame(columns=PARTICIPANT_COLUMNS)
    df = raters.merge(_judgment_totals(engine, study_id), on="id", how="left")
    df["judged"] = df["judged"].fillna(0).astype(int)
    df["progress"] = (df["judged"] / df["assigned"].where(df["assigned"] > 0)).astype(float)
    df["accuracy"] = (df["correct"] / df["main"].where(df["main"] > 0)).astype(float)
    df["active_s"] = (df["active_ms"].astype(float) / 1000).round(1)
    df["time_s"] = (df["time_ms"].astype(float) / 1000).round(1)
    review = {str(r.rater_id): r for r in reviews(engine, name).itertuples(index=False)}
    found = [review.get(rid) for rid in df["rater_id"]]
    df["payment"] = [r.payment if r is not None else "" for r in found]
    df["excluded"] = [bool(r.excluded) if r is not None else False for r in found]
    df["reason"] = [(r.exclusion_reason if r.excluded else r.payment_reason) if r is not None else "" for r in found]
    return df[PARTICIPANT_COLUMNS].reset_index(drop=True)
