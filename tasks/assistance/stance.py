"""The stance scorer: which label a single source sentence favours.

With the item's own out-of-fold verdict model (it never saw the item's gold label), the
stance of sentence ``s`` toward label ``L`` is

    lean_L(s) = P(L | claim, s alone as evidence) - P(L | claim, the item's evidence)

i.e. how far that sentence on its own moves the model toward ``L`` compared with the
item's evidence as a whole. ``s`` **favours** the label with the largest lean when that
lean exceeds :data:`STANCE_MARGIN`; otherwise it favours no label. Debate sides,
consultancy and reasoning all use this one scorer, so a stance stated anywhere in the
assistance is the scorer's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: A lean at or below this favours no label (guards against rounding ties).
STANCE_MARGIN = 0.005


def favoured(lean: np.ndarray, labels: Sequence[str]) -> list[str | None]:
    """Per row of ``lean`` (sentences x labels), the favoured label or None."""
    out: list[str | None] = []
    for row in np.round(np.asarray(lean, dtype=float), 8):
        best = int(np.argmax(row)) if len(row) else 0
        out.append(labels[best] if len(row) and row[best] > STANCE_MARGIN else None)
    return out


def ranked_for(label: str, lean: np.ndarray, labels: Sequence[str], limit: int) -> list[int]:
    """Rows that favour ``label``, strongest lean first (ties by row), at most ``limit``."""
    stance = favoured(lean, labels)
    column = labels.index(label)
    rows = [j for j, s in enumerate(stance) if s == label]
    rows.sort(key=lambda j: (-round(float(lean[j, column]), 8), j))
    return rows[:limit]
