"""Encoder throughput: tasks.assistance.Encoder vs sentence-transformers on the same texts.

Texts: Climate-FEVER claims and evidence sentences (all ~9.2k, or the first ``--limit``).
Sentence-transformers runs at each ``--st-batch-sizes`` (default 32 and 64), our encoder
at its default settings. The runs are interleaved (A, B, C, A, B, C, ...) ``--repeats``
times, so load from other jobs hits every side alike; the JSON reports the median
texts/s of each side, our speed-up over each sentence-transformers batch size, the
1-min load average before and after, and the minimum per-text cosine between our
embeddings and sentence-transformers'.

    python benchmarks/bench_encoder.py [--limit N] [--repeats 3] [--st-batch-sizes 32,64] [--int8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
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


def interleaved(sides: dict[str, Callable[[list[str]], object]], texts: list[str], repeats: int) -> dict[str, list[float]]:
    """Seconds per full pass of each side, sides interleaved within every repeat."""
    for fn in sides.values():
        fn(texts[:64])  # warm-up: first-call allocations and kernel selection
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            start = time.perf_counter()
            fn(texts)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--st-batch-sizes", default="32,64")
    parser.add_argument("--int8", action="store_true", help="also time Encoder(quantize=True)")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from tasks.assistance.encoder import Encoder, default_model_path

    texts = load_texts(args.dataset, args.limit)
    path = str(default_model_path())
    reference_model = SentenceTransformer(path, device="cpu")
    ours = {"ours": Encoder(path), "ours_fp32": Encoder(path, precision="fp32")}
    if args.int8:
        ours["ours_int8_attention"] = Encoder(path, quantize=True)
    sides: dict[str, Callable[[list[str]], object]] = {}
    for size in (int(s) for s in args.st_batch_sizes.split(",")):
        sides[f"st_batch_{size}"] = lambda t, size=size: reference_model.encode(t, batch_size=size)
    sides.update({name: enc.encode for name, enc in ours.items()})
    load_before = os.getloadavg()[0]
    seconds = interleaved(sides, texts, args.repeats)
    load_after = os.getloadavg()[0]
    median = {name: statistics.median(values) for name, values in seconds.items()}
    reference = np.asarray(reference_model.encode(texts, batch_size=32), dtype=np.float32)
    result: dict[str, object] = {
        "texts": len(texts),
        "repeats": args.repeats,
        "model": path,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1min_before": round(load_before, 2),
        "load_average_1min_after": round(load_after, 2),
        "seconds": {name: [round(s, 2) for s in values] for name, values in seconds.items()},
        "texts_per_s": {name: round(len(texts) / m, 1) for name, m in median.items()},
    }
    for name, encoder in ours.items():
        cosine = (encoder.encode(texts) * reference).sum(axis=1)
        result[f"{name}_speedup"] = {
            st: round(median[st] / median[name], 2) for st in median if st.startswith("st_batch_")
        }
        result[f"{name}_min_cosine"] = round(float(cosine.min()), 5)
        result[f"{name}_quantized"] = encoder.quantized
        result[f"{name}_bf16"] = encoder.bf16
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
