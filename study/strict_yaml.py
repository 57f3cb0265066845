"""YAML for configs: ``yaml.safe_load`` that refuses a key given twice in one mapping.

PyYAML keeps the last of two equal keys without a word, so a second ``conditions:``
block would silently replace the first. :func:`load` raises
:class:`DuplicateKeyError` naming the key and both lines instead, at any depth.
Merge keys (``<<: *defaults``) still override what they merge in, as YAML intends.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode

__all__ = ["DuplicateKeyError", "StrictSafeLoader", "load"]


class DuplicateKeyError(yaml.MarkedYAMLError):  # type: ignore[misc]
    """A mapping gives the same key twice; ``key`` and ``line`` (1-based) name the second."""

    def __init__(self, key: Any, line: int, first_line: int, mark: yaml.Mark | None) -> None:
        super().__init__(problem=f"duplicate key {key!r} (first on line {first_line})", problem_mark=mark)
        self.key = key
        self.line = line
        self.first_line = first_line


class StrictSafeLoader(yaml.SafeLoader):  # type: ignore[misc]
    """The safe loader (no Python tags), refusing duplicate mapping keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                break
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(key, line, first, key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def load(text: str) -> Any:
    """Parse one YAML document like ``yaml.safe_load``, refusing duplicate keys."""
    return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
