"""The rater package's private statements return rows read by column name."""

from __future__ import annotations

from typing import Any

import pytest

from study.rater import _sql as q


@pytest.mark.parametrize(("stmt", "row_type"), [
    (q.Q_VIEW_RATER, q.ViewRater),
    (q.Q_VIEW_ASSIGNMENTS, q.ViewAssignment),
    (q.Q_OPEN, q.Opened),
    (q.Q_OPEN_LOCKED, q.Opened),
    (q.Q_EXISTING, q.Existing),
    (q.Q_RATER_IDS, q.RaterIds),
    (q.Q_PRIOR, q.Prior),
    (q.Q_SOURCES, q.SourceRow),
])
def test_query_labels_are_the_row_fields(stmt: Any, row_type: Any) -> None:
    assert sorted(c.key for c in stmt.selected_columns) == sorted(row_type._fields)


def test_item_query_labels_plus_sources_make_item_content() -> None:
    assert [c.key for c in q.Q_ITEM.selected_columns] + ["sources"] == list(q.ItemContent._fields)


def test_rows_are_built_by_name_not_position() -> None:
    class Fake:
        def __init__(self, rows: list[dict[str, Any]]) -> None:
            self.rows = rows

        def execute(self, _stmt: Any, _params: Any) -> Any:
            return self

        def mappings(self) -> Any:
            return self

        def one_or_none(self) -> Any:
            return self.rows[0] if self.rows else None

        def __iter__(self) -> Any:
            return iter(self.rows)

    row = {"judgment_id": 5, "label": "x"}
    reordered = dict(reversed(list(row.items())))
    assert q.one(Fake([reordered]), None, q.Prior, {}) == q.Prior(judgment_id=5, label="x")  # type: ignore[arg-type]
    assert q.one(Fake([]), None, q.Prior, {}) is None  # type: ignore[arg-type]
    assert q.every(Fake([reordered, row]), None, q.Prior, {}) == [q.Prior(5, "x")] * 2  # type: ignore[arg-type]
