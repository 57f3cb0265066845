"""Settings of the LLM that gives verdicts and writes text (``assistance.llm`` in a study config)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LLMSettings(BaseModel):
    """Which LLM gives the AI verdict and writes the reasoning and debate text.

    ``backend: transformers`` loads a local causal-LM directory (``path``);
    ``backend: openai`` calls any OpenAI-compatible server (``base_url``, ``model``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["transformers", "openai"] = Field(
        description="`transformers`: a local causal-LM directory; `openai`: an OpenAI-compatible HTTP server."
    )
    path: str | None = Field(default=None, description="Local model directory (backend `transformers`).")
    base_url: str | None = Field(
        default=None, description="Server URL up to `/v1`, e.g. `http://127.0.0.1:8000/v1` (backend `openai`)."
    )
    model: str | None = Field(default=None, description="Model name sent to the server (backend `openai`).")
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the API key; the key itself is never stored."
    )
    api: Literal["chat", "completions"] = Field(
        default="chat", description="Server endpoint: `chat` (/chat/completions) or `completions` (/completions)."
    )
    logprobs: bool = Field(
        default=True, description="Ask the server for token log-probabilities; without them the verdict uses a verbalised confidence."
    )
    top_logprobs: int = Field(default=20, ge=1, le=20, description="Alternatives per token asked for with `logprobs`.")
    calibrate: bool = Field(
        default=True, description="Calibrate the verdict confidence against gold labels (cross-fitted Platt scaling)."
    )
    max_new_tokens: int = Field(default=200, ge=1, le=4096, description="Generation budget per written text.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature of written text; 0 = greedy.")
    cache_dir: str = Field(
        default="data/cache/llm", description="Directory of the on-disk request cache (a re-run is free and identical)."
    )
    timeout_seconds: float = Field(default=120.0, gt=0.0, le=3600.0, description="HTTP timeout per request.")
    max_retries: int = Field(default=6, ge=0, le=20, description="Retries of a failed or rate-limited request (exponential backoff).")
    requests_per_minute: float | None = Field(
        default=None, gt=0.0, description="Client-side request rate limit; none = as fast as the server allows."
    )

    @model_validator(mode="after")
    def _backend_fields(self) -> LLMSettings:
        if self.backend == "transformers" and not self.path:
            raise ValueError("backend transformers needs `path` (a local model directory)")
        if self.backend == "openai" and not (self.base_url and self.model):
            raise ValueError("backend openai needs `base_url` and `model`")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return self
