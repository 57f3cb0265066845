"""OpenAI-compatible backend against a real HTTP server on 127.0.0.1 serving the tiny LM."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from support.openai_server import OpenAIServer, build_tiny_lm
from transformers import AutoModelForCausalLM, AutoTokenizer

from tasks.assistance import AssistanceConfig, generate_assistance
from tasks.assistance.debate import leaks
from tasks.assistance.llm import LLM, LLMRequestError, LLMSettings, template_hash
from tasks.assistance.llm.prompts import plain_prompt, verdict_messages
from tasks.items import Item, Source

LABELS = ["correct", "incorrect"]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-llm-http"))


def bank(n: int = 12) -> list[Item]:
    return [
        Item(
            item_id=f"h{i:02d}",
            claim=f"Sea level is {'rising' if i % 2 == 0 else 'falling'} {'a ' * i}at site {i}.",
            gold_label="correct" if i % 2 == 0 else "incorrect",
            sources=[Source(title="Sea level", text=f"Sea level is rising at site {i}. Ice at site {i} is falling.")],
        )
        for i in range(n)
    ]


def _settings(server: OpenAIServer, **extra: object) -> LLMSettings:
    return LLMSettings.model_validate({"backend": "openai", "base_url": server.base_url, "model": "tiny", **extra})


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_server_logprobs_give_the_same_probabilities_as_the_local_model(
    api: str, tiny_lm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINY_API_KEY", "sk-test-not-a-secret-123")
    local = LLM(LLMSettings(backend="transformers", path=str(tiny_lm)), cache_dir=tmp_path / "local")
    with OpenAIServer(tiny_lm) as server:
        remote = LLM(_settings(server, api=api, api_key_env="TINY_API_KEY"), cache_dir=tmp_path / "remote")
        for item in bank(4):
            answer = remote.verdict_answer(item, LABELS)
            assert answer.source == "logprobs"
            assert answer.probs == pytest.approx(local.verdict(item, LABELS)[1], abs=1e-6)
        assert server.auth == ["Bearer sk-test-not-a-secret-123"] * 4
        assert server.bodies[0]["model"] == "tiny" and ("messages" in server.bodies[0]) == (api == "chat")
    assert b"sk-test" not in (tmp_path / "remote" / "requests.sqlite3").read_bytes()
    assert "sk-test" not in str(remote.provenance(False))


def test_a_missing_api_key_variable_is_a_clear_error(tiny_lm: Path, tmp_path: Path) -> None:
    with OpenAIServer(tiny_lm) as server, pytest.raises(ValueError, match="NO_SUCH_KEY_VAR is not set"):
        LLM(_settings(server, api_key_env="NO_SUCH_KEY_VAR"), cache_dir=tmp_path)


def test_rate_limits_are_waited_out_as_the_server_asks(tiny_lm: Path, tmp_path: Path) -> None:
    with OpenAIServer(tiny_lm, rate_limit_first=2, retry_after="1") as server:
        llm = LLM(_settings(server), cache_dir=tmp_path)
        start = time.monotonic()
        label, probs = llm.verdict(bank(1)[0], LABELS)
        elapsed = time.monotonic() - start
        assert server.requests == 3 and server.served == 1 and llm.retries == 2
    assert elapsed >= 2.0  # two Retry-After: 1 waits
    assert label in LABELS and sum(probs.values()) == pytest.approx(1.0)


def test_retries_give_up_with_a_clear_error(tiny_lm: Path, tmp_path: Path) -> None:
    with OpenAIServer(tiny_lm, rate_limit_first=100, retry_after="0") as server:
        llm = LLM(_settings(server, max_retries=2), cache_dir=tmp_path)
        with pytest.raises(LLMRequestError, match="gave up after 3 attempts; last: HTTP 429"):
            llm.verdict(bank(1)[0], LABELS)
        assert server.requests == 3


def _first_token(path: Path, text: str) -> tuple[str, float]:
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True).eval()
    with torch.no_grad():
        probs = torch.softmax(model(**tokenizer(text, return_tensors="pt")).logits[0, -1], dim=-1)
    best = int(torch.argmax(probs))
    return str(tokenizer.convert_ids_to_tokens(best)), float(probs[best])


def test_without_logprobs_the_stated_confidence_is_used(tiny_lm: Path, tmp_path: Path) -> None:
    item = bank(1)[0]
    token, p = _first_token(tiny_lm, plain_prompt(verdict_messages(item, LABELS)))
    assert token in LABELS  # the tiny model's greedy answer is a label word
    with OpenAIServer(tiny_lm, logprobs=False, verbalise=True) as server:
        answer = LLM(_settings(server), cache_dir=tmp_path).verdict_answer(item, LABELS)
        assert "logprobs" in server.bodies[0]  # asked for, but the server sends none
    assert answer.source == "verbalised" and answer.label == token
    assert answer.probs[token] == pytest.approx(max(0.5, round(100 * p) / 100), abs=1e-9)


def test_the_pipeline_uses_the_llm_and_a_rerun_costs_nothing(tiny_lm: Path, tmp_path: Path) -> None:
    items = bank()
    with OpenAIServer(tiny_lm) as server:
        config = AssistanceConfig(
            encoder="hashing", folds=3, llm=_settings(server, max_new_tokens=5, cache_dir=str(tmp_path / "cache"))
        )
        first = list(generate_assistance(items, LABELS, config))
        paid = server.served
        again = list(generate_assistance(items, LABELS, config))
        assert server.served == paid  # everything came from the cache
        independent = LLM(config.llm, cache_dir=tmp_path / "cache")  # type: ignore[arg-type]
        probs = {it.item_id: independent.verdict(it, LABELS)[1] for it in items}
    # Per item: one verdict, one reasoning text, two debate turns (one round) and the
    # consultancy argument, which is the debate's opening request (same prompt, so a cache
    # hit) when the consultant argues side one's label with the same quotes.
    by = {(r.item_id, r.kind): r for r in first}
    shared = sum(
        by[(it.item_id, "consultancy")].content["label"] == by[(it.item_id, "debate")].content["sides"][0]["label"]
        for it in items
    )
    assert paid == len(items) * 5 - shared
    assert len({json.dumps(b, sort_keys=True) for b in server.bodies}) == paid  # no request paid twice
    assert [r.content_hash for r in again] == [r.content_hash for r in first]
    verdict = by[("h00", "verdict")]
    assert verdict.generator == "llm" and verdict.model == "tiny" and verdict.model_version == "openai:" + server.base_url + "|tiny"
    info = verdict.parameters["llm_provenance"]
    assert info["backend"] == "openai" and info["model"] == "tiny" and info["prompt_template_hash"] == template_hash()
    assert info["cache_hit"] is False and info["confidence_source"] == "logprobs" and info["calibrated"] is True
    assert info["raw_probs"] == pytest.approx(probs["h00"], abs=1e-4)
    assert all(r.parameters["llm_provenance"]["cache_hit"] for r in again if r.kind != "evidence")
    reasoning = by[("h00", "reasoning")]
    assert reasoning.generator == "llm" and reasoning.model == "tiny"
    assert reasoning.content["label"] == verdict.content["label"]
    assert {r.generator for r in first if r.kind == "debate"} == {"llm"}
    consultancy = [r for r in first if r.kind == "consultancy"]
    assert {r.generator for r in consultancy} <= {"llm", "template"}  # template only where the text leaked
    assert all(not leaks(r.content["argument"]) for r in consultancy)
    assert any(r.generator == "llm" and r.parameters["llm_provenance"]["model"] == "tiny" for r in consultancy)
    assert "llm_provenance" not in by[("h00", "evidence")].parameters  # evidence does not use the LLM


def test_llm_turns_that_leak_fall_back_to_the_template(tiny_lm: Path, tmp_path: Path) -> None:
    # This server appends "Confidence: NN%" to every answer, so every written text leaks.
    items = bank()[:4]
    with OpenAIServer(tiny_lm, logprobs=False, verbalise=True) as server:
        config = AssistanceConfig(
            encoder="hashing", folds=2, llm=_settings(server, max_new_tokens=3, cache_dir=str(tmp_path / "cache"))
        )
        records = list(generate_assistance(items, LABELS, config, kinds=("debate", "consultancy")))
        asked = [json.dumps(b) for b in server.bodies]
    assert leaks("yes\nConfidence: 73%")  # what this server answers is a leak
    assert sum("You are side" in a for a in asked) >= 2 * len(items)  # debate and consultancy turns were asked for
    assert len(records) == 2 * len(items)
    for r in records:
        assert r.generator == "template"
        texts = [t["text"] for t in r.content["transcript"]["turns"]] if r.kind == "debate" else [r.content["argument"]]
        assert texts and not any(leaks(t) or "Confidence" in t for t in texts)
