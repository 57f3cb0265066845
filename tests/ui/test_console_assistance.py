"""Generating assistance from the console (fast hashing encoder), with provenance shown."""

from __future__ import annotations

from sqlalchemy import Engine, select

from study import models as m
from study import service
from study.config import parse_config
from study.db import read_session
from study.testing import fixture_items, small_config


def _study_with_external_ai(engine: Engine) -> None:
    service.create_study(engine, parse_config(small_config("gen", assistance={"encoder": "hashing", "folds": 3})))
    items = fixture_items(24)
    items[0] = items[0].model_copy(update={"ai_label": "incorrect", "ai_confidence": 0.91,
                                           "ai_reasoning": "Made elsewhere: the source gives a different number."})
    service.import_items(engine, "gen", items)


def test_generate_fills_every_missing_row_and_shows_provenance(app_engine: Engine, ui, console, monkeypatch) -> None:
    _study_with_external_ai(app_engine)
    calls: list[tuple[int, int]] = []
    import study.ui.console.setup as console_module

    real = console_module.generate_for_study

    def spy(engine, name, *, progress=None):  # noqa: ANN001, ANN202 - records the progress bar's calls
        def tap(done: int, total: int) -> None:
            calls.append((done, total))
            assert progress is not None
            progress(done, total)

        return real(engine, name, progress=tap)

    monkeypatch.setattr(console_module, "generate_for_study", spy)
    at = console()
    at.radio(key="console_section").set_value("Set up")
    at = ui.ok(at.run())
    needs = ui.frame(at, "assistance_needs").set_index("kind")
    assert needs["missing"].to_dict() == {"verdict": 26, "debate": 26, "evidence": 26, "reasoning": 26}
    generate = at.button(key="generate")
    assert generate.label == "Generate 104 missing assistance rows"
    at = ui.ok(generate.click().run())
    assert "Stored 104 assistance rows." in ui.texts(at), ui.texts(at)
    assert calls and calls[-1][0] == calls[-1][1]
    assert service.missing_assistance(app_engine, "gen") == []
    assert (ui.frame(at, "assistance_needs")["missing"] == 0).all()
    assert not any(b.key == "generate" for b in at.button)
    provenance = ui.frame(at, "provenance")
    assert provenance["rows"].sum() == 104
    assert "imported" in set(provenance["generator"])  # the bank's own AI verdict was kept
    full = ui.frame(at, "provenance_full")  # the expander keeps every value; the short table fits the page
    assert "parameters" in full.columns and "parameters" not in provenance.columns
    assert full["rows"].sum() == 104 and all(len(str(v)) <= 20 for v in provenance["model_version"])
    assert all(str(v).count("/") <= 1 for v in provenance["model"])
    with read_session(app_engine) as s:
        verdict = s.scalars(select(m.Assistance.content).join(m.Item, m.Item.id == m.Assistance.item_pk)
                            .where(m.Item.item_id == "item-000", m.Assistance.kind == "verdict")).one()
    assert verdict == {"label": "incorrect", "confidence": 0.91}
    at = ui.ok(at.button(key="status_live").click().run())
    assert service.get_study(app_engine, "gen").status == "live"


def test_launch_without_assistance_explains_why(app_engine: Engine, ui, console) -> None:
    _study_with_external_ai(app_engine)
    at = ui.ok(console())
    at = ui.ok(at.button(key="status_live").click().run())
    assert "lacks 103 assistance rows" in at.error[0].value or "lacks" in at.error[0].value
    assert service.get_study(app_engine, "gen").status == "draft"
