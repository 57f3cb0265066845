"""Exclusion rules and ``prepare``: which judgments enter the analysis.

The same rules apply in every report (CLI, dashboard, Python API), so a study's
config embeds one :class:`ExclusionRules` and every analysis calls :func:`prepare`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from analysis import schema as s


class ExclusionRules(BaseModel):
    """Which judgments analysis drops (field names match the study config)."""

    model_config = ConfigDict(extra="ignore")

    drop_failed_attention: bool = Field(
        default=True, description="Drop every judgment of raters who failed too many attention checks."
    )
    max_attention_failures: int = Field(
        default=0, ge=0, description="Attention-check failures tolerated; a rater with more is dropped."
    )
    min_time_ms: int | None = Field(default=None, ge=0, description="Drop judgments faster than this.")
    max_time_ms: int | None = Field(default=None, ge=0, description="Drop judgments slower than this.")
    exclude_statuses: list[str] = Field(
        default_factory=lambda: ["timed_out", "failed_attention"],
        description="Raters whose `rater_status` is in this list are dropped.",
    )


def attention_failures(df: pd.DataFrame) -> pd.Series:
    """Failed attention checks per rater: #(is_attention_check and final_label != gold_label).

    Raters with no attention rows get 0. Needs rater_id; a missing gold or final
    label on an attention row counts as a failure (the rater did not pass it).
    """
    if s.RATER not in df.columns:
        return pd.Series(dtype="int64")
    check = s.flags(df, s.ATTENTION)
    failed = np.zeros(len(df), dtype=np.int64)
    if check.any():  # labels of the attention-check rows only
        rows = df.loc[check]
        failed[check] = ~s.same(s.labels(rows, s.FINAL), s.labels(rows, s.GOLD))
    per_rater = pd.Series(failed, index=df.index).groupby(df[s.RATER]).sum()
    return per_rater.astype("int64")


def prepare(df: pd.DataFrame, exclusions: ExclusionRules | None = None) -> pd.DataFrame:
    """Return the judgments that enter the analysis.

    Steps, in order:
    1. count attention failures per rater on the attention-check rows (before dropping them);
    2. drop raters whose failures exceed ``max_attention_failures`` (if ``drop_failed_attention``);
    3. drop raters whose ``rater_status`` is in ``exclude_statuses``;
    4. drop judgments with ``time_ms < min_time_ms`` or ``time_ms > max_time_ms``
       (rows with a missing time are kept);
    5. drop practice and attention-check rows.

    With ``exclusions=None`` only step 5 runs. Absent columns make the rule that needs
    them a no-op. The result has a fresh RangeIndex.
    """
    keep = ~(s.flags(df, s.PRACTICE) | s.flags(df, s.ATTENTION))
    if exclusions is not None:
        keep &= _rater_keep(df, exclusions) & _time_keep(df, exclusions)
    return _kept(df, keep)


def _kept(df: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows ``keep`` with a fresh RangeIndex (no copy of the columns when every row is kept)."""
    return df.reset_index(drop=True) if keep.all() else df.loc[keep].reset_index(drop=True)


def prepare_with_report(df: pd.DataFrame, exclusions: ExclusionRules | None = None
                        ) -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`prepare`, and what each rule excluded.

    Report keys: practice_rows, attention_check_rows, raters_failed_attention and
    judgments_failed_attention (step 2), raters_excluded_status and
    judgments_excluded_status (step 3, raters not already dropped by step 2),
    judgments_too_fast / judgments_too_slow (step 4, among the rest), judgments_kept.
    """
    practice, attention = s.flags(df, s.PRACTICE), s.flags(df, s.ATTENTION)
    main = ~(practice | attention)
    report = {"practice_rows": int(practice.sum()), "attention_check_rows": int((attention & ~practice).sum())}
    keep = main.copy()
    rules = exclusions
    rater = df[s.RATER] if s.RATER in df.columns else None
    if rules is not None and rater is not None:
        att = np.ones(len(df), dtype=bool)
        if rules.drop_failed_attention and attention.any():  # failures need attention-check rows
            failures = attention_failures(df)
            bad = failures.index[failures > rules.max_attention_failures]
            att = ~rater.isin(bad).to_numpy(dtype=bool)
        report["raters_failed_attention"] = int(rater[~att].nunique())
        report["judgments_failed_attention"] = int((main & ~att).sum())
        status = np.ones(len(df), dtype=bool)
        if s.STATUS in df.columns and rules.exclude_statuses:
            status = ~df[s.STATUS].astype("string").isin(rules.exclude_statuses).fillna(False).to_numpy(dtype=bool)
        report["raters_excluded_status"] = int(rater[att & ~status].nunique())
        report["judgments_excluded_status"] = int((main & att & ~status).sum())
        keep &= att & status
    if rules is not None:
        time = s.floats(df, s.TIME)
        with np.errstate(invalid="ignore"):
            fast = (time < rules.min_time_ms) if rules.min_time_ms is not None else np.zeros(len(df), dtype=bool)
            slow = (time > rules.max_time_ms) if rules.max_time_ms is not None else np.zeros(len(df), dtype=bool)
        report["judgments_too_fast"] = int((keep & fast).sum())
        report["judgments_too_slow"] = int((keep & ~fast & slow).sum())
        keep &= ~fast & ~slow
    report["judgments_kept"] = int(keep.sum())
    return _kept(df, keep), report


def _rater_keep(df: pd.DataFrame, rules: ExclusionRules) -> np.ndarray:
    keep = np.ones(len(df), dtype=bool)
    if s.RATER not in df.columns:
        return keep
    if rules.drop_failed_attention and s.flags(df, s.ATTENTION).any():  # failures need attention-check rows
        failures = attention_failures(df)
        bad = failures.index[failures > rules.max_attention_failures]
        keep &= ~df[s.RATER].isin(bad).to_numpy(dtype=bool)
    if s.STATUS in df.columns and rules.exclude_statuses:
        keep &= ~df[s.STATUS].astype("string").isin(rules.exclude_statuses).fillna(False).to_numpy(dtype=bool)
    return keep


def _time_keep(df: pd.DataFrame, rules: ExclusionRules) -> np.ndarray:
    time = s.floats(df, s.TIME)
    keep = np.ones(len(df), dtype=bool)
    with np.errstate(invalid="ignore"):
        if rules.min_time_ms is not None:
            keep &= ~(time < rules.min_time_ms)
        if rules.max_time_ms is not None:
            keep &= ~(time > rules.max_time_ms)
    return keep
