"""The LLM as the pipeline's text writer (same interface as the local generative writer)."""

from __future__ import annotations

from tasks.assistance.generative import GenerativeWriter
from tasks.assistance.llm.client import LLM


class LLMWriter(GenerativeWriter):
    """Writes reasoning and debate text with an :class:`LLM` (cached requests).

    ``cache_hits``/``calls`` count this writer's requests, so the pipeline can record
    per record whether its text came from the cache.
    """

    generator = "generative"

    def __init__(self, llm: LLM, *, max_new_tokens: int | None = None) -> None:  # noqa: D107
        # Deliberately no super().__init__: the model is the LLM's, not a directory to load.
        self.llm = llm
        self.model = llm.model
        self.max_new_tokens = max_new_tokens or llm.settings.max_new_tokens
        self.do_sample = llm.settings.temperature > 0
        self.temperature = llm.settings.temperature
        self.top_p = 1.0
        self.calls = 0
        self.cache_hits = 0

    @property
    def version(self) -> str:
        return self.llm.identity

    def write(self, prompt: str, seed: int) -> str:
        """The LLM's text for ``prompt`` (seeded when sampling)."""
        text, hit = self.llm.generate_cached(prompt, self.max_new_tokens, seed=seed)
        self.calls += 1
        self.cache_hits += int(hit)
        return text.strip()
