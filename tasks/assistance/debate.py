"""Debate: two AI sides, one per label, each arguing from its own quotes, in turns.

Quotes: the item's most claim-similar sentences are scored by the stance scorer
(:mod:`tasks.assistance.stance`); each side quotes only sentences that favour its own
label, strongest first, at most ``k`` each, never a sentence (or the same text) twice.
A side with no such sentence says plainly that it found no direct support; it never
borrows the other side's quotes.

Transcript: ``rounds`` rounds of one turn per side (side one opens). A side's quotes are
spread over its turns in order. Each turn's text comes from a ``WriteTurn`` callable,
``write_turn(side, label, quotes, history) -> str`` (side = 0 or 1, history = earlier
turns as ``{"side", "label", "text", "quotes"}``); the default writes plain template arguments.
Any written text that states or implies a probability, a confidence or a model's lean
(:func:`leaks`) is replaced by the template text, so no side gives the verdict away.

Label sets: debate is binary. With more than two labels the two sides are the item's two
most probable labels under the verdict model (a documented degradation: the other labels
get no advocate).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: ``write_turn(side, label, quotes, history) -> text`` (see module docstring).
WriteTurn = Callable[[int, str, Sequence[dict[str, Any]], Sequence[dict[str, Any]]], str]

#: Text that states or implies a probability, a confidence or which way a model leans.
LEAK = re.compile(
    r"\d\s*%|\bper\s?cent|probab|confiden|likel[iy]|\bodds\b|\bchance|\blean|\bmodel|\bclassifier"
    r"|\bcertain|\bscore|\bsimilarity|\bcosine|\b0?\.\d+\b",
    re.IGNORECASE,
)

_ORDINAL = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def leaks(text: str) -> bool:
    """True when ``text`` states or implies a probability, confidence or model lean."""
    return LEAK.search(text) is not None


def debate_labels(labels: Sequence[str], proba: np.ndarray) -> tuple[str, str]:
    """The two labels that argue: both labels of a binary set, else the top two by proba."""
    if len(labels) < 2:
        raise ValueError("a debate needs at least two labels")
    if len(labels) == 2:
        return labels[0], labels[1]
    top = np.lexsort((np.arange(len(labels)), -np.round(proba, 8)))[:2]
    first, second = sorted(int(i) for i in top)  # keep label-set order, not probability order
    return labels[first], labels[second]


def claim_stance(label: str) -> str:
    """The position a side or a consultant takes, in plain words."""
    if label == "correct":
        return "The claim is correct."
    if label == "incorrect":
        return "The claim is incorrect."
    return f'The right answer is "{label}".'


def _why(label: str, several: bool) -> str:
    them = "them" if several else "it"
    if label == "correct":
        return f"Check the claim's names, numbers and dates against {them}: they match what the claim says."
    if label == "incorrect":
        return (
            f"Compare the details (names, numbers, dates, cause and effect) with {them}: "
            "the claim gets one of them wrong."
        )
    return f'Read the claim against {them}: {"they fit" if several else "it fits"} "{label}" best.'


def _unverified_note(quotes: Sequence[dict[str, Any]]) -> str:
    bad = [i for i, q in enumerate(quotes) if not q["verified"]]
    if not bad:
        return ""
    which = " and ".join(_ORDINAL[i] if i < len(_ORDINAL) else "another" for i in bad)
    return f" (The {which} passage could not be found word for word in the sources: check it yourself.)"


def template_turn(
    side: int, label: str, quotes: Sequence[dict[str, Any]], history: Sequence[dict[str, Any]]
) -> str:
    """A plain-language turn for one side: its position, what its quotes show, what to check."""
    own_before = [t for t in history if t["side"] == side]
    opening = not own_before
    head = claim_stance(label) if opening else "In reply:"
    if not quotes:
        if opening:
            return f"{head} I found no passage in the sources that directly supports this answer."
        had_any = any(t["quotes"] for t in own_before)
        return (
            f"{head} I have no further passage to add; the passages I quoted before still stand."
            if had_any
            else f"{head} I still found no passage in the sources that directly supports this answer."
        )
    several = len(quotes) > 1
    if opening:
        body = (
            "The passages I quote below bear directly on what the claim says."
            if several
            else "The passage I quote below bears directly on what the claim says."
        )
    else:
        body = "the other side's passages do not settle the question, and " + (
            "the passages I quote now add to my case." if several else "the passage I quote now adds to my case."
        )
    return f"{head} {body} {_why(label, several)}{_unverified_note(quotes)}"


def _chunks(quotes: list[dict[str, Any]], rounds: int) -> list[list[dict[str, Any]]]:
    bounds = np.array_split(np.arange(len(quotes)), rounds)
    return [[quotes[int(i)] for i in part] for part in bounds]


def debate_transcript(
    labels: tuple[str, str],
    side_quotes: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    rounds: int,
    write_turn: WriteTurn | None = None,
) -> tuple[dict[str, Any], bool]:
    """Debate content ``{"sides", "transcript", "rounds"}`` and whether any turn was written by ``write_turn``.

    ``argument`` of a side is its opening turn; ``quotes`` all quotes it used.
    """
    if rounds < 1:
        raise ValueError("a debate needs at least one round")
    chunks = (_chunks(side_quotes[0], rounds), _chunks(side_quotes[1], rounds))
    turns: list[dict[str, Any]] = []
    written = False
    for r in range(rounds):
        for side in (0, 1):
            quotes = chunks[side][r]
            text = template_turn(side, labels[side], quotes, turns)
            if write_turn is not None:
                candidate = write_turn(side, labels[side], quotes, list(turns)).strip()
                if candidate and not leaks(candidate):
                    text, written = candidate, True
            turns.append({"side": side, "label": labels[side], "text": text, "quotes": quotes})
    sides = [
        {"label": labels[s], "argument": turns[s]["text"], "quotes": list(side_quotes[s])} for s in (0, 1)
    ]
    return {"sides": sides, "transcript": {"turns": turns}, "rounds": rounds}, written


def turn_prompt(
    claim: str, side: int, label: str, quotes: Sequence[dict[str, Any]], history: Sequence[dict[str, Any]]
) -> str:
    """Prompt for a generative backend writing one turn (no probabilities, no model talk)."""
    evidence = "\n".join(f'- "{q["text"]}"' for q in quotes) or "- (no passage supports this side)"
    before = "\n".join(f"Side {t['side'] + 1}: {t['text']}" for t in history) or "(none)"
    return (
        f"Claim: {claim}\nDebate so far:\n{before}\nYour passages:\n{evidence}\n"
        f"You are side {side + 1}. Argue in plain words, without numbers or percentages, that the "
        f"answer is {label}. Use only your passages; if you have none, say you found no direct support.\n"
        "Argument:"
    )
