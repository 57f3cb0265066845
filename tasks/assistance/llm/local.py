"""Local backend: any transformers causal LM directory, with its chat template when present."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasks.assistance.encoder import model_files_hash, quiet_from_pretrained
from tasks.assistance.llm.prompts import Message, normalise_probs, plain_prompt


class TransformersBackend:
    """Verdict probabilities and text from a local causal LM (offline, CPU or GPU).

    ``label_probs``: the next-token distribution after the prompt (chat template with the
    generation prompt, else :func:`plain_prompt`). A label's verbaliser is the first
    token of the label word, with and without a leading space (tokenisers differ at the
    start of an answer); P(label) is the sum over its verbaliser tokens, normalised over
    the labels. A token shared by two labels counts for neither.
    """

    backend = "transformers"

    def __init__(self, path: str | Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"LLM model directory not found: {root}")
        self.model = str(root)
        self.identity = "transformers:" + model_files_hash(root)
        self._tokenizer = AutoTokenizer.from_pretrained(str(root), local_files_only=True)
        self._lm = quiet_from_pretrained(AutoModelForCausalLM, root).eval()
        self.chat_template = bool(getattr(self._tokenizer, "chat_template", None))
        self._context = self._context_size()

    def _context_size(self) -> int:
        for name in ("max_position_embeddings", "n_positions", "n_ctx"):
            value = getattr(self._lm.config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return min(int(self._tokenizer.model_max_length), 4096)

    def _ids(self, messages: Sequence[Message], room: int) -> Any:
        import torch

        if self.chat_template:
            text = self._tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
            ids = self._tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        else:
            ids = self._tokenizer(plain_prompt(messages), return_tensors="pt")["input_ids"]
        ids = ids[:, -max(1, room) :]  # an over-long prompt keeps its end: it holds the question
        return ids if ids.shape[1] else torch.zeros((1, 1), dtype=torch.long)

    def verbalisers(self, labels: Sequence[str]) -> dict[str, list[int]]:
        """First-token ids of each label (with and without a leading space), shared ones dropped."""
        ids: dict[str, set[int]] = {}
        for label in labels:
            firsts = set()
            for variant in (label, " " + label):
                tokens = self._tokenizer(variant, add_special_tokens=False)["input_ids"]
                if tokens:
                    firsts.add(int(tokens[0]))
            ids[label] = firsts
        out = {}
        for label in labels:
            shared = set().union(*(ids[o] for o in labels if o != label))
            own = sorted(ids[label] - shared)
            if not own:
                raise ValueError(f"label {label!r} has no first token of its own in {self.model}; rename the labels")
            out[label] = own
        return out

    def label_probs(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        """P(label) from the next-token probabilities, normalised over the labels."""
        import torch

        ids = self._ids(messages, self._context)
        with torch.inference_mode():
            logits = self._lm(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, -1]
        probs = torch.softmax(logits.float(), dim=-1)
        scores = {label: float(probs[tokens].sum()) for label, tokens in self.verbalisers(labels).items()}
        return normalise_probs(scores, labels)

    def complete(self, messages: Sequence[Message], max_new_tokens: int, temperature: float, seed: int) -> str:
        """New text after the prompt (greedy at temperature 0, else seeded sampling)."""
        import torch

        tok = self._tokenizer
        ids = self._ids(messages, self._context - max_new_tokens)
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "do_sample": temperature > 0,
            "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        }
        if temperature > 0:
            kwargs["temperature"] = temperature
        with torch.random.fork_rng(devices=[]), torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(seed)
            out = self._lm.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
        return str(tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)).strip()
