"""AI assistance for oversight studies: evidence quotes, verdict, reasoning, debate.

Works on :class:`tasks.items.Item` objects only (no database): the study layer stores
the :class:`AssistanceRecord` rows that :func:`generate_assistance` yields. See
docs/assistance.md for what each kind is and how it is made.
"""

from tasks.assistance.debate import debate_labels
from tasks.assistance.encoder import (
    ENCODER_NAMES,
    Encoder,
    HashingEncoder,
    TextEncoder,
    default_model_path,
    encode,
    get_encoder,
    model_files_hash,
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
from tasks.assistance.reasoning import template_reasoning
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
    "CrossFit",
    "Encoder",
    "GenerativeWriter",
    "HashingEncoder",
    "QuoteCheck",
    "Sentence",
    "TextEncoder",
    "canonical_json",
    "content_hash",
    "crossfit",
    "debate_labels",
    "default_model_path",
    "encode",
    "external_quote",
    "generate_assistance",
    "get_encoder",
    "item_sentences",
    "model_files_hash",
    "normalise",
    "package_versions",
    "pair_features",
    "split_sentences",
    "template_reasoning",
    "verdict_metrics",
    "verdict_report",
    "verify_quote",
]
