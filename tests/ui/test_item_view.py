"""``study.ui.item_view.render_item``: the item screen shared by the rater page and the preview.

The views are built by hand (no database), so each test states exactly what the
rater would be shown and checks the page against it; the actions are recorded in
the session state, so a test sees which control called back with what.
"""

from __future__ import annotations

import ast
import html
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from study.rater import ItemView, RaterView

UI = Path(__file__).resolve().parents[2] / "study" / "ui"
SOURCE = "Quantity 7 equals 21. It was measured in 1950."
QUOTE = {"text": "Quantity 7 equals 21.", "source_index": 0, "source_title": "Reference 7", "verified": True,
         "start": 0, "end": 21}


def _item(kind: str = "reasoning", **changes: Any) -> ItemView:
    fields: dict[str, Any] = {
        "assignment_id": 41, "item_id": "item-007", "position": 2, "stage": "main", "is_attention_check": False,
        "claim": "Quantity 7 equals **22** <b>bold</b>.", "context": "What does quantity 7 equal?",
        "sources": [{"title": "Reference 7", "text": SOURCE}], "condition": kind, "assistance_kind": kind,
        "assistance": {"label": "incorrect", "confidence": 0.8, "reasoning": "The source says 21.",
                       "quotes": [QUOTE]} if kind == "reasoning" else None,
        "initial_label": None, "initial_confidence": None, "warning": "The AI can be wrong.",
    }
    fields.update(changes)
    return ItemView(**fields)


def _view(item: ItemView | None, *, two_stage: bool = False, screen: str = "item") -> RaterView:
    return RaterView(
        study_name="t", study_title="T", screen=screen, status="active", condition="reasoning",
        assistance_kind="reasoning", condition_instructions="", two_stage=two_stage, labels=["correct", "incorrect"],
        confidence_min=0.5, confidence_max=1.0, confidence_step=0.05, show_sources=True, position=2, total=6,
        n_practice=1, item=item,
    )


def _script(view, record):  # noqa: ANN001, ANN202 - run as its own script (no imports around it)
    import streamlit as st

    from study.ui.item_view import ItemActions, render_item

    def answered(assignment_id: int, stage: str) -> None:
        st.session_state.setdefault("answered", []).append((assignment_id, stage))

    def expanded(assignment_id: int, quote: str, key: str) -> None:
        st.session_state.setdefault("expanded", []).append((assignment_id, quote, bool(st.session_state.get(key))))

    render_item(view, ItemActions(on_answer=answered, on_expand=expanded) if record else None)


def _run(view: RaterView, *, record: bool = True) -> AppTest:
    at = AppTest.from_function(_script, args=(view, record), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _html(at: AppTest) -> str:
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def test_one_stage_item_shows_item_sources_assistance_and_form() -> None:
    at = _run(_view(_item()))
    page = _html(at)
    # Item text is escaped, never interpreted: the markup arrives as literal characters.
    assert html.escape("Quantity 7 equals **22** <b>bold</b>.") in page and "<b>bold</b>" not in page
    assert "What does quantity 7 equal?" in page and SOURCE in page
    assert "AI verdict: incorrect · AI confidence: 80%" in page and "The source says 21." in page
    assert [w.value for w in at.warning] == ["The AI can be wrong\\."]
    assert at.get("progress")[0].proto.text == "Item 3 of 6"
    assert [r.key for r in at.radio] == ["label-41"] and at.radio[0].options == ["correct", "incorrect"]
    assert at.radio[0].value is None and at.slider[0].value == 75 and at.slider[0].key == "confidence-41"


def test_two_stage_asks_first_without_assistance_then_reveals_it() -> None:
    at = _run(_view(_item(), two_stage=True))
    assert "AI verdict" not in _html(at) and not at.warning
    assert [r.key for r in at.radio] == ["initial_label-41"]
    assert [b.key for b in at.button] == ["reveal-41"]

    at = _run(_view(_item(initial_label="incorrect", initial_confidence=0.9), two_stage=True))
    assert "AI verdict: incorrect" in _html(at)
    assert any("Your first answer: incorrect (90%)" in i.value for i in at.info)
    assert at.radio[0].key == "label-41" and at.radio[0].value == "incorrect" and at.slider[0].value == 90


def test_attention_checks_and_no_assistance_show_no_assistance() -> None:
    page = _html(_run(_view(_item(is_attention_check=True, assistance=None), two_stage=True)))
    assert "AI verdict" not in page
    page = _html(_run(_view(_item("none"))))
    assert "AI verdict" not in page and "Debater" not in page


def test_debate_shows_both_sides_in_stored_order() -> None:
    sides = [{"label": "correct", "argument": "Side one.", "quotes": []},
             {"label": "incorrect", "argument": "Side two.", "quotes": [QUOTE]}]
    page = _html(_run(_view(_item("debate", assistance={"sides": sides}))))
    assert page.index("Debater A argues: correct") < page.index("Side one.") < page.index("Debater B argues: incorrect")


def test_actions_are_called_with_the_assignment_and_stage() -> None:
    at = _run(_view(_item()))
    at.radio[0].set_value("correct")
    at = at.button(key="submit-41").click().run()
    assert at.session_state["answered"] == [(41, "only")]

    at = _run(_view(_item(), two_stage=True))
    at.radio[0].set_value("incorrect")
    at = at.button(key="reveal-41").click().run()
    assert at.session_state["answered"] == [(41, "initial")]


def test_without_actions_nothing_calls_back_and_quotes_still_open() -> None:
    at = _run(_view(_item()), record=False)
    at.radio[0].set_value("correct")
    at = at.button(key="submit-41").click().run()
    assert not at.exception and "answered" not in at.session_state


@pytest.mark.parametrize("record", [True, False])
def test_a_quote_sends_its_source_only_when_opened(record: bool) -> None:
    at = _run(_view(_item()), record=record)
    marked = "<mark>Quantity 7 equals 21.</mark> It was measured in 1950."
    assert "Show in source" in [e.label for e in at.expander] and marked not in _html(at)
    at.session_state["rs_quote_41_0"] = True  # the rater opens the expander
    at = at.run()
    assert not at.exception and marked in _html(at)


def test_a_view_without_an_item_is_refused() -> None:
    from study.ui.item_view import render_item

    with pytest.raises(ValueError, match="'done' screen"):
        render_item(_view(None, screen="done"))


def _ui_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("study.ui.")} & {f"study.ui.{p.stem}" for p in UI.glob("*.py")}


def test_ui_modules_import_no_circle() -> None:
    graph = {f"study.ui.{p.stem}": _ui_imports(p) for p in UI.glob("*.py") if p.stem != "__init__"}
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"import circle: {' -> '.join((*path, node))}"
        if node not in done:
            for nxt in graph.get(node, ()):
                visit(nxt, (*path, node))
            done.add(node)

    for module in graph:
        visit(module, ())
    assert "study.ui.rater" not in graph["study.ui.console"] and "study.ui.rater" not in graph["study.ui.item_view"]
