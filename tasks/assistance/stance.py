"""The stance scorer: which label a single source sentence favours.

Debate sides, consultancy and reasoning all use this one scorer, so a stance stated
anywhere in the assistance is the scorer's. Each candidate sentence (or imported quote)
``s`` of an item gets a lean toward every label ``L``:

* **annotated item** (the item bank gives stances, :mod:`tasks.stances`):
  ``lean_L(s) = 1`` when the annotations say ``s`` favours ``L``, else 0;
* **otherwise, the model**: with the item's own out-of-fold verdict model (it never saw
  the item's gold label),

      lean_L(s) = P(L | claim, s alone as evidence) - share of L in that model's training set

  i.e. whether the sentence, read with the claim, moves the model toward ``L`` beyond the
  label's base rate. (An earlier scorer compared with P(L | the item's pooled evidence)
  instead; on Climate-FEVER's sentence labels it agreed less with human readers:
  docs/benchmarks.md, "Stance scorer".)

``s`` **favours** the label with the largest lean when that lean exceeds
:data:`STANCE_MARGIN`; otherwise it favours no label.
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
