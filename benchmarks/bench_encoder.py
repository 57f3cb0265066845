"""Encoder throughput: tasks.assistance.Encoder vs sentence-transformers on the same texts.

Texts: every Climate-FEVER claim and evidence sentence (~9.2k). Prints one JSON object:
texts/s for sentence-transformers, our fp32 encoder and our int8-attention encoder, the
speed ratios, and the minimum per-text cosine against sentence-transformers.

    python benchmarks/bench_encoder.py [--limit N] [--dataset PATH] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared" / "datasets" / "climate-fever.jsonl"


def load_texts(path: Path, limit: int | None) -> list[str]:
    texts: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(row["claim"])
            texts.extend(ev["evidence"] for ev in row["evidences"])
    return texts[:limit] if limit else texts


def timed(fn, texts: list[str]) -> tuple[np.ndarray, float]:
    fn(texts[:64])  # warm-up: first-call allocations and kernel selection
    start = time.perf_counter()
    out = fn(texts)
    return np.asarray(out, dtype=np.float32), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from tasks.assistance.encoder import Encoder, default_model_path

    texts = load_texts(args.dataset, args.limit)
    path = str(default_model_path())
    reference_model = SentenceTransformer(path, device="cpu")
    reference, t_ref = timed(lambda t: reference_model.encode(t, batch_size=args.batch_size), texts)
    result: dict[str, object] = {
        "texts": len(texts),
        "model": path,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "sentence_transformers_texts_per_s": round(len(texts) / t_ref, 1),
    }
    for label, quantize in (("fp32", False), ("int8_attention", True)):
        encoder = Encoder(path, batch_size=args.batch_size, quantize=quantize)
        ours, t_ours = timed(encoder.encode, texts)
        cosine = (ours * reference).sum(axis=1)
        result[f"{label}_quantized"] = encoder.quantized
        result[f"{label}_texts_per_s"] = round(len(texts) / t_ours, 1)
        result[f"{label}_speedup"] = round(t_ref / t_ours, 2)
        result[f"{label}_min_cosine"] = round(float(cosine.min()), 5)
        result[f"{label}_p01_cosine"] = round(float(np.percentile(cosine, 1)), 5)
        result[f"{label}_all_cosine_ge_0_99"] = bool(cosine.min() >= 0.99)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
