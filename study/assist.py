"""Glue between the assistance pipeline (``tasks.assistance``) and the database.

Generation happens before launch; rows are frozen in the ``assistance`` table with
their provenance. Resumable: (item, kind) pairs already stored are skipped, and the
pipeline is deterministic for a seed and model, so a resumed run equals a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Engine, select

from study import models as m
from study import service
from study.config import AssistanceSettings
from study.db import read_session

if TYPE_CHECKING:
    from tasks.assistance import AssistanceConfig

#: Rows written per transaction (a crash loses at most one batch of work).
BATCH = 200


def assistance_config(settings: AssistanceSettings, seed: int) -> AssistanceConfig:
    """The pipeline config for a study's ``assistance:`` settings and seed."""
    from tasks.assistance import AssistanceConfig  # torch/transformers load only when needed
    from tasks.assistance.controlled import ControlledVerdict

    encoder: Literal["transformers", "hashing"]
    path: str | None
    if settings.encoder in ("minilm", "transformers"):
        encoder, path = "transformers", None
    elif settings.encoder == "hashing":
        encoder, path = "hashing", None
    else:  # a local model directory
        encoder, path = "transformers", settings.encoder
    return AssistanceConfig(
        encoder=encoder,
        encoder_path=path,
        k_quotes=settings.quotes,
        folds=settings.folds,
        seed=seed,
        generative_model_path=settings.generator_model,
        max_new_tokens=settings.max_new_tokens,
        llm=settings.llm,
        verdict=None if settings.verdict is None else ControlledVerdict(**settings.verdict.model_dump()),
        debate_rounds=settings.debate_rounds,
        consultancy_correct_share=settings.consultancy_correct_share,
    )


def generate_for_study(
    engine: Engine, name: str, *, progress: Callable[[int, int], None] | None = None
) -> int:
    """Generate and store all missing assistance for a draft study; returns rows added."""
    cfg = service.get_config(engine, name)
    items = [it for it in service.study_items(engine, name) if it.role != "attention_check"]
    missing = set(service.missing_assistance(engine, name))
    if not missing:
        return 0
    kinds = {k for _, k in missing}
    wanted = {(it.item_id, kind) for it in items for kind in kinds}
    skip = wanted - missing
    from tasks.assistance import generate_assistance

    records = generate_assistance(
        items, cfg.labels, assistance_config(cfg.assistance, cfg.seed), skip=skip, progress=progress, kinds=sorted(kinds)
    )
    added, batch = 0, []
    for row in records:
        if (row.item_id, row.kind) not in missing:
            continue
        batch.append(row)
        if len(batch) >= BATCH:
            added += service.add_assistance(engine, name, batch)
            batch = []
    if batch:
        added += service.add_assistance(engine, name, batch)
    return added


def verdict_summary(engine: Engine, name: str) -> dict[str, object]:
    """Accuracy, Brier and ECE of the stored AI verdicts against the gold labels.

    Uses :func:`tasks.assistance.verdict.verdict_metrics` (the pipeline's own report),
    over main and practice items with a stored verdict.
    """
    from study.export import ai_verdicts_frame
    from tasks.assistance.verdict import verdict_metrics

    frame = ai_verdicts_frame(engine, name)
    if frame.empty:
        return {}
    report = verdict_metrics(frame["gold_label"].tolist(), frame["ai_label"].tolist(), frame["ai_confidence"].tolist())
    return {k: v for k, v in report.items() if isinstance(v, int | float | str)}


def quality_summary(engine: Engine, name: str) -> dict[str, Any]:
    """The assistance quality gate of a study's stored assistance, on its main items.

    See :func:`tasks.assistance.quality.assistance_quality`: AI accuracy against the
    majority rate, Brier, ECE, the reliability table, the quote verification rate, debate
    sides without support, where quote stances come from (annotations or the model) and
    warnings. What ``oversight assist`` prints and the console's
    Set up page can show; ``{}`` before any assistance is stored.
    """
    from tasks.assistance.quality import assistance_quality
    from tasks.items import Item
    from tasks.stances import is_annotated

    study = service.get_study(engine, name)
    with read_session(engine) as s:
        main = s.execute(
            select(m.Item.item_id, m.Item.gold_label, m.Item.data).where(m.Item.study_id == study.id, m.Item.role == "main")
        ).all()
        rows = [
            (str(item_id), str(kind), dict(content))
            for item_id, kind, content in s.execute(
                select(m.Item.item_id, m.Assistance.kind, m.Assistance.content)
                .join(m.Assistance, m.Assistance.item_pk == m.Item.id)
                .where(m.Item.study_id == study.id)
            )
        ]
    if not rows:
        return {}
    gold = {str(item_id): str(label) for item_id, label, _ in main}
    annotated = {str(item_id) for item_id, _, data in main if is_annotated(Item.model_validate(data))}
    return assistance_quality(gold, rows, annotated=annotated)


def format_quality_summary(summary: dict[str, Any]) -> str:
    """Plain-text lines of :func:`quality_summary` (empty string when there is nothing)."""
    from tasks.assistance.quality import format_quality

    return format_quality(summary) if summary else ""
