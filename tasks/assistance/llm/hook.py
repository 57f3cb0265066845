"""How the assistance pipeline uses the LLM when ``config.llm`` is set.

The LLM's (calibrated) P(label) replaces the embedding model's verdict rows, so the
verdict, the reasoning's label and the debate's sides all follow the LLM; quote stances
are still scored by the embedding model. The LLM also writes the reasoning and debate
text, and through the turn-writer hook (``turn_writer``) every debate turn and the
consultancy argument; the leak filter (``debate.leaks``) still applies, so a turn that
gives the verdict away falls back to the template text. Every record it shaped gets ``parameters["llm_provenance"]``: backend, model, model identity,
prompt template hash and whether its answer came from the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tasks.assistance.debate import WriteTurn, turn_prompt
from tasks.assistance.generative import derived_seed
from tasks.assistance.llm.calibration import llm_verdicts
from tasks.assistance.llm.client import LLM
from tasks.assistance.llm.writer import LLMWriter
from tasks.items import Item

if TYPE_CHECKING:
    from tasks.assistance.content import Prepared
    from tasks.assistance.pipeline import AssistanceConfig


class LLMHook:
    """Builds the LLM verdicts for all items (before any record) and the LLM writer."""

    def __init__(self, config: AssistanceConfig, items: Sequence[Item], labels: Sequence[str], prepared: Prepared) -> None:
        if config.llm is None:
            raise ValueError("LLMHook needs config.llm")
        self.llm = LLM(config.llm)
        own = [it for it in items if not it.has_external_ai]
        self.verdicts = llm_verdicts(
            self.llm, own, labels, folds=config.folds, seed=config.seed, calibrate=config.llm.calibrate
        )
        proba = prepared.fit.proba.copy()
        for item_id in self.verdicts.item_ids:
            proba[prepared.states[item_id].index] = self.verdicts.row(item_id)
        prepared.fit = replace(prepared.fit, proba=proba)
        self.writer = LLMWriter(self.llm, max_new_tokens=config.llm.max_new_tokens)
        self.seed = config.seed

    def turn_writer(self, item: Item) -> WriteTurn:
        """The :data:`~tasks.assistance.content.TurnWriterFactory` of the LLM: ``write_turn``
        for ``item``'s debate turns and consultancy argument (``LLM.generate`` via the writer,
        seeded per item, side and turn)."""
        writer = self.writer

        def write(side: int, label: str, quotes: Sequence[dict[str, Any]], history: Sequence[dict[str, Any]]) -> str:
            seed = derived_seed(self.seed, item.item_id, "turn", str(side), str(len(history)))
            return writer.write(turn_prompt(item.claim, side, label, quotes, history), seed)

        return write

    def mark(self) -> tuple[int, int]:
        """Writer counters before a record is built."""
        return self.writer.calls, self.writer.cache_hits

    def generator(self, kind: str, generator: str) -> str:
        """``llm`` for content the LLM made (verdict or written text)."""
        return "llm" if generator in ("crossfit-logreg", "generative") else generator

    def provenance(self, item: Item, kind: str, generator: str, mark: tuple[int, int] | None) -> dict[str, Any] | None:
        """``{"llm_provenance": {...}}`` for records the LLM shaped, else None."""
        if generator == "crossfit-logreg":
            answer = self.verdicts.answers[item.item_id]
            info = self.llm.provenance(answer.cache_hit)
            info.update(
                confidence_source=answer.source,
                calibrated=self.verdicts.platt is not None,
                raw_probs={k: round(v, 4) for k, v in answer.probs.items()},
            )
            return {"llm_provenance": info}
        if generator == "generative" and mark is not None:
            calls = self.writer.calls - mark[0]
            hits = self.writer.cache_hits - mark[1]
            return {"llm_provenance": self.llm.provenance(calls > 0 and hits == calls)}
        if generator == "template" and item.item_id in self.verdicts.answers:  # LLM verdict, template text
            return {"llm_provenance": self.llm.provenance(self.verdicts.answers[item.item_id].cache_hit)}
        return None
