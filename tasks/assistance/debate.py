"""Debate: two AI sides, one per verdict label, each with its own best quotes.

Candidate sentences (the item's most claim-similar ones) are scored by the item's
out-of-fold verdict model with each sentence alone as evidence, giving P(side A) per
sentence. Side A takes the sentences most in favour of A, side B those most in favour of
B; the two quote lists never share a sentence. Quotes are verified like evidence quotes.

Label sets: debate is binary. With more than two labels the two sides are the item's two
most probable labels under the verdict model (a documented degradation: the other labels
get no advocate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tasks.assistance.reasoning import shorten


def debate_labels(labels: Sequence[str], proba: np.ndarray) -> tuple[str, str]:
    """The two labels that argue: both labels of a binary set, else the top two by proba."""
    if len(labels) < 2:
        raise ValueError("a debate needs at least two labels")
    if len(labels) == 2:
        return labels[0], labels[1]
    top = np.lexsort((np.arange(len(labels)), -np.round(proba, 8)))[:2]
    first, second = sorted(int(i) for i in top)  # keep label-set order, not probability order
    return labels[first], labels[second]


def split_for_sides(lean: np.ndarray, k: int) -> tuple[list[int], list[int]]:
    """Candidate indices for side one and side two, disjoint, at most k each.

    ``lean[j]`` = P(first label) - P(second label) with candidate j as evidence: side one
    takes the highest leans, side two the lowest; with few candidates each gets its half.
    """
    n = len(lean)
    if n == 0:
        return [], []
    order = [int(i) for i in np.lexsort((np.arange(n), -np.round(lean, 8)))]
    if n == 1:
        return (order, []) if lean[0] >= 0 else ([], order)
    per_side = min(k, n // 2)
    return order[:per_side], order[::-1][:per_side]


def side_argument(label: str, quotes: Sequence[dict[str, Any]], p_side: Sequence[float]) -> str:
    """A short template argument for one side."""
    if not quotes:
        return (
            f'The claim is "{label}". No source sentence favours this side, so the case rests on the claim\'s wording.'
        )
    first = quotes[0]
    where = first["source_title"] or f"source {first['source_index'] + 1}"
    text = (
        f'The claim is "{label}". The strongest support is in {where}: "{shorten(first["text"])}". '
        f'With that sentence as evidence the model gives "{label}" {p_side[0]:.0%}.'
    )
    if len(quotes) > 1:
        text += f" {len(quotes) - 1} further quote{'s point' if len(quotes) > 2 else ' points'} the same way."
    unverified = sum(not q["verified"] for q in quotes)
    if unverified:
        text += f" ({unverified} quote{'s' if unverified > 1 else ''} could not be verified against the sources.)"
    return text


def debate_prompt(claim: str, label: str, quotes: Sequence[dict[str, Any]]) -> str:
    """Prompt for a generative backend arguing one side."""
    evidence = "\n".join(f'- "{q["text"]}" ({q["source_title"]})' for q in quotes) or "- (none)"
    return f"Claim: {claim}\nEvidence:\n{evidence}\nArgue briefly that the claim is {label}.\nArgument:"
