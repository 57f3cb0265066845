"""Which condition is the reference (the unassisted control) of a judgments table.

The reference is never guessed from a condition key's spelling. In order:
1. an explicit ``reference=`` (it must be one of the table's conditions);
2. the condition whose ``assistance_kind`` column is ``none`` (the export writes the
   kind of assistance each judgment's condition showed);
3. otherwise there is no reference: contrasts and team complementarity are left out
   with a note, and regression models code against the first condition alphabetically.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as s

ASSISTANCE_KIND = s.ASSISTANCE_KIND
#: The assistance kind of an unassisted condition.
NO_ASSISTANCE = "none"


class ReferenceConditionError(ValueError):
    """The reference condition cannot be determined as asked."""


def reference_condition(df: pd.DataFrame, reference: str | None = None) -> tuple[str | None, str]:
    """(reference condition or None, how it was chosen / why there is none)."""
    found = s.conditions_in(df)
    if reference is not None:
        if reference not in found:
            raise ReferenceConditionError(f"reference condition {reference!r} is not in the table's conditions {found}")
        return reference, f"reference condition {reference!r} (given explicitly)"
    if ASSISTANCE_KIND not in df.columns or s.CONDITION not in df.columns:
        return None, ("no reference condition: the table has no assistance_kind column; "
                      "give reference= (CLI --reference) for contrasts and team complementarity")
    codes, kinds = s.id_codes(df, ASSISTANCE_KIND)  # compare the few distinct kinds, not every row
    is_none = np.array([str(k).strip() == NO_ASSISTANCE for k in kinds])[codes]
    if df[ASSISTANCE_KIND].hasnans:  # a missing kind is never none (id_codes spells it <missing>)
        is_none &= df[ASSISTANCE_KIND].notna().to_numpy(dtype=bool)
    cond, names = s.id_codes(df, s.CONDITION)
    if df[s.CONDITION].hasnans:  # a judgment without a condition is left out
        is_none &= df[s.CONDITION].notna().to_numpy(dtype=bool)
    none_conds = sorted({str(names[c]) for c in np.unique(cond[is_none])})
    if not none_conds:
        return None, ("no reference condition: no condition has assistance_kind 'none'; "
                      "give reference= (CLI --reference)")
    if len(none_conds) > 1:
        return None, (f"no reference condition: several conditions have assistance_kind 'none' "
                      f"({', '.join(none_conds)}); give reference= (CLI --reference)")
    return none_conds[0], f"reference condition {none_conds[0]!r} (assistance_kind 'none')"


def reference_or_first(df: pd.DataFrame, reference: str | None = None) -> tuple[str | None, str]:
    """The reference condition, else the first condition alphabetically (for model coding)."""
    ref, why = reference_condition(df, reference)
    if ref is not None:
        return ref, why
    found = s.conditions_in(df)
    return (found[0], f"models coded against {found[0]!r} (first alphabetically): {why}") if found else (None, why)
