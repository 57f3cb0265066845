"""Simulated raters that go through the same service layer as people.

Each simulated rater is a :class:`study.driver.RaterDriver`: it enrols, consents,
starts, reads every item from ``rater_view`` and submits through ``submit_judgment``
(and ``submit_initial`` in two-stage studies), answering with the behaviour model of
:mod:`analysis.simulation`. The simulator alone is allowed to look up gold labels and
the AI verdict (it plays the role of a rater with a given skill, not of a real one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from analysis.simulation import (
    SimItem,
    SimulationProfile,
    default_profile,
    draw_rater_effect,
    item_effect,
    simulate_response,
)
from study import models as m
from study.config import StudyConfig
from study.db import read_session
from study.driver import Answer, RaterDriver, RaterView
from study.service import ServiceError, _study, get_config


class SimulationInterrupted(ServiceError):
    """The database failed mid-run; ``report`` holds what was stored until then."""

    def __init__(self, message: str, report: SimulationReport):
        super().__init__(message)
        self.report = report


@dataclass
class SimulationReport:
    """What a simulation run stored in the database.

    ``raters`` counts raters this run enrolled (an id enrolled before is resumed and
    counted in ``resumed``); ``judgments`` counts judgments the database recorded, not
    submissions (a duplicate submission returns the stored judgment and adds nothing).
    """

    raters: int = 0
    judgments: int = 0
    resumed: int = 0
    by_condition: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)


def profile_for_study(config: StudyConfig, profile: SimulationProfile | None = None) -> SimulationProfile:
    """The profile with every study condition filled in (defaults by assistance kind,
    :data:`analysis.simulation.DEFAULT_PROFILE_BY_KIND`)."""
    given = dict(profile.conditions) if profile is not None else {}
    conditions = {c.key: given[c.key] if c.key in given else default_profile(c.assistance) for c in config.conditions}
    base = profile or SimulationProfile(labels=list(config.labels))
    return base.model_copy(update={"conditions": conditions, "labels": list(config.labels)})


def _truth(engine: Engine, name: str) -> dict[str, tuple[str, str, float | None]]:
    """item_id -> (gold label, AI label, AI confidence); AI = gold where no verdict exists."""
    with read_session(engine) as s:
        study = _study(s, name)
        gold = dict(s.execute(select(m.Item.id, m.Item.gold_label).where(m.Item.study_id == study.id)).all())
        ids = dict(s.execute(select(m.Item.id, m.Item.item_id).where(m.Item.study_id == study.id)).all())
        verdicts: dict[int, dict[str, Any]] = dict(s.execute(select(m.Assistance.item_pk, m.Assistance.content).where(
            m.Assistance.study_id == study.id, m.Assistance.kind == "verdict")).all())
    out = {}
    for pk, item_id in ids.items():
        v = verdicts.get(pk) or {}
        out[item_id] = (gold[pk], v.get("label", gold[pk]), v.get("confidence"))
    return out


def simulate_rater(
    engine: Engine, name: str, external_id: str, profile: SimulationProfile, rng: np.random.Generator,
    truth: dict[str, tuple[str, str, float | None]], *, seed: int, attention_pass: float = 0.98,
) -> tuple[str, str, int, bool]:
    """Run one simulated rater to the end.

    Returns (condition, final status, judgments the database recorded, whether this
    call enrolled the rater rather than resuming one).
    """
    effect = draw_rater_effect(rng, profile)

    def choose(view: RaterView) -> Answer:
        item = view.item
        assert item is not None
        gold, ai_label, ai_conf = truth[item.item_id]
        if item.is_attention_check:
            label = gold if rng.random() < attention_pass else next(x for x in view.labels if x != gold)
            return Answer(label, view.confidence_max)
        sim = SimItem(item_id=item.item_id, gold_label=gold, ai_label=ai_label, ai_confidence=ai_conf,
                      effect=item_effect(profile, item.item_id, seed))
        h0, c0, h, c = simulate_response(rng, profile, item.condition, effect, sim, view.two_stage)
        lo, hi = view.confidence_min, view.confidence_max
        initial = (h0, float(np.clip(c0, lo, hi))) if view.two_stage and h0 is not None and c0 is not None else None
        return Answer(h, float(np.clip(c, lo, hi)), initial=initial)

    run = RaterDriver(engine, name, external_id).run(choose)
    return run.condition, run.view.status, run.judgments, run.created


def simulate_study(
    engine: Engine,
    name: str,
    n_raters: int,
    *,
    seed: int = 0,
    profile: SimulationProfile | None = None,
    prefix: str = "sim",
    progress: Callable[[int, int], None] | None = None,
) -> SimulationReport:
    """Run ``n_raters`` simulated raters through a live study (seeded, reproducible).

    Raises :class:`SimulationInterrupted` (with the counts so far) when the database
    is unreachable or stays locked longer than its busy timeout; running the same
    command again resumes the same rater ids.
    """
    config = get_config(engine, name)
    prof = profile_for_study(config, profile)
    truth = _truth(engine, name)
    report = SimulationReport()
    for i in range(n_raters):
        rng = np.random.default_rng([seed, i])
        try:
            cond, status, n, created = simulate_rater(engine, name, f"{prefix}-{seed}-{i}", prof, rng, truth, seed=seed)
        except OperationalError as err:
            reason = str(err.orig).splitlines()[0] if err.orig is not None else type(err).__name__
            raise SimulationInterrupted(
                f"the database failed after {report.raters} new raters and {report.judgments} stored judgments "
                f"({reason}); run the same command again to resume", report) from None
        report.raters += int(created)
        report.resumed += int(not created)
        report.judgments += n
        report.by_condition[cond] += 1
        report.by_status[status] += 1
        if progress is not None:
            progress(i + 1, n_raters)
    return report
