"""Raters excluded by the experimenter in the console review, dropped from an analysis table.

Kept apart from :mod:`study.review` (which needs the database) so that
``oversight analyze --from-csv`` applies it without importing the database layer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EXCLUDED = "excluded_by_experimenter"


def drop_excluded(df: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The judgments without raters excluded by the experimenter, and a note saying how many.

    Rows whose ``excluded_by_experimenter`` is true are dropped; a table without the
    column is returned unchanged (note ``None``).
    """
    if EXCLUDED not in df.columns:
        return df, None
    codes, values = pd.factorize(df[EXCLUDED], use_na_sentinel=False)  # test the distinct values only
    flag = pd.Series(np.array([str(v).strip().lower() in ("true", "1", "yes") for v in values], dtype=bool)[codes],
                     index=df.index)
    if not flag.any():
        return df, None
    raters = df.loc[flag, "rater_id"].nunique() if "rater_id" in df.columns else 0
    note = (f"experimenter exclusions: {raters} rater(s) excluded in the review, "
            f"{int(flag.sum())} judgment row(s) left out")
    return df.loc[~flag].reset_index(drop=True), note
