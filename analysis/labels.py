"""Label matching: labels compare by value, and labels that match nothing are an error.

``1``, ``1.0``, ``"1"`` and ``" 1 "`` are one label; ``"correct "`` and ``"correct"`` are
one label (see :func:`analysis.schema.normalise_label`). After that normalisation every
value of ``ai_label``, ``initial_label`` and ``final_label`` must be one of the allowed
labels: the study's labels when given, else the values that occur in ``gold_label``.
A value outside them would silently count as a disagreement, so it is an error naming
the column and the values.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis import schema as s

_CHECKED = (s.AI_LABEL, s.INITIAL, s.FINAL)


class LabelError(ValueError):
    """Label values that match no allowed label."""


def _values(df: pd.DataFrame, column: str) -> set[str]:
    uniques = pd.unique(df[column].dropna()) if column in df.columns else []
    return {v for v in (s.normalise_label(u) for u in uniques) if v is not None}


def check_labels(df: pd.DataFrame, allowed: Sequence[object] | None = None) -> None:
    """Raise :class:`LabelError` when a label column holds values outside the allowed labels.

    Without ``allowed`` and without gold labels in the table there is nothing to check against.
    """
    vocab = {v for v in (s.normalise_label(a) for a in allowed) if v is not None} if allowed else set()
    source = "the study's labels"
    if not vocab:
        vocab, source = _values(df, s.GOLD), "the gold_label values"
    if not vocab:
        return
    problems = []
    for column in _CHECKED:
        extra = sorted(_values(df, column) - vocab)
        if extra:
            shown = ", ".join(repr(v) for v in extra[:10]) + (", ..." if len(extra) > 10 else "")
            problems.append(f"column {column}: value(s) {shown}")
    if problems:
        raise LabelError(f"labels that match none of {source} ({', '.join(repr(v) for v in sorted(vocab))}): "
                         + "; ".join(problems))
