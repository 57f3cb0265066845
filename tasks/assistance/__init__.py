"""AI assistance for oversight studies: evidence quotes, verdict, reasoning, debate, consultancy.

Works on :class:`tasks.items.Item` objects only (no database): the study layer stores
the :class:`AssistanceRecord` rows that :func:`generate_assistance` yields. See
docs/assistance.md for what each kind is and how it is made.
"""

from tasks.assistance.consultancy import consultancy_assignments
from tasks.assistance.controlled import ControlledVerdict, controlled_verdicts
from tasks.assistance.debate import WriteTurn, debate_labels, debate_transcript, leaks, template_turn
from tasks.assistance.encoder import (
    ENCODER_NAMES,
    Encoder,
    HashingEncoder,
    TextEncoder,
    default_model_path,
    encode,
    get_encoder,
    model_files_hash,
    native_bf16,
)
from tasks.assistance.evidence import (
    QuoteCheck,
    Sentence,
    external_quote,
    item_sentences,
    normalise,
    split_sentences,
    verify_quote,
)
from tasks.assistance.generative import GenerativeWriter
from tasks.assistance.kinds import (
    ASSISTANCE_KINDS,
    ASSISTANCE_ROW_KINDS,
    DEFAULT_DISPLAY,
    AssistanceKind,
    AssistanceRowKind,
)
from tasks.assistance.pipeline import (
    KINDS,
    AssistanceConfig,
    AssistanceRecord,
    canonical_json,
    content_hash,
    generate_assistance,
    package_versions,
    verdict_report,
)
from tasks.assistance.quality import assistance_quality, format_quality, quality_report
from tasks.assistance.reasoning import template_reasoning
from tasks.assistance.stance import favoured
from tasks.assistance.verdict import CrossFit, crossfit, pair_features, verdict_metrics

__all__ = [
    "ASSISTANCE_KINDS",
    "ASSISTANCE_ROW_KINDS",
    "DEFAULT_DISPLAY",
    "ENCODER_NAMES",
    "KINDS",
    "AssistanceConfig",
    "AssistanceKind",
    "AssistanceRecord",
    "AssistanceRowKind",
    "ControlledVerdict",
    "CrossFit",
    "Encoder",
    "GenerativeWriter",
    "HashingEncoder",
    "QuoteCheck",
    "Sentence",
    "TextEncoder",
    "WriteTurn",
    "assistance_quality",
    "canonical_json",
    "consultancy_assignments",
    "content_hash",
    "controlled_verdicts",
    "crossfit",
    "debate_labels",
    "debate_transcript",
    "default_model_path",
    "encode",
    "external_quote",
    "favoured",
    "format_quality",
    "generate_assistance",
    "get_encoder",
    "item_sentences",
    "leaks",
    "model_files_hash",
    "native_bf16",
    "normalise",
    "package_versions",
    "pair_features",
    "quality_report",
    "split_sentences",
    "template_reasoning",
    "template_turn",
    "verdict_metrics",
    "verdict_report",
    "verify_quote",
]
