"""End-to-end assistance generation on Climate-FEVER SUPPORTS/REFUTES claims (~907 items).

Times model loading, the batch pass (encode + cross-fit) and record generation, then
prints one JSON object with the timings and the verdict report: cross-fitted accuracy vs
the majority-class rate, Brier, ECE and accuracy by confidence bin.

    python benchmarks/bench_assist.py [--limit N] [--encoder transformers|hashing] [--quantize]
        [--folds 5] [--seed 0] [--records out.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared" / "datasets" / "climate-fever.jsonl"
GOLD = {"SUPPORTS": "correct", "REFUTES": "incorrect"}


def load_items(path: Path, limit: int | None) -> list:
    """SUPPORTS/REFUTES claims through the official Climate-FEVER adapter."""
    from tasks.importers import read_item_bank

    items = list(read_item_bank(path, "climate-fever", labels=["correct", "incorrect"]))
    return items[:limit] if limit else items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--encoder", choices=["transformers", "hashing"], default="transformers")
    parser.add_argument("--quantize", action="store_true")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--records", type=Path, default=None, help="write the records as JSONL")
    args = parser.parse_args()

    from tasks.assistance import AssistanceConfig, generate_assistance, get_encoder, verdict_report

    items = load_items(args.dataset, args.limit)
    config = AssistanceConfig(encoder=args.encoder, quantize=args.quantize, folds=args.folds, seed=args.seed)
    start = time.perf_counter()
    encoder = (
        get_encoder(args.encoder, quantize=args.quantize) if args.encoder == "transformers" else get_encoder("hashing")
    )
    loaded = time.perf_counter()
    first_item_done: list[float] = []

    def progress(done: int, total: int) -> None:
        if done == 1:
            first_item_done.append(time.perf_counter())

    records = list(generate_assistance(items, ["correct", "incorrect"], config, progress=progress, encoder=encoder))
    end = time.perf_counter()
    if args.records:
        with open(args.records, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record.to_dict(), sort_keys=True) + "\n")
    quotes = [
        q
        for r in records
        for q in r.content.get("quotes", []) + [q for s in r.content.get("sides", []) for q in s["quotes"]]
    ]
    result = {
        "items": len(items),
        "records": len(records),
        "encoder": args.encoder,
        "quantized": bool(getattr(encoder, "quantized", False)),
        "folds": args.folds,
        "seed": args.seed,
        "load_model_s": round(loaded - start, 2),
        "encode_and_crossfit_s": round(first_item_done[0] - loaded, 2) if first_item_done else None,
        "total_s": round(end - start, 2),
        "generators": dict(Counter(f"{r.kind}:{r.generator}" for r in records)),
        "quotes_verified": f"{sum(q['verified'] for q in quotes)}/{len(quotes)}",
        "load_average_1min": round(os.getloadavg()[0], 2),
        "verdict_report": verdict_report(items, records),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
