"""Generative backend with a tiny causal LM built from a config in a temp dir (real
loading and generation code, no network, a few MB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.assistance import AssistanceConfig, GenerativeWriter, generate_assistance, model_files_hash
from tasks.assistance.generative import derived_seed
from tasks.items import Item, Source

WORDS = [
    "the",
    "claim",
    "is",
    "correct",
    "incorrect",
    "evidence",
    "sea",
    "level",
    "ice",
    "rising",
    "falling",
    "because",
    "source",
    "says",
    "confidence",
    "verdict",
    "explain",
    "argue",
    "briefly",
    "that",
    "and",
    "not",
    "a",
    "of",
    "in",
    "to",
    "it",
    "this",
    "with",
    "model",
]


@pytest.fixture(scope="module")
def assist_tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-layer GPT-2 (n_embd=32) and a word-level tokenizer saved to a temp dir."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-lm")
    vocab = {token: i for i, token in enumerate(["[UNK]", "[PAD]", *dict.fromkeys(WORDS)])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # [UNK] is left out of the special tokens so that decoding keeps it: a random model
    # that only emits [UNK] still writes visible text.
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]")
    tokenizer.save_pretrained(path)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=64, n_embd=32, n_layer=1, n_head=2,
        bos_token_id=None, eos_token_id=None, pad_token_id=vocab["[PAD]"],
    )  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(path)
    return path


def test_writer_loads_and_generates_new_words_only(assist_tiny_lm: Path) -> None:
    writer = GenerativeWriter(assist_tiny_lm, max_new_tokens=7)
    text = writer.write("the claim is correct because", seed=1)
    words = text.split()
    assert 1 <= len(words) <= 7
    assert set(words) <= set(WORDS) | {"[UNK]"}
    assert writer.version == model_files_hash(assist_tiny_lm)


def test_greedy_is_deterministic_and_prompt_dependent(assist_tiny_lm: Path) -> None:
    writer = GenerativeWriter(assist_tiny_lm, max_new_tokens=12)
    prompts = [
        f"the claim is {w} because the source says sea level is {v}"
        for w in ("correct", "incorrect")
        for v in ("rising", "falling")
    ]
    first = [writer.write(p, seed=0) for p in prompts]
    assert first == [GenerativeWriter(assist_tiny_lm, max_new_tokens=12).write(p, seed=99) for p in prompts]
    assert len(set(first)) > 1


def test_sampling_depends_on_the_seed_only(assist_tiny_lm: Path) -> None:
    writer = GenerativeWriter(assist_tiny_lm, max_new_tokens=15, do_sample=True, temperature=5.0)
    a, b = (
        writer.write("evidence", seed=derived_seed(0, "i1", "reasoning")),
        writer.write("evidence", seed=derived_seed(0, "i1", "reasoning")),
    )
    assert a == b
    others = {writer.write("evidence", seed=s) for s in range(5)}
    assert len(others) > 1


def test_overlong_prompt_is_cut_to_the_context(assist_tiny_lm: Path) -> None:
    writer = GenerativeWriter(assist_tiny_lm, max_new_tokens=10)
    assert writer.write("sea level " * 200 + "explain", seed=0)  # n_positions=64 would overflow


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="generative model directory not found"):
        GenerativeWriter(tmp_path / "nope")


def _bank() -> list[Item]:
    items = []
    for i in range(12):
        rising = i % 2 == 0
        items.append(
            Item(
                item_id=f"g{i:02d}",
                claim=f"Sea level is {'rising' if rising else 'falling'} at site {i}.",
                gold_label="correct" if rising else "incorrect",
                sources=[
                    Source(title="Sea level", text=f"Sea level is rising at site {i}. Ice at site {i} is falling.")
                ],
            )
        )
    return items


def test_pipeline_uses_the_generative_backend_for_reasoning_and_debate(assist_tiny_lm: Path) -> None:
    config = AssistanceConfig(encoder="hashing", folds=3, generative_model_path=str(assist_tiny_lm), max_new_tokens=6)
    items = _bank()
    records = list(generate_assistance(items, ["correct", "incorrect"], config))
    by_kind = {(r.item_id, r.kind): r for r in records}
    reasoning = by_kind[("g00", "reasoning")]
    assert reasoning.generator == "generative"
    assert reasoning.model == str(assist_tiny_lm) and reasoning.model_version == model_files_hash(assist_tiny_lm)
    assert 1 <= len(reasoning.content["reasoning"].split()) <= 6
    debate = by_kind[("g00", "debate")]
    assert debate.generator == "generative"
    assert [s["label"] for s in debate.content["sides"]] == ["correct", "incorrect"]
    assert by_kind[("g00", "verdict")].generator == "crossfit-logreg"
    # resumable with generation too: skipping half gives the same remaining records
    skip = {(r.item_id, r.kind) for r in records[::2]}
    resumed = list(generate_assistance(items, ["correct", "incorrect"], config, skip=skip))
    assert resumed == [r for r in records if (r.item_id, r.kind) not in skip]
