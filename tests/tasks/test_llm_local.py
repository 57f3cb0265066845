"""Local LLM backend on a 1-layer GPT-2 built from a config (real loading and scoring code)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from support.openai_server import build_tiny_lm
from transformers import AutoModelForCausalLM, AutoTokenizer

from tasks.assistance.llm import LLM, LLMSettings, llm_verdicts
from tasks.assistance.llm.prompts import plain_prompt, verdict_messages
from tasks.items import Item, Source

LABELS = ["correct", "incorrect"]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} says {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}answer: {% endif %}"
)


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-llm"))


@pytest.fixture(scope="module")
def tiny_chat_lm(tiny_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-chat-llm") / "model"
    shutil.copytree(tiny_lm, path)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)
    return path


def bank(n: int = 12) -> list[Item]:
    items = []
    for i in range(n):
        rising = i % 2 == 0
        items.append(
            Item(
                item_id=f"l{i:02d}",
                claim=f"Sea level is {'rising' if rising else 'falling'} {'and it is not' * (i % 3)} at site {i}.",
                gold_label="correct" if rising else "incorrect",
                sources=[Source(title="Sea level", text=f"The source says sea level is rising {'a ' * i}at site {i}.")],
            )
        )
    return items


def _manual_probs(path: Path, text: str) -> dict[str, float]:
    """P(correct), P(incorrect) from the model's next-token softmax, computed independently."""
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True).eval()
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=ids).logits[0, -1], dim=-1)
    p = {label: float(probs[tokenizer.convert_tokens_to_ids(label)]) for label in LABELS}
    return {label: v / sum(p.values()) for label, v in p.items()}


def test_verdict_is_the_normalised_next_token_probability_of_each_label(tiny_lm: Path, tmp_path: Path) -> None:
    llm = LLM(LLMSettings(backend="transformers", path=str(tiny_lm)), cache_dir=tmp_path)
    item = bank()[3]
    label, probs = llm.verdict(item, LABELS)
    expected = _manual_probs(tiny_lm, plain_prompt(verdict_messages(item, LABELS)))
    assert probs == pytest.approx(expected, abs=1e-5)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert label == max(probs, key=lambda k: probs[k])
    assert llm.backend == "transformers" and llm.identity.startswith("transformers:sha256:")


def test_the_chat_template_is_used_when_the_tokenizer_has_one(tiny_chat_lm: Path, tmp_path: Path) -> None:
    llm = LLM(LLMSettings(backend="transformers", path=str(tiny_chat_lm)), cache_dir=tmp_path)
    item = bank()[2]
    messages = verdict_messages(item, LABELS)
    rendered = "".join(f"{m['role']} says {m['content']} " for m in messages) + "answer: "
    _, probs = llm.verdict(item, LABELS)
    assert probs == pytest.approx(_manual_probs(tiny_chat_lm, rendered), abs=1e-5)
    assert probs != pytest.approx(_manual_probs(tiny_chat_lm, plain_prompt(messages)), abs=1e-5)


def test_a_rerun_is_served_from_the_cache_and_identical(tiny_lm: Path, tmp_path: Path) -> None:
    settings = LLMSettings(backend="transformers", path=str(tiny_lm), max_new_tokens=6)
    items = bank()
    first = LLM(settings, cache_dir=tmp_path)
    verdicts = llm_verdicts(first, items, LABELS, folds=3, seed=0, show_progress=False)
    text = first.generate("the claim is correct because", 6)
    assert first.requests == len(items) + 1 and first.cache_hits == 0
    assert 1 <= len(text.split()) <= 6
    again = LLM(settings, cache_dir=tmp_path)
    repeat = llm_verdicts(again, items, LABELS, folds=3, seed=0, show_progress=False)
    assert again.generate("the claim is correct because", 6) == text
    assert again.requests == 0 and again.cache_hits == len(items) + 1
    assert np.array_equal(repeat.proba, verdicts.proba) and np.array_equal(repeat.raw, verdicts.raw)
    assert all(a.cache_hit for a in repeat.answers.values()) and not any(a.cache_hit for a in verdicts.answers.values())
    assert verdicts.platt is not None  # 6 items of each label: calibrated, cross-fitted
    assert np.allclose(verdicts.proba.sum(axis=1), 1.0)


def test_a_label_without_a_token_of_its_own_is_a_clear_error(tiny_lm: Path, tmp_path: Path) -> None:
    llm = LLM(LLMSettings(backend="transformers", path=str(tiny_lm)), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="no first token of its own"):
        llm.verdict(bank()[0], ["true", "false"])  # both unknown words: both are [UNK]


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="LLM model directory not found"):
        LLM(LLMSettings(backend="transformers", path=str(tmp_path / "nope")), cache_dir=tmp_path)
