"""The ``assistance:`` block of a study config (re-exported by :mod:`study.config`).

Which AI gives the verdict: the cross-fitted model (default), a controlled AI
(``verdict: {kind: controlled}``) or an LLM (``llm``); the last two exclude each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tasks.assistance.llm.settings import LLMSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class VerdictSettings(_Strict):
    """A controlled AI: seeded verdicts with a set accuracy and calibration (docs/assistance.md)."""

    kind: Literal["controlled"] = Field(description="`controlled` (the only kind besides the default cross-fitted model).")
    accuracy: float = Field(default=0.85, ge=0.0, le=1.0, description="Share of main items whose verdict is the gold label (exactly `round(accuracy * n)`).")
    calibration: Literal["calibrated", "overconfident", "underconfident"] = Field(
        default="calibrated", description="How confidences relate to accuracy: `calibrated` (ECE <= 0.05), `overconfident` or `underconfident`."
    )
    seed: int | None = Field(default=None, description="Seed of the verdict draw; empty = the study's `seed`.")


class AssistanceSettings(_Strict):
    """How AI assistance is generated before launch."""

    encoder: str = Field(default="minilm", description="`minilm` (bundled model), `hashing` (fast stand-in) or a local model directory.")
    quotes: int = Field(default=3, ge=1, le=10, description="Evidence quotes per item.")
    folds: int = Field(default=5, ge=2, le=20, description="Cross-fitting folds for the AI verdict.")
    generator_model: str | None = Field(default=None, description="Local causal-LM directory for reasoning/debate text; template text when empty.")
    max_new_tokens: int = Field(default=120, ge=1, le=2048, description="Generation length for the generative backend.")
    llm: LLMSettings | None = Field(
        default=None,
        description="An LLM as the AI: it gives the verdict (calibrated P(label)) and writes the reasoning, debate and consultancy text.",
    )
    verdict: VerdictSettings | None = Field(default=None, description="A controlled AI verdict instead of the cross-fitted model; empty = cross-fitted.")
    debate_rounds: int = Field(default=1, ge=1, le=10, description="Debate rounds: each round is one turn per side, stored as a transcript.")
    consultancy_correct_share: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of items (seeded, balanced per gold label) where the consultant argues the gold label."
    )

    @model_validator(mode="after")
    def _one_verdict_source(self) -> AssistanceSettings:
        if self.verdict is not None and self.llm is not None:
            raise ValueError(
                "`verdict` (a controlled AI) and `llm` (an LLM as the AI) both set the AI verdict; set only one of them"
            )
        return self
