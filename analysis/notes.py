"""The analysis notes, grouped: one line per distinct message instead of one per condition.

``analyze`` writes a note per metric and condition that could not be computed, so a
five-condition study without two-stage trials has 18 near-identical lines. Grouping
keeps every fact (which metric, why, in which conditions) and says each once.
"""

from __future__ import annotations

import re

import pandas as pd

#: Columns of :func:`group_notes`.
NOTE_COLUMNS = ["kind", "note", "count", "conditions"]
#: Kinds, in display order.
NOTE_KINDS = ("reference", "exclusions", "metric not computed", "models", "other")

_NULL_IN = re.compile(r"^(?P<metric>[\w ]+): null in condition (?P<condition>[^,]+), (?P<reason>.+)$")


def _kind(note: str) -> str:
    if "reference" in note.split(":")[0] or note.startswith("no reference"):
        return "reference"
    if note.startswith("excluded:"):
        return "exclusions"
    if note.startswith("model "):
        return "models"
    if ": null" in note:
        return "metric not computed"
    return "other"


def group_notes(notes: list[str]) -> pd.DataFrame:
    """One row per distinct message: kind, note, count (lines it replaces), conditions.

    Notes ``"<metric>: null in condition <c>, <reason>"`` that share metric and reason
    become ``"<metric>: null, <reason>"`` with the conditions listed (in first-seen
    order); any other note is kept verbatim, duplicates counted. Rows are sorted by
    :data:`NOTE_KINDS`, then by first appearance.
    """
    rows: dict[str, dict[str, object]] = {}
    for note in notes:
        match = _NULL_IN.match(note)
        text = f"{match['metric']}: null, {match['reason']}" if match else note
        row = rows.setdefault(text, {"kind": _kind(note), "note": text, "count": 0, "conditions": []})
        row["count"] = int(str(row["count"])) + 1
        conds = row["conditions"]
        if match and isinstance(conds, list) and match["condition"] not in conds:
            conds.append(match["condition"])
    out = pd.DataFrame(list(rows.values()), columns=NOTE_COLUMNS)
    out["conditions"] = [", ".join(c) if isinstance(c, list) else "" for c in out["conditions"]]
    order = {kind: i for i, kind in enumerate(NOTE_KINDS)}
    out = out.assign(_order=out["kind"].map(order)).sort_values("_order", kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)
