"""LLM verdict reading (log-probabilities, stated confidence), cache keys, Retry-After."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tasks.assistance.llm import (
    LLMSettings,
    RequestCache,
    label_probs_from_top,
    parse_verbalised,
    request_key,
    retry_after_seconds,
)

LABELS = ["correct", "incorrect"]


def test_top_logprobs_sum_per_label_and_normalise() -> None:
    top = {"correct": math.log(0.5), " Correct": math.log(0.1), "in": math.log(0.2), "The": math.log(0.15)}
    probs = label_probs_from_top(top, LABELS)
    assert probs is not None
    assert probs["correct"] == pytest.approx(0.6 / 0.8) and probs["incorrect"] == pytest.approx(0.2 / 0.8)
    assert sum(probs.values()) == pytest.approx(1.0)


def test_a_label_missing_from_the_top_list_gets_the_smallest_listed_probability() -> None:
    top = {"correct": math.log(0.9), "yes": math.log(0.05), "no": math.log(0.01)}
    probs = label_probs_from_top(top, LABELS)
    assert probs is not None and probs["incorrect"] == pytest.approx(0.01 / 0.91)


def test_no_label_token_in_the_top_list_means_no_logprob_verdict() -> None:
    assert label_probs_from_top({"Yes": -0.1, "No": -2.0}, LABELS) is None


def test_stated_confidence_is_parsed() -> None:
    assert parse_verbalised("Incorrect.\nConfidence: 80%", LABELS) == pytest.approx({"incorrect": 0.8, "correct": 0.2})
    assert parse_verbalised("correct (confidence 0.7)", LABELS) == pytest.approx({"correct": 0.7, "incorrect": 0.3})
    # a stated confidence below chance is clipped to 1/n; the first label word counts
    assert parse_verbalised("correct, not incorrect. Confidence: 20%", LABELS) == pytest.approx(
        {"correct": 0.5, "incorrect": 0.5}
    )
    assert parse_verbalised("I cannot tell.", LABELS) is None
    three = parse_verbalised("refutes\nconfidence: 70%", ["supports", "refutes", "nei"])
    assert three == pytest.approx({"supports": 0.15, "refutes": 0.7, "nei": 0.15})


def test_label_words_match_whole_words_only() -> None:
    assert parse_verbalised("incorrectly worded; Confidence: 90%", LABELS) is None


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25.0 <= (retry_after_seconds(later) or 0.0) <= 30.0


def test_cache_key_depends_on_model_and_request_and_survives_reopening(tmp_path: Path) -> None:
    key = request_key("m1", {"prompt": "a", "max_tokens": 5})
    assert key == request_key("m1", {"max_tokens": 5, "prompt": "a"})  # key order does not matter
    assert key != request_key("m2", {"prompt": "a", "max_tokens": 5})
    assert key != request_key("m1", {"prompt": "a", "max_tokens": 6})
    cache = RequestCache(tmp_path)
    cache.put(key, {"text": "correct", "top": {"correct": -0.1}})
    cache.close()
    again = RequestCache(tmp_path)
    assert again.get(key) == {"text": "correct", "top": {"correct": -0.1}} and len(again) == 1
    assert again.get(request_key("m1", {"prompt": "b"})) is None


def test_settings_name_what_each_backend_needs() -> None:
    with pytest.raises(ValueError, match="needs `path`"):
        LLMSettings(backend="transformers")
    with pytest.raises(ValueError, match="needs `base_url` and `model`"):
        LLMSettings(backend="openai", base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ValueError, match="Extra inputs"):
        LLMSettings.model_validate({"backend": "openai", "base_url": "http://x/v1", "model": "m", "api_key": "k"})
