"""The console's full-flow preview: every screen a rater meets, read-only.

:func:`flow_steps` lists the screens of one rater's session in a condition: consent,
instructions, the practice items, the main items with the attention checks spread
among them (two steps per item in two-stage studies: before and after the reveal),
the exit questions and the end screen. :func:`step_view` builds the
:class:`~study.rater.RaterView` of a step from the same code as the rater page
(:func:`study.monitor.item_preview` for items); nothing is written, no rater is
enrolled. The items are the study's first ones in import order (a real rater's are
drawn by the balancer). :func:`item_truth` is what the experimenter sees on top of
each item: the gold label and whether the stored AI verdict is right.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Engine, select

from study import models as m
from study.db import read_session
from study.monitor import item_preview
from study.rater import RaterView
from study.service import _study, get_config, study_config

__all__ = ["FlowStep", "ItemTruth", "flow_steps", "item_truth", "step_view"]


@dataclass(frozen=True)
class FlowStep:
    """One screen of the flow: ``screen`` as in :class:`RaterView`; items name ``item_id``."""

    screen: str  # consent | instructions | item | exit | done
    item_id: str = ""
    role: str = ""
    revealed: bool = False  # two-stage: after the first answer
    position: int = 0  # 0-based position among the items

    @property
    def title(self) -> str:
        if self.screen != "item":
            return {"consent": "Consent", "instructions": "Instructions", "exit": "Exit questions",
                    "done": "End screen"}[self.screen]
        what = {"practice": "practice item", "attention_check": "attention check"}.get(self.role, "item")
        stage = " (after the first answer)" if self.revealed else ""
        return f"{self.position + 1}. {what} {self.item_id}{stage}"


@dataclass(frozen=True)
class ItemTruth:
    """What the experimenter is told about an item: gold label, AI verdict, whether it is right."""

    gold_label: str
    ai_label: str | None
    ai_confidence: float | None

    @property
    def ai_correct(self) -> bool | None:
        return None if self.ai_label is None else self.ai_label == self.gold_label


def _spread(main: list[str], checks: list[str]) -> list[str]:
    """``checks`` inserted at evenly spaced positions among ``main``."""
    out = list(main)
    for i, check in enumerate(checks):
        out.insert(min(len(out), round((i + 1) * len(main) / (len(checks) + 1)) + i), check)
    return out


def flow_steps(engine: Engine, name: str) -> list[FlowStep]:
    """The screens of one rater's session, in order (see the module docstring)."""
    with read_session(engine) as s:
        study = _study(s, name)
        config = study_config(s, study)
        rows = s.execute(select(m.Item.item_id, m.Item.role).where(m.Item.study_id == study.id)
                         .order_by(m.Item.id)).all()
    by_role: dict[str, list[str]] = {"practice": [], "main": [], "attention_check": []}
    for item_id, role in rows:
        by_role.setdefault(role, []).append(item_id)
    practice = by_role["practice"][: config.practice_items]
    main = _spread(by_role["main"][: config.items_per_rater], by_role["attention_check"][: config.attention_checks])
    roles = dict(rows)
    steps = [FlowStep("consent"), FlowStep("instructions")]
    for pos, item_id in enumerate([*practice, *main]):
        role = roles[item_id]
        steps.append(FlowStep("item", item_id, role, False, pos))
        if config.design.two_stage and role != "attention_check":
            steps.append(FlowStep("item", item_id, role, True, pos))
    return [*steps, FlowStep("exit"), FlowStep("done")]


def step_view(engine: Engine, name: str, condition: str, step: FlowStep, *, debate_flip: bool = False) -> RaterView:
    """The rater's screen at ``step`` in ``condition`` (nothing is recorded)."""
    config = get_config(engine, name)
    if step.screen == "item":
        initial = (config.labels[0], round((config.confidence.min + config.confidence.max) / 2, 2)) \
            if step.revealed else None
        view = item_preview(engine, name, step.item_id, condition, debate_flip=debate_flip, initial=initial)
        return replace(view, position=step.position)
    with read_session(engine) as s:
        first = s.execute(select(m.Item.item_id).where(m.Item.study_id == _study(s, name).id)).first()
    base = item_preview(engine, name, first[0], condition) if first is not None else None
    if base is None:
        raise ValueError(f"study {name!r} has no items to preview")
    code = config.completion.completed
    redirect = config.completion.redirect_url.replace("{code}", code) if config.completion.redirect_url else None
    done = step.screen == "done"
    return replace(base, screen=step.screen, item=None, status="completed" if step.screen in ("exit", "done") else "active",
                   position=base.total if step.screen in ("exit", "done") else 0,
                   completion_code=code if done else None, redirect_url=redirect if done else None,
                   seconds_left=config.time_limit_minutes * 60)


def item_truth(engine: Engine, name: str, item_id: str) -> ItemTruth:
    """Gold label and the stored AI verdict (``ai_label`` None when none is stored yet)."""
    with read_session(engine) as s:
        study = _study(s, name)
        gold, pk = s.execute(select(m.Item.gold_label, m.Item.id).where(
            m.Item.study_id == study.id, m.Item.item_id == item_id)).one()
        content = s.scalars(select(m.Assistance.content).where(
            m.Assistance.item_pk == pk, m.Assistance.kind == "verdict")).first()
    if not content:
        return ItemTruth(gold, None, None)
    conf = content.get("confidence")
    return ItemTruth(gold, str(content.get("label")), float(conf) if conf is not None else None)
