"""The study's bonus rule (config ``bonus``): what each rater earns in Prolific's bulk bonus.

Declared here rather than in :mod:`study.config` (which holds it as ``StudyConfig.bonus``)
so the config module stays small; :mod:`study.review` writes ``bonus.csv`` from it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BonusRule", "bonus_amount"]


class BonusRule(BaseModel):
    """A performance bonus, paid with Prolific's bulk bonus (the export's ``bonus.csv``).

    amount = min(``max``, ``per_correct`` x correct main items), rounded to cents, for
    raters whose status is in ``statuses`` and who were not rejected in the review.
    """

    per_correct: float = Field(default=0.0, ge=0.0, le=100.0, description="Bonus per correct main item (0 = no bonus).")
    currency: str = Field(default="GBP", min_length=3, max_length=3, description="Currency code of the amounts (Prolific pays in the study's currency).")
    max: float | None = Field(default=None, ge=0.0, description="Largest bonus per rater; empty = no cap.")
    statuses: list[str] = Field(default_factory=lambda: ["completed"], description="Rater statuses that earn a bonus.")

    model_config = ConfigDict(extra="forbid")


def bonus_amount(rule: BonusRule, n_correct: int) -> float:
    """min(``max``, ``per_correct`` x ``n_correct``), rounded to cents."""
    amount = rule.per_correct * max(n_correct, 0)
    if rule.max is not None:
        amount = min(amount, rule.max)
    return round(amount + 1e-9, 2)
