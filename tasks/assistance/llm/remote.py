"""OpenAI-compatible backend (vLLM, llama.cpp server, Ollama, hosted APIs) over HTTP."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tasks.assistance.llm.http import JsonPoster, LLMRequestError
from tasks.assistance.llm.prompts import Message, plain_prompt
from tasks.assistance.llm.settings import LLMSettings

#: Tokens asked for a verdict: the label word, then "Confidence: N%".
VERDICT_TOKENS = 16


class OpenAIBackend:
    """Calls ``/chat/completions`` (or ``/completions``) of an OpenAI-compatible server.

    Answers are reduced to ``{"text", "top"}``: the generated text, and the first
    token's top log-probabilities as ``{token: logprob}`` (None when the server sends
    none). The key from ``api_key_env`` goes into the Authorization header only.
    """

    backend = "openai"

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.base_url or not settings.model:
            raise ValueError("backend openai needs base_url and model")
        headers = {"Content-Type": "application/json"}
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
            if not key:
                raise ValueError(f"assistance.llm.api_key_env: environment variable {settings.api_key_env} is not set")
            headers["Authorization"] = f"Bearer {key}"
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.model = settings.model
        self.identity = f"openai:{self.base_url}|{self.model}"
        self.poster = JsonPoster(
            headers=headers,
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
            requests_per_minute=settings.requests_per_minute,
        )

    def payload(self, messages: Sequence[Message], max_tokens: int, temperature: float, seed: int, logprobs: bool) -> dict[str, Any]:
        """The request body (also the cache key's content)."""
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "temperature": temperature, "seed": seed}
        if self.settings.api == "chat":
            body["messages"] = list(messages)
            if logprobs:
                body.update(logprobs=True, top_logprobs=self.settings.top_logprobs)
        else:
            body["prompt"] = plain_prompt(messages)
            if logprobs:
                body["logprobs"] = self.settings.top_logprobs
        return body

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST the body; ``{"text", "top"}`` of the first choice."""
        endpoint = "/chat/completions" if self.settings.api == "chat" else "/completions"
        data = self.poster.post(self.base_url + endpoint, body)
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if self.settings.api == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise LLMRequestError(f"{self.base_url}{endpoint}: unexpected answer: {str(data)[:200]}") from None
        return {"text": str(text or ""), "top": _first_top(choice.get("logprobs"), self.settings.api)}


def _first_top(logprobs: Any, api: str) -> dict[str, float] | None:
    """``{token: logprob}`` of the first generated token, from either answer shape."""
    if not isinstance(logprobs, dict):
        return None
    try:
        if api == "chat":
            first = logprobs["content"][0]
            entries = first.get("top_logprobs") or [first]
            return {str(e["token"]): float(e["logprob"]) for e in entries}
        top = logprobs["top_logprobs"][0]
        return {str(t): float(lp) for t, lp in top.items()}
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
