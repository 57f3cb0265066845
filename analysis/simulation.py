"""Simulated raters with a declared behaviour per condition, for recovery tests and power.

Generative model (per judgment of rater r on item j in condition k):
- p0 = expit(logit(initial_skill_k) + u_r + v_j) and p = expit(logit(skill_k) + u_r + v_j),
  with rater effects u_r ~ N(0, rater_sd^2) and item effects v_j ~ N(0, item_sd^2)
  (logit-normal variation; with both sd = 0, p = skill exactly);
- the unassisted answer h0 is y with probability p0, else a uniformly drawn wrong label;
- the rater's own final answer keeps h0 except for a coupling that makes
  P(own answer correct) = p: a wrong h0 is corrected with probability (p - p0)/(1 - p0)
  when p > p0, a right h0 is spoiled with probability (p0 - p)/p0 when p < p0;
- if the condition shows the AI label (``shows_ai_label``), the rater adopts it with
  probability ``reliance`` (r); otherwise gives the own answer;
- confidence ~ clip(Normal(mean_correct or mean_wrong, sd), low, high).
So for binary labels with no random effects and initial_skill = skill:
over_reliance = P(h == a | a != y) = r + (1 - r)(1 - p), RAIR = r, RSR = 1 - r.
The AI: a == y with probability ``ai.accuracy`` per item, its confidence c from
``ai.confidence`` given whether it is right.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import expit, logit


class ConfidenceModel(BaseModel):
    """Confidence ~ clip(Normal(mean_correct if right else mean_wrong, sd), low, high)."""

    model_config = ConfigDict(extra="forbid")
    mean_correct: float = Field(default=0.8, ge=0.0, le=1.0)
    mean_wrong: float = Field(default=0.65, ge=0.0, le=1.0)
    sd: float = Field(default=0.1, ge=0.0)
    low: float = Field(default=0.5, ge=0.0, le=1.0)
    high: float = Field(default=1.0, ge=0.0, le=1.0)


class ConditionProfile(BaseModel):
    """Simulated rater behaviour in one condition."""

    model_config = ConfigDict(extra="forbid")
    skill: float = Field(default=0.7, gt=0.0, lt=1.0, description="Mean P(correct) of the rater's own answer.")
    initial_skill: float | None = Field(
        default=None, gt=0.0, lt=1.0, description="Two-stage: P(correct) before assistance (default: skill)."
    )
    shows_ai_label: bool = Field(default=False, description="The condition shows the AI's label.")
    reliance: float = Field(default=0.0, ge=0.0, le=1.0, description="P(adopt the shown AI label).")
    confidence: ConfidenceModel = Field(default_factory=ConfidenceModel)


class AIProfile(BaseModel):
    """The simulated AI: per-item correctness and confidence."""

    model_config = ConfigDict(extra="forbid")
    accuracy: float = Field(default=0.8, ge=0.0, le=1.0)
    confidence: ConfidenceModel = Field(
        default_factory=lambda: ConfidenceModel(mean_correct=0.85, mean_wrong=0.65, sd=0.12)
    )


#: Default simulated behaviour per assistance kind (``none``, ``evidence``, ``reasoning``,
#: ``debate``), the one table both the vectorised simulator and the service-layer
#: simulator use for a condition a profile does not name: evidence raises the rater's
#: own accuracy; reasoning shows the AI's label, adopted with probability 0.5.
DEFAULT_PROFILE_BY_KIND: dict[str, ConditionProfile] = {
    "none": ConditionProfile(skill=0.70),
    "evidence": ConditionProfile(skill=0.78),
    "reasoning": ConditionProfile(skill=0.70, shows_ai_label=True, reliance=0.5),
    "debate": ConditionProfile(skill=0.70),
    "consultancy": ConditionProfile(skill=0.70),
}


def default_profile(kind: str) -> ConditionProfile:
    """A fresh copy of the default behaviour for assistance kind ``kind`` (KeyError if unknown)."""
    return DEFAULT_PROFILE_BY_KIND[kind].model_copy(deep=True)


#: The conditions of a default simulated study: the four classic kinds (consultancy,
#: which needs assigned arguments, is simulated only when a profile names it).
DEFAULT_STUDY_KINDS = ("none", "evidence", "reasoning", "debate")


def _default_conditions() -> dict[str, ConditionProfile]:
    # Condition keys equal to the kinds: a study with one condition per kind.
    return {kind: default_profile(kind) for kind in DEFAULT_STUDY_KINDS}


class SimulationProfile(BaseModel):
    """A whole simulated population (see docs/metrics.md for the YAML format)."""

    model_config = ConfigDict(extra="forbid")
    labels: list[str] = Field(default_factory=lambda: ["correct", "incorrect"], min_length=2)
    rater_sd: float = Field(default=0.0, ge=0.0, description="SD of rater effects (logit scale).")
    item_sd: float = Field(default=0.0, ge=0.0, description="SD of item effects (logit scale).")
    ai: AIProfile = Field(default_factory=AIProfile)
    conditions: dict[str, ConditionProfile] = Field(default_factory=_default_conditions, min_length=1)
    time_ms_median: float = Field(default=15_000.0, gt=0.0)

    @classmethod
    def from_yaml(cls, source: str | Path) -> SimulationProfile:
        """Load from a YAML file path or YAML text."""
        is_file = isinstance(source, Path) or ("\n" not in source and Path(source).is_file())
        text = Path(source).read_text() if is_file else str(source)
        return cls.model_validate(yaml.safe_load(text) or {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationProfile:
        """Validate a plain dict (e.g. a study config section)."""
        return cls.model_validate(data)


class SimItem(BaseModel):
    """What a simulated rater needs to know about an item."""

    item_id: str
    gold_label: str
    ai_label: str
    ai_confidence: float | None = None
    effect: float = 0.0  # item effect on the logit scale (see item_effect)


def draw_confidence(rng: np.random.Generator, model: ConfidenceModel, right: np.ndarray) -> np.ndarray:
    """Confidence draws for an array of right/wrong answers."""
    mean = np.where(right, model.mean_correct, model.mean_wrong)
    return np.clip(rng.normal(mean, model.sd), model.low, model.high)


def _wrong(rng: np.random.Generator, gold: np.ndarray, n_labels: int) -> np.ndarray:
    return (gold + rng.integers(1, n_labels, size=gold.shape)) % n_labels


def respond(rng: np.random.Generator, profile: SimulationProfile, condition: str, gold: np.ndarray,
            ai: np.ndarray, lin: np.ndarray) -> tuple[np.ndarray, ...]:
    """Vectorised responses (label indices): returns (h0, initial_conf, h, conf).

    ``lin`` = u_r + v_j per judgment; see the module docstring for the model.
    """
    cp = profile.conditions[condition]
    n_labels = len(profile.labels)
    p = expit(logit(cp.skill) + lin)
    p0 = expit(logit(cp.initial_skill if cp.initial_skill is not None else cp.skill) + lin)
    right0 = rng.random(gold.shape) < p0
    h0 = np.where(right0, gold, _wrong(rng, gold, n_labels))
    u = rng.random(gold.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        fix = ~right0 & (p > p0) & (u < (p - p0) / (1.0 - p0))
        spoil = right0 & (p < p0) & (u < (p0 - p) / p0)
    own = np.where(fix, gold, np.where(spoil, _wrong(rng, gold, n_labels), h0))
    adopt = rng.random(gold.shape) < (cp.reliance if cp.shows_ai_label else 0.0)
    h = np.where(adopt, ai, own)
    return h0, draw_confidence(rng, cp.confidence, right0), h, draw_confidence(rng, cp.confidence, h == gold)


def item_effect(profile: SimulationProfile, item_id: str, seed: int) -> float:
    """A stable item effect v_j ~ N(0, item_sd^2) derived from (seed, item_id) alone.

    Lets a service-layer simulator give every simulated rater the same item difficulty
    without storing it.
    """
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return float(np.random.default_rng(int.from_bytes(digest[:8], "little")).normal(0.0, profile.item_sd))


def draw_rater_effect(rng: np.random.Generator, profile: SimulationProfile) -> float:
    """A rater effect u_r ~ N(0, rater_sd^2)."""
    return float(rng.normal(0.0, profile.rater_sd))


def simulate_response(
    rng: np.random.Generator,
    profile: SimulationProfile,
    condition: str,
    rater_effect: float,
    item: SimItem | dict[str, Any],
    two_stage: bool = False,
) -> tuple[str | None, float | None, str, float]:
    """One judgment: (initial_label, initial_confidence, final_label, confidence).

    ``initial_*`` are None unless ``two_stage``. Same model as :func:`simulate_judgments`.
    Labels outside ``profile.labels`` are added to the label set for this call.
    """
    it = item if isinstance(item, SimItem) else SimItem.model_validate(item)
    labels = list(profile.labels)
    for extra in (it.gold_label, it.ai_label):
        if extra not in labels:
            labels.append(extra)
    prof = profile if labels == profile.labels else profile.model_copy(update={"labels": labels})
    gold, ai = np.array([labels.index(it.gold_label)]), np.array([labels.index(it.ai_label)])
    h0, c0, h, c = respond(rng, prof, condition, gold, ai, np.array([rater_effect + it.effect]))
    if not two_stage:
        return None, None, labels[int(h[0])], float(c[0])
    return labels[int(h0[0])], float(c0[0]), labels[int(h[0])], float(c[0])


class RaterPolicy:
    """A simulated rater: fixed condition and rater effect, answers one item at a time."""

    def __init__(self, profile: SimulationProfile, condition: str, rng: np.random.Generator,
                 two_stage: bool = False) -> None:
        self.profile, self.condition, self.rng, self.two_stage = profile, condition, rng, two_stage
        self.effect = draw_rater_effect(rng, profile)

    def respond(self, item: SimItem | dict[str, Any]) -> tuple[str | None, float | None, str, float]:
        """(initial_label, initial_confidence, final_label, confidence) for one item."""
        return simulate_response(self.rng, self.profile, self.condition, self.effect, item, self.two_stage)


def simulate_items(rng: np.random.Generator, profile: SimulationProfile, n_items: int) -> dict[str, np.ndarray]:
    """Item arrays: gold and ai (label indices), ai_right, ai_conf, effect."""
    n_labels = len(profile.labels)
    gold = rng.integers(0, n_labels, n_items)
    right = rng.random(n_items) < profile.ai.accuracy
    ai = np.where(right, gold, _wrong(rng, gold, n_labels))
    conf = draw_confidence(rng, profile.ai.confidence, right)
    return {"gold": gold, "ai": ai, "ai_right": right, "ai_conf": conf,
            "effect": rng.normal(0.0, profile.item_sd, n_items)}


def _assignments(rng: np.random.Generator, n_raters: int, n_items: int,
                 items_per_rater: int | None) -> tuple[np.ndarray, np.ndarray]:
    m = n_items if items_per_rater is None else min(items_per_rater, n_items)
    if m == n_items:
        return np.repeat(np.arange(n_raters), n_items), np.tile(np.arange(n_items), n_raters)
    # Chunks of raters draw the same random stream as one (n_raters, n_items) array, in bounded memory.
    step = max(1, 2**23 // max(1, n_items))
    chosen = np.concatenate([np.argsort(rng.random((min(step, n_raters - lo), n_items)), axis=1)[:, :m]
                             for lo in range(0, n_raters, step)]) if n_raters else np.zeros((0, m), dtype=np.int64)
    return np.repeat(np.arange(n_raters), m), chosen.ravel()


def simulate_judgments(
    n_raters: int,
    n_items: int,
    profile: SimulationProfile | None = None,
    seed: int = 0,
    *,
    two_stage: bool = False,
    items_per_rater: int | None = None,
    conditions: list[str] | None = None,
) -> pd.DataFrame:
    """A tidy judgments table of a simulated between-subjects study (vectorised).

    Raters are assigned to ``conditions`` (default: all in the profile) in balanced,
    shuffled order; each rates ``items_per_rater`` random items (default: all).
    """
    profile = profile or SimulationProfile()
    conds = conditions or list(profile.conditions)
    rng = np.random.default_rng(seed)
    items = simulate_items(rng, profile, n_items)
    rater_cond = np.array(conds, dtype=object)[rng.permutation(n_raters) % len(conds)]
    rater_eff = rng.normal(0.0, profile.rater_sd, n_raters)
    r_idx, i_idx = _assignments(rng, n_raters, n_items, items_per_rater)
    row_cond = rater_cond[r_idx]
    out = {k: np.empty(len(r_idx), dtype=t) for k, t in
           (("h0", np.int64), ("c0", float), ("h", np.int64), ("c", float))}
    for cond in conds:
        m = row_cond == cond
        lin = rater_eff[r_idx[m]] + items["effect"][i_idx[m]]
        res = respond(rng, profile, cond, items["gold"][i_idx[m]], items["ai"][i_idx[m]], lin)
        for key, val in zip(("h0", "c0", "h", "c"), res, strict=True):
            out[key][m] = val
    return _frame(profile, items, rater_cond, r_idx, i_idx, out, two_stage, rng)


def _frame(profile: SimulationProfile, items: dict[str, np.ndarray], rater_cond: np.ndarray, r_idx: np.ndarray,
           i_idx: np.ndarray, out: dict[str, np.ndarray], two_stage: bool, rng: np.random.Generator) -> pd.DataFrame:
    labels = np.array(profile.labels, dtype=object)
    n = len(r_idx)
    rater_names = np.array([f"r{i:05d}" for i in range(len(rater_cond))], dtype=object)
    item_names = np.array([f"i{j:05d}" for j in range(len(items["gold"]))], dtype=object)
    frame = pd.DataFrame({
        "rater_id": rater_names[r_idx],
        "item_id": item_names[i_idx],
        "condition": rater_cond[r_idx],
        "gold_label": labels[items["gold"][i_idx]],
        "ai_label": labels[items["ai"][i_idx]],
        "ai_confidence": items["ai_conf"][i_idx],
        "initial_label": labels[out["h0"]] if two_stage else np.full(n, None, dtype=object),
        "initial_confidence": out["c0"] if two_stage else np.full(n, np.nan),
        "final_label": labels[out["h"]],
        "confidence": out["c"],
        "time_ms": np.round(rng.lognormal(np.log(profile.time_ms_median), 0.5, n)).astype(np.int64),
        "is_practice": np.zeros(n, dtype=bool),
        "is_attention_check": np.zeros(n, dtype=bool),
        "rater_status": "completed",
        "two_stage": two_stage,
    })
    return frame
