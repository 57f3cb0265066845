"""Prompt templates of the LLM verdict, and reading a verdict from the model's answer.

The verdict prompt asks for one label word, then a line ``Confidence: N%``. With token
log-probabilities the confidence is read from the first answer token (see
:func:`label_probs_from_top`); without them from that line (:func:`parse_verbalised`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence

from tasks.items import Item

#: Characters of each source passage put into the verdict prompt.
MAX_SOURCE_CHARS = 2000

VERDICT_SYSTEM = (
    "You check claims against source passages. Answer with exactly one word, one of: {labels}. "
    "On a second line write 'Confidence: N%', the probability that your answer is right."
)
VERDICT_USER = "Claim: {claim}\n\nSources:\n{sources}\n\nIs the claim {labels_or}? Answer with one word: {labels_or}."
WRITER_USER = "{prompt}"

Message = dict[str, str]


def template_hash() -> str:
    """sha256 of the prompt templates (recorded in provenance: a changed template is a new run)."""
    text = "\0".join([VERDICT_SYSTEM, VERDICT_USER, WRITER_USER, str(MAX_SOURCE_CHARS)])
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def verdict_messages(item: Item, labels: Sequence[str]) -> list[Message]:
    """System and user messages asking for the item's label."""
    sources = "\n".join(
        f"[{i}] {s.title}: {s.text[:MAX_SOURCE_CHARS]}" if s.title else f"[{i}] {s.text[:MAX_SOURCE_CHARS]}"
        for i, s in enumerate(item.sources, start=1)
    )
    names = ", ".join(labels)
    return [
        {"role": "system", "content": VERDICT_SYSTEM.format(labels=names)},
        {
            "role": "user",
            "content": VERDICT_USER.format(
                claim=item.claim, sources=sources or "(none)", labels_or=" or ".join(labels)
            ),
        },
    ]


def writer_messages(prompt: str) -> list[Message]:
    """A text-writing request (reasoning, debate turn, consultancy) as one user message."""
    return [{"role": "user", "content": WRITER_USER.format(prompt=prompt)}]


def plain_prompt(messages: Sequence[Message]) -> str:
    """Messages as plain text, for models without a chat template and /completions."""
    return "\n\n".join(m["content"] for m in messages) + "\n\nAnswer:"


def normalise_probs(scores: Mapping[str, float], labels: Sequence[str]) -> dict[str, float]:
    """Probabilities over ``labels`` proportional to ``scores`` (uniform if all are 0)."""
    total = sum(max(0.0, scores.get(label, 0.0)) for label in labels)
    if total <= 0.0:
        return {label: 1.0 / len(labels) for label in labels}
    return {label: max(0.0, scores.get(label, 0.0)) / total for label in labels}


def label_probs_from_top(top: Mapping[str, float], labels: Sequence[str]) -> dict[str, float] | None:
    """P(label) from the first answer token's top log-probabilities (token text -> logprob).

    A token counts for a label when its text, stripped and lower-cased, is a non-empty
    prefix of that label and of no other label (``"in"`` -> ``incorrect``); each label
    sums the probabilities of its tokens. A label with no token among the top ones gets
    the smallest listed probability (an upper bound on its own). The result is
    normalised over the labels; None when no listed token names any label.
    """
    lowered = [label.lower() for label in labels]
    mass = dict.fromkeys(labels, 0.0)
    found = False
    for token, logprob in top.items():
        text = token.strip().lower()
        owners = [label for label, low in zip(labels, lowered, strict=True) if text and low.startswith(text)]
        if len(owners) == 1:
            mass[owners[0]] += math.exp(logprob)
            found = True
    if not found:
        return None
    floor = min(math.exp(lp) for lp in top.values())
    return normalise_probs({label: p if p > 0 else floor for label, p in mass.items()}, labels)


_CONFIDENCE = re.compile(r"confidence\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)


def parse_verbalised(text: str, labels: Sequence[str]) -> dict[str, float] | None:
    """P(label) from an answer like ``"incorrect\\nConfidence: 80%"``.

    The label is the first label word in the text (whole word, case-insensitive); the
    confidence is the number after ``Confidence`` (a percentage, or a fraction when <= 1
    without ``%``), clipped to [1/n, 1]; the other labels share the rest equally. Without a
    number the stated label gets 1/n + (1 - 1/n)/2. None when no label word appears.
    """
    found: list[tuple[int, str]] = []
    for label in labels:
        match = re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text, flags=re.IGNORECASE)
        if match:
            found.append((match.start(), label))
    if not found:
        return None
    label = min(found)[1]
    n = len(labels)
    number = _CONFIDENCE.search(text)
    if number is None:
        confidence = 1.0 / n + (1.0 - 1.0 / n) / 2.0
    else:
        value = float(number.group(1))
        confidence = value / 100.0 if number.group(2) or value > 1.0 else value
        confidence = min(1.0, max(1.0 / n, confidence))
    rest = (1.0 - confidence) / (n - 1)
    return {other: (confidence if other == label else rest) for other in labels}
