"""The LLM as the study's AI: verdicts with P(label) and written text, cached on disk.

:class:`LLM` wraps a backend (local transformers model or OpenAI-compatible server) with
the request cache. ``verdict(item, labels)`` gives the label and the normalised P(label)
(before calibration, see :mod:`tasks.assistance.llm.calibration`); ``generate(prompt,
max_new_tokens)`` writes reasoning, debate turns or consultancy text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.assistance.llm.cache import RequestCache, request_key
from tasks.assistance.llm.local import TransformersBackend
from tasks.assistance.llm.prompts import (
    label_probs_from_top,
    normalise_probs,
    parse_verbalised,
    template_hash,
    verdict_messages,
    writer_messages,
)
from tasks.assistance.llm.remote import VERDICT_TOKENS, OpenAIBackend
from tasks.assistance.llm.settings import LLMSettings
from tasks.items import Item


@dataclass(frozen=True)
class VerdictAnswer:
    """One item's LLM verdict before calibration.

    ``source``: where P(label) came from: ``next-token`` (local model), ``logprobs``
    (server log-probabilities), ``verbalised`` (the stated confidence) or ``unparsed``
    (no label in the answer: uniform probabilities).
    """

    label: str
    probs: dict[str, float]
    source: str
    cache_hit: bool


def top_label(probs: dict[str, float], labels: Sequence[str]) -> str:
    """The most probable label (the first in label order on a tie)."""
    return max(labels, key=lambda label: (probs[label], -list(labels).index(label)))


class LLM:
    """An LLM backend plus the on-disk request cache.

    Args:
        settings: ``assistance.llm`` settings.
        cache_dir: overrides ``settings.cache_dir``.
    """

    def __init__(self, settings: LLMSettings, *, cache_dir: str | Path | None = None) -> None:
        self.settings = settings
        self._backend: TransformersBackend | OpenAIBackend
        if settings.backend == "transformers":
            self._backend = TransformersBackend(str(settings.path))
        else:
            self._backend = OpenAIBackend(settings)
        self.cache = RequestCache(cache_dir if cache_dir is not None else settings.cache_dir)
        self.requests = 0  # answers computed or fetched (cache misses)
        self.cache_hits = 0

    @property
    def backend(self) -> str:
        return self._backend.backend

    @property
    def model(self) -> str:
        """Model directory (local) or model name (server)."""
        return str(self._backend.model)

    @property
    def identity(self) -> str:
        """Exact model identity: sha256 of the files (local) or server URL and model name."""
        return self._backend.identity

    @property
    def retries(self) -> int:
        """HTTP retries so far (rate limits, server errors); 0 for the local backend."""
        return self._backend.poster.retries if isinstance(self._backend, OpenAIBackend) else 0

    @property
    def prompt_template_hash(self) -> str:
        return template_hash()

    def provenance(self, cache_hit: bool | None) -> dict[str, Any]:
        """What a record says about the LLM that made it."""
        return {
            "backend": self.backend,
            "model": self.model,
            "model_identity": self.identity,
            "prompt_template_hash": self.prompt_template_hash,
            "cache_hit": cache_hit,
        }

    def _cached(self, payload: dict[str, Any], compute: Callable[[], Any]) -> tuple[Any, bool]:
        key = request_key(self.identity, payload)
        answer = self.cache.get(key)
        if answer is not None:
            self.cache_hits += 1
            return answer, True
        answer = compute()
        self.requests += 1
        self.cache.put(key, answer)
        return answer, False

    def generate(self, prompt: str, max_new_tokens: int | None = None, *, seed: int = 0) -> str:
        """Text the model writes for ``prompt`` (greedy at temperature 0, else seeded)."""
        text, _ = self.generate_cached(prompt, max_new_tokens, seed=seed)
        return text

    def generate_cached(self, prompt: str, max_new_tokens: int | None = None, *, seed: int = 0) -> tuple[str, bool]:
        """``(text, cache_hit)``."""
        budget = max_new_tokens or self.settings.max_new_tokens
        temperature = self.settings.temperature
        seed = seed if temperature > 0 else 0  # greedy text does not depend on the seed
        messages = writer_messages(prompt)
        backend = self._backend
        if isinstance(backend, TransformersBackend):
            payload: dict[str, Any] = {
                "op": "generate", "messages": messages, "max_new_tokens": budget, "temperature": temperature, "seed": seed,
            }  # fmt: skip
            answer, hit = self._cached(payload, lambda: {"text": backend.complete(messages, budget, temperature, seed)})
        else:
            body = backend.payload(messages, budget, temperature, seed, logprobs=False)
            answer, hit = self._cached(body, lambda: backend.send(body))
        return str(answer["text"]), hit

    def verdict(self, item: Item, labels: Sequence[str]) -> tuple[str, dict[str, float]]:
        """``(label, {label: P(label)})``, probabilities normalised over ``labels``."""
        answer = self.verdict_answer(item, labels)
        return answer.label, answer.probs

    def verdict_answer(self, item: Item, labels: Sequence[str]) -> VerdictAnswer:
        """The verdict with where its probabilities came from and whether it was cached."""
        labels = list(labels)
        messages = verdict_messages(item, labels)
        backend = self._backend
        if isinstance(backend, TransformersBackend):
            payload = {"op": "label_probs", "messages": messages, "labels": labels}
            answer, hit = self._cached(payload, lambda: {"probs": backend.label_probs(messages, labels)})
            probs, source = normalise_probs(answer["probs"], labels), "next-token"
        else:
            body = backend.payload(messages, VERDICT_TOKENS, 0.0, 0, logprobs=self.settings.logprobs)
            answer, hit = self._cached(body, lambda: backend.send(body))
            probs, source = _server_probs(answer, labels)
        return VerdictAnswer(top_label(probs, labels), probs, source, hit)


def _server_probs(answer: dict[str, Any], labels: list[str]) -> tuple[dict[str, float], str]:
    if answer.get("top"):
        from_top = label_probs_from_top(answer["top"], labels)
        if from_top is not None:
            return from_top, "logprobs"
    stated = parse_verbalised(str(answer.get("text", "")), labels)
    if stated is not None:
        return stated, "verbalised"
    return {label: 1.0 / len(labels) for label in labels}, "unparsed"
