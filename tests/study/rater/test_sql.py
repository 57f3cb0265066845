"""The rater package's private statements return rows read by column name."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, literal, select

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
    assert tuple(c.key for c in stmt.selected_columns) == row_type._fields


def test_item_query_labels_plus_sources_make_item_content() -> None:
    assert [c.key for c in q.Q_ITEM.selected_columns] + ["sources"] == list(q.ItemContent._fields)


def test_rows_are_checked_by_name() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        good = select(literal(5).label("judgment_id"), literal("x").label("label"))
        assert q.one(conn, good, q.Prior, {}) == q.Prior(judgment_id=5, label="x")
        assert q.every(conn, good, q.Prior, {}) == [q.Prior(5, "x")]
        assert q.one(conn, good.where(literal(False)), q.Prior, {}) is None
        swapped = select(literal("x").label("label"), literal(5).label("judgment_id"))
        with pytest.raises(TypeError, match="Prior has fields"):
            q.one(conn, swapped, q.Prior, {})
        with pytest.raises(TypeError, match="Prior has fields"):
            q.every(conn, swapped, q.Prior, {})
