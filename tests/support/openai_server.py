"""A real OpenAI-protocol server on 127.0.0.1 serving a tiny local causal LM, for tests.

``build_tiny_lm(dir)`` saves a 1-layer GPT-2 (random weights) with a 20-word lower-case
tokenizer, so a top-20 log-probability list covers the whole vocabulary.

``OpenAIServer(model_dir, ...)`` serves ``POST /v1/chat/completions`` and
``POST /v1/completions`` (greedy decoding, ``logprobs``/``top_logprobs`` in the OpenAI
answer shapes) from a thread. Modes: ``rate_limit_first=N`` answers the first N requests
with HTTP 429 and ``Retry-After``; ``logprobs=False`` never returns log-probabilities;
``verbalise=True`` makes the answer "<greedy first token>\\nConfidence: <its probability
in %>" (a model that states its confidence); ``delay`` seconds per request. Every POST
is counted (``requests``, ``served``, ``bodies``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: The whole vocabulary (20 tokens, lower case; everything else is [UNK]).
VOCAB = [
    "[UNK]", "[PAD]", "correct", "incorrect", "claim", "sea", "level", "is", "rising", "falling",
    "the", "source", "says", "answer:", "confidence", "because", "and", "not", "a", "it",
]  # fmt: skip


def build_tiny_lm(path: Path, *, seed: int = 0) -> Path:
    """Save a 1-layer GPT-2 (random weights, seeded) and its word-level tokenizer to ``path``.

    The output head is untied and set so the model answers mostly ``correct`` or
    ``incorrect`` (as an instruction-following model would): the final layer norm has
    bias e_0 and gain 0.3, the two label rows of the head weigh e_0 by 5 and 4 plus
    N(0, 0.3) noise in the other dimensions (so the answer varies with the prompt).
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(VOCAB)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]")
    tokenizer.save_pretrained(path)
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=256, n_embd=32, n_layer=1, n_head=2,
        bos_token_id=None, eos_token_id=None, pad_token_id=vocab["[PAD]"], tie_word_embeddings=False,
    )  # fmt: skip
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        model.transformer.ln_f.weight.fill_(0.3)
        model.transformer.ln_f.bias.zero_()
        model.transformer.ln_f.bias[0] = 1.0
        head = model.lm_head.weight
        head[:, 0] = 0.0
        for word, weight in (("correct", 5.0), ("incorrect", 4.0)):
            row = vocab[word]
            head[row] = torch.randn(config.n_embd) * 0.3
            head[row, 0] = weight
    model.save_pretrained(path)
    return path


class _Model:
    """The served model: prompt rendering, next-token log-probabilities, greedy text."""

    def __init__(self, model_dir: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.lm = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True).eval()
        self.lock = threading.Lock()

    def render(self, messages: list[dict[str, str]]) -> str:
        """Chat template when the tokenizer has one; else contents joined, then "Answer:"."""
        if getattr(self.tokenizer, "chat_template", None):
            return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        return "\n\n".join(m["content"] for m in messages) + "\n\nAnswer:"

    def run(self, prompt: str, max_tokens: int) -> tuple[list[int], list[Any]]:
        """Greedy new token ids and the log-softmax row before each of them."""
        import torch

        ids = self.tokenizer(prompt, return_tensors="pt")["input_ids"][:, -(256 - max_tokens) :]
        new: list[int] = []
        rows = []
        with self.lock, torch.inference_mode():
            for _ in range(max_tokens):
                logp = torch.log_softmax(self.lm(input_ids=ids).logits[0, -1].float(), dim=-1)
                token = int(torch.argmax(logp))
                new.append(token)
                rows.append(logp)
                ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
        return new, rows


class OpenAIServer:
    """Threaded HTTP server speaking the OpenAI completions protocol (see module doc)."""

    def __init__(
        self,
        model_dir: Path,
        *,
        logprobs: bool = True,
        verbalise: bool = False,
        rate_limit_first: int = 0,
        retry_after: str = "1",
        delay: float = 0.0,
    ) -> None:
        self.model = _Model(model_dir)
        self.logprobs, self.verbalise = logprobs, verbalise
        self.rate_limit_first, self.retry_after, self.delay = rate_limit_first, retry_after, delay
        self.requests = 0  # every POST
        self.served = 0  # answered with 200
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self._count_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server._count_lock:
                    server.requests += 1
                    limited = server.requests <= server.rate_limit_first
                    server.auth.append(self.headers.get("Authorization"))
                if limited:
                    self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": server.retry_after})
                    return
                if self.path not in ("/v1/chat/completions", "/v1/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                time.sleep(server.delay)
                answer = server.answer(self.path.endswith("chat/completions"), body)
                with server._count_lock:
                    server.served += 1
                    server.bodies.append(body)
                self._send(200, answer)

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def answer(self, chat: bool, body: dict[str, Any]) -> dict[str, Any]:
        """The OpenAI-shaped answer to one request body."""
        tok = self.model.tokenizer
        prompt = self.model.render(body["messages"]) if chat else str(body["prompt"])
        new, rows = self.model.run(prompt, int(body.get("max_tokens") or 16))
        text = str(tok.decode(new, skip_special_tokens=True))
        if self.verbalise:
            first = tok.convert_ids_to_tokens(new[0])
            text = f"{first}\nConfidence: {100 * float(rows[0][new[0]].exp()):.0f}%"
        k = int(body.get("top_logprobs") or 0) if chat else int(body.get("logprobs") or 0)
        want = bool(body.get("logprobs")) and self.logprobs and k > 0
        choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        if want:
            choice["logprobs"] = self._logprobs(chat, new, rows, k)
        usage = {"prompt_tokens": len(tok(prompt)["input_ids"]), "completion_tokens": len(new)}
        kind = "chat.completion" if chat else "text_completion"
        return {"id": f"tiny-{self.requests}", "object": kind, "model": body.get("model"), "choices": [choice], "usage": usage}

    def _logprobs(self, chat: bool, new: list[int], rows: list[Any], k: int) -> dict[str, Any]:
        import torch

        tok = self.model.tokenizer
        steps = []
        for token, logp in zip(new, rows, strict=True):
            values, ids = torch.topk(logp, min(k, len(logp)))
            top = [(tok.convert_ids_to_tokens(int(i)), float(v)) for v, i in zip(values, ids, strict=True)]
            steps.append((tok.convert_ids_to_tokens(token), float(logp[token]), top))
        if chat:
            return {"content": [
                {"token": t, "logprob": lp, "top_logprobs": [{"token": a, "logprob": b} for a, b in top]}
                for t, lp, top in steps
            ]}  # fmt: skip
        return {
            "tokens": [t for t, _, _ in steps],
            "token_logprobs": [lp for _, lp, _ in steps],
            "top_logprobs": [dict(top) for _, _, top in steps],
        }
