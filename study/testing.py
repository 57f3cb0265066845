"""Deterministic stand-ins for tests, demos and simulations (no model needed).

``fixture_items`` makes a small synthetic item bank; ``freeze_fixture_assistance``
stores assistance rows of the documented shapes, generator ``fixture``, where the
AI label is right with probability ``ai_accuracy`` (seeded). Real studies use
``oversight assist``; these exist so the service layer can be tested in milliseconds.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Engine

from study import service
from study.config import StudyConfig, parse_config
from study.rater.enrolment import Enrolment
from tasks.assistance.pipeline import AssistanceRecord, content_hash
from tasks.items import Item, Source


def fixture_items(n_main: int = 24, *, n_practice: int = 2, n_attention: int = 2, seed: int = 0,
                  labels: tuple[str, str] = ("correct", "incorrect")) -> list[Item]:
    """``n_main`` main items (balanced labels), practice items and attention checks."""
    rng = random.Random(seed)
    items = []
    for i in range(n_main):
        gold = labels[i % 2]
        items.append(Item(
            item_id=f"item-{i:03d}",
            claim=f"Claim number {i} states that quantity {i} equals {i * 3 if gold == labels[0] else i * 3 + 1}.",
            context=f"What does quantity {i} equal?",
            gold_label=gold,
            sources=[Source(title=f"Reference {i}", text=f"Quantity {i} equals {i * 3}. It was measured in {1900 + rng.randint(0, 99)}.")],
        ))
    for i in range(n_practice):
        items.append(Item(item_id=f"practice-{i}", claim=f"Practice claim {i}.", gold_label=labels[i % 2], role="practice",
                          sources=[Source(title="Practice", text=f"Practice source {i}.")]))
    for i in range(n_attention):
        want = labels[i % 2]
        items.append(Item(item_id=f"attention-{i}", claim=f"Attention check: please answer '{want}'.", gold_label=want,
                          role="attention_check", sources=[Source(title="Note", text="Answer as the claim asks.")]))
    return items


def _quote(item: Item) -> dict[str, object]:
    text = item.sources[0].text.split(".")[0] + "."
    return {"text": text, "source_index": 0, "source_title": item.sources[0].title, "verified": True,
            "start": 0, "end": len(text), "score": 1.0}


def fixture_assistance_rows(items: list[Item], labels: list[str], *, seed: int = 0, ai_accuracy: float = 0.75) -> list[AssistanceRecord]:
    """Assistance rows of every kind for ``items`` (AI right with prob. ``ai_accuracy``)."""
    rng = random.Random(seed)
    rows = []
    for it in items:
        if it.role == "attention_check":
            continue
        right = rng.random() < ai_accuracy
        label = it.gold_label if right else next(x for x in labels if x != it.gold_label)
        conf = round(0.55 + 0.4 * rng.random(), 3)
        q = _quote(it)
        contents: dict[str, dict[str, Any]] = {
            "verdict": {"label": label, "confidence": conf},
            "evidence": {"quotes": [q]},
            "reasoning": {"label": label, "confidence": conf, "reasoning": f"The source suggests the claim is {label}.", "quotes": [q]},
            "debate": {"sides": [
                {"label": labels[0], "argument": f"The claim is {labels[0]}.", "quotes": [q]},
                {"label": labels[1], "argument": f"The claim is {labels[1]}.", "quotes": []},
            ]},
        }
        for kind, content in contents.items():
            rows.append(AssistanceRecord(
                item_id=it.item_id, kind=kind, content=content, generator="fixture", model="fixture",
                model_version="", parameters={"ai_accuracy": ai_accuracy}, seed=seed, package_versions={},
                content_hash=content_hash(content),
            ))
    return rows


def ready_study(engine: Engine, config: StudyConfig | dict[str, Any], items: list[Item] | None = None, *, launch: bool = True) -> StudyConfig:
    """Create a study, import items, freeze fixture assistance and (by default) launch it."""
    cfg = config if isinstance(config, StudyConfig) else parse_config(config)
    items = items if items is not None else fixture_items(max(24, cfg.items_per_rater), seed=cfg.seed)
    service.create_study(engine, cfg)
    service.import_items(engine, cfg.name, items)
    service.add_assistance(engine, cfg.name, fixture_assistance_rows(items, cfg.labels, seed=cfg.seed))
    if launch:
        service.set_status(engine, cfg.name, "live")
    return cfg


def small_config(name: str = "t", **overrides: object) -> dict[str, Any]:
    """A compact valid config dict for tests (the four conditions of docs/study-config.md)."""
    cfg: dict[str, Any] = {
        "name": name,
        "seed": 7,
        "conditions": [{"key": k, "assistance": k} for k in ("none", "evidence", "reasoning", "debate")],
        "items_per_rater": 6,
        "target_ratings_per_item": 3,
        "practice_items": 1,
        "attention_checks": 1,
    }
    cfg.update(overrides)
    return cfg


def join(engine: Engine, study: str, external_id: str, **link: Any) -> Enrolment:
    """Enrol and consent: the rater now holds a condition and items (chosen at consent)."""
    from study import rater

    e = rater.enrol(engine, study, external_id, **link)
    key = rater.consent(engine, e.token)
    return Enrolment(e.token, e.rater_id, key or "", e.created)
