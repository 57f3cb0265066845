"""Reasoning text for the ``reasoning`` condition (template backend).

The text states the verdict and explains it from the quotes shown below it, which it
refers to by number ("Quote 1") instead of restating them. Every stance it states is the
stance scorer's (:mod:`tasks.assistance.stance`): a quote *supports* the verdict when it
favours the verdict label, *points the other way* when it favours another label, and
*favours neither answer* otherwise. It shows no model internals (no probabilities,
similarities or scores) and does not state the confidence, so a condition can show the
reasoning with the confidence hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Stance words used in the text, by relation to the verdict (tests parse them).
SUPPORTS, AGAINST, NEUTRAL = "support", "point the other way", "favour neither answer"


def shorten(text: str, limit: int = 160) -> str:
    """A quote cut to ``limit`` characters on a word boundary (for running text only)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " ..."


def _numbers(indices: Sequence[int]) -> str:
    """'Quote 2', 'Quotes 1 and 3', 'Quotes 1, 2 and 3' (1-based)."""
    names = [str(i + 1) for i in indices]
    if len(names) == 1:
        return f"Quote {names[0]}"
    return f"Quotes {', '.join(names[:-1])} and {names[-1]}"


def _explain(label: str, several: bool) -> str:
    they, state = ("they", "state") if several else ("it", "states")
    if label == "correct":
        return f"{they} {state} the same names, numbers and dates as the claim"
    if label == "incorrect":
        return f"a detail of the claim (a name, number, date or cause) differs from what {they} {state}"
    return f'what {they} {state} fits "{label}" better than the other answers'


def _verdict_line(label: str) -> str:
    if label in ("correct", "incorrect"):
        return f"Verdict: the claim is {label}."
    return f'Verdict: "{label}".'


def template_reasoning(label: str, quotes: Sequence[dict[str, Any]], stances: Sequence[str | None]) -> str:
    """Reasoning for a verdict from its quotes and each quote's favoured label.

    Args:
        label: the AI verdict label.
        quotes: the quote dicts shown below the reasoning (docs/architecture.md).
        stances: per quote, the label the stance scorer says it favours (None = none).
    """
    lines = [_verdict_line(label)]
    if not quotes:
        lines.append("No source passages were available, so this verdict could not be checked against a source.")
        return "\n".join(lines)
    support = [i for i, s in enumerate(stances) if s == label]
    against = [i for i, s in enumerate(stances) if s is not None and s != label]
    neutral = [i for i, s in enumerate(stances) if s is None]
    if support:
        verb = "supports" if len(support) == 1 else SUPPORTS
        lines.append(f"{_numbers(support)} {verb} this verdict: {_explain(label, len(support) > 1)}.")
    else:
        lines.append("None of the passages below directly supports this verdict, so check the claim against the sources yourself.")
    for i in against:
        lines.append(
            f'{_numbers([i])} points the other way, toward "{stances[i]}": weigh it before accepting the verdict.'
        )
    if neutral:
        verb = "favours neither answer" if len(neutral) == 1 else NEUTRAL
        own = "its" if len(neutral) == 1 else "their"
        lines.append(f"{_numbers(neutral)} {verb} on {own} own; {'it gives' if len(neutral) == 1 else 'they give'} background.")
    unverified = [i for i, q in enumerate(quotes) if not q["verified"]]
    if unverified:
        lines.append(f"{_numbers(unverified)} could not be found word for word in the sources.")
    return "\n".join(lines)


def reasoning_prompt(claim: str, label: str, quotes: Sequence[dict[str, Any]]) -> str:
    """Prompt for a generative backend asked to write the reasoning (no numbers, no model talk)."""
    evidence = "\n".join(f'{i + 1}. "{q["text"]}"' for i, q in enumerate(quotes)) or "(none)"
    return (
        f"Claim: {claim}\nQuotes:\n{evidence}\nVerdict: {label}.\n"
        "Explain in plain words, referring to the quotes by number without repeating them, "
        "why the verdict follows and what a reader should check. Do not give numbers or percentages.\n"
        "Explanation:"
    )
