"""Optional generative backend: any local transformers causal LM writes reasoning/debate text.

Decoding is greedy by default; with ``do_sample=True`` it samples under a per-call seed,
so a record's text depends only on (model, prompt, seed), never on what else was
generated in the run (needed for resumable, reproducible generation).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

from tasks.assistance.encoder import model_files_hash, quiet_from_pretrained


def derived_seed(seed: int, *parts: str) -> int:
    """A 31-bit seed derived from a base seed and names (e.g. item id and kind)."""
    digest = hashlib.sha256("\0".join([str(seed), *parts]).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class GenerativeWriter:
    """Writes text with a local causal language model directory (offline).

    Args:
        model_path: directory holding a transformers causal LM and its tokenizer.
        max_new_tokens: generation budget per text.
        do_sample: sample (seeded) instead of greedy decoding.
        temperature, top_p: sampling parameters (ignored when greedy).
    """

    generator = "generative"

    def __init__(
        self,
        model_path: str | Path,
        *,
        max_new_tokens: int = 120,
        do_sample: bool = False,
        temperature: float = 0.7,
        top_p: float = 0.95,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(model_path)
        if not path.is_dir():
            raise FileNotFoundError(f"generative model directory not found: {path}")
        self.model = str(path)
        self.max_new_tokens = max_new_tokens
        self.do_sample = do_sample
        self.temperature = temperature
        self.top_p = top_p
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._lm = quiet_from_pretrained(AutoModelForCausalLM, path).eval()
        self._max_positions = self._context_size()

    @property
    def version(self) -> str:
        """sha256 of the model directory's files."""
        return model_files_hash(self.model)

    def _context_size(self) -> int:
        config = self._lm.config
        for name in ("max_position_embeddings", "n_positions", "n_ctx"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return min(int(self._tokenizer.model_max_length), 4096)

    def _generation_kwargs(self) -> dict[str, Any]:
        tok = self._tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": self.do_sample,
            "pad_token_id": pad,
        }
        if self.do_sample:
            kwargs.update(temperature=self.temperature, top_p=self.top_p)
        return kwargs

    def write(self, prompt: str, seed: int) -> str:
        """Text continuing ``prompt`` (new tokens only, stripped)."""
        import torch

        ids = self._tokenizer(prompt, return_tensors="pt")["input_ids"]
        room = max(1, self._max_positions - self.max_new_tokens)
        ids = ids[:, -room:]  # keep the end of an over-long prompt: it holds the instruction
        with torch.random.fork_rng(devices=[]), torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(seed)
            out = self._lm.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **self._generation_kwargs())
        return str(self._tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)).strip()
