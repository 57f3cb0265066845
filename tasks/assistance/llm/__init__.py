"""An LLM as the study's AI: verdict with P(label), calibrated, and the written text.

Backends: a local transformers causal LM (``backend: transformers``) or any
OpenAI-compatible server (``backend: openai``). Requests are cached on disk, so a re-run
or a resumed run pays nothing twice. See docs/assistance.md ("LLM verdicts and text").
"""

from tasks.assistance.llm.cache import RequestCache, request_key
from tasks.assistance.llm.calibration import LLMVerdicts, PlattFit, llm_verdicts, platt_crossfit, platt_features
from tasks.assistance.llm.client import LLM, VerdictAnswer, top_label
from tasks.assistance.llm.http import JsonPoster, LLMRequestError, retry_after_seconds
from tasks.assistance.llm.prompts import label_probs_from_top, parse_verbalised, template_hash
from tasks.assistance.llm.settings import LLMSettings
from tasks.assistance.llm.writer import LLMWriter

__all__ = [
    "LLM",
    "JsonPoster",
    "LLMRequestError",
    "LLMSettings",
    "LLMVerdicts",
    "LLMWriter",
    "PlattFit",
    "RequestCache",
    "VerdictAnswer",
    "label_probs_from_top",
    "llm_verdicts",
    "parse_verbalised",
    "platt_crossfit",
    "platt_features",
    "request_key",
    "retry_after_seconds",
    "template_hash",
    "top_label",
]
