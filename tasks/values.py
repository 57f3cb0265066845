"""Checks on parsed values that no schema type expresses: formulas, NUL, depth, size.

Used by the item-bank importers on every row before validation (so every text
field at every depth is covered, whatever its name) and by ``tasks.items`` for the
free-form ``metadata`` object. The walk is iterative: a value nested thousands deep
is reported, never a ``RecursionError``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from tasks.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH

__all__ = ["FORMULA_MESSAGE", "json_value_problem", "looks_like_formula", "strings"]

#: A cell a spreadsheet would run as a formula (OWASP "CSV injection"): starting with
#: ``=`` or ``@``, a tab or carriage return, or ``+``/``-`` followed by a name and
#: ``(`` (a function call: ``+SUM(``), ``|`` (a DDE call: ``+cmd|' /C calc'!A0``) or
#: ``!`` (a sheet reference). Text such as ``+5% growth`` or ``-2 degrees`` is allowed.
_FORMULA = re.compile(r"^\s*(=|@|[+\-]\s*[A-Za-z_][\w.]*\s*[(|!]|\t|\r)")

FORMULA_MESSAGE = (
    "starts like a spreadsheet formula (=, @, +f(, -f(, +cmd|, a tab); refused to prevent CSV injection"
)


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would treat ``text`` as a formula."""
    return _FORMULA.match(text) is not None


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str, bool]]:
    """Every string inside ``value`` as (dotted path, string, is a mapping key).

    Containers are visited once each (YAML aliases share them; walking them again
    would be exponential in a "billion laughs" document) and without recursion.
    """
    seen: set[int] = set()
    todo: list[tuple[str, Any]] = [(path, value)]
    while todo:
        where, node = todo.pop()
        if isinstance(node, str):
            yield where or "(row)", node, False
            continue
        if not isinstance(node, Mapping | list) or id(node) in seen:
            continue
        seen.add(id(node))
        pairs = list(node.items()) if isinstance(node, Mapping) else list(enumerate(node))
        for key, child in reversed(pairs):
            child_path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str):
                yield child_path, key, True
            todo.append((child_path, child))


def _depth_and_non_finite(value: Any, path: str) -> tuple[int, str | None]:
    """(maximum nesting depth, dotted path of the first NaN/infinity or None)."""
    deepest, bad = 0, None
    todo: list[tuple[Any, int, str]] = [(value, 0, path)]
    while todo:
        node, depth, where = todo.pop()
        if isinstance(node, float) and not math.isfinite(node) and bad is None:
            bad = where
        if isinstance(node, Mapping | list):
            deepest = max(deepest, depth + 1)
            if depth + 1 > MAX_JSON_DEPTH:
                return deepest, bad
            pairs = node.items() if isinstance(node, Mapping) else enumerate(node)
            todo.extend((child, depth + 1, f"{where}.{key}") for key, child in pairs)
    return deepest, bad


def json_value_problem(value: Any, path: str) -> tuple[str, str] | None:
    """(field, problem) when a free-form JSON value breaks a limit, else None.

    Limits: nesting depth at most :data:`~tasks.limits.MAX_JSON_DEPTH`, no NaN or
    infinity (PostgreSQL's JSON type refuses them, SQLite would store them), compact
    UTF-8 JSON at most :data:`~tasks.limits.MAX_JSON_BYTES` bytes.
    """
    depth, bad = _depth_and_non_finite(value, path)
    if depth > MAX_JSON_DEPTH:
        return path, f"is nested more than {MAX_JSON_DEPTH} levels deep"
    if bad is not None:
        return bad, "NaN and infinity are not numbers JSON can store; use null or a number"
    try:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError) as err:
        return path, f"is not JSON data: {err}"
    if size > MAX_JSON_BYTES:
        return path, f"is {size} bytes as JSON; at most {MAX_JSON_BYTES} are allowed"
    return None
