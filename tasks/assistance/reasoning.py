"""Reasoning text for the ``reasoning`` condition (template backend).

The text says what the AI concluded, which quotes support or contradict that verdict, and
why the confidence is what it is. A quote's stance is measured, not guessed: it is the
probability the item's own out-of-fold verdict model gives the verdict label when that
quote alone is the evidence (>= 0.5 supports, < 0.5 points the other way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Confidence bands used to explain a confidence in words.
HIGH_CONFIDENCE = 0.85
MODERATE_CONFIDENCE = 0.65


def shorten(text: str, limit: int = 160) -> str:
    """A quote cut to ``limit`` characters on a word boundary (for running text only)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " ..."


def confidence_band(confidence: float) -> str:
    """'high', 'moderate' or 'low' (binary-label scale)."""
    if confidence >= HIGH_CONFIDENCE:
        return "high"
    return "moderate" if confidence >= MODERATE_CONFIDENCE else "low"


def _quote_line(quote: dict[str, Any], label: str, p_label: float | None) -> str:
    where = quote["source_title"] or f"source {quote['source_index'] + 1}"
    line = f'- "{shorten(quote["text"])}" ({where})'
    if p_label is not None:
        stance = "supports" if p_label >= 0.5 else "points against"
        line += f' {stance} "{label}": with this sentence alone as evidence, the model gives "{label}" {p_label:.0%}.'
    if not quote["verified"]:
        line += " [NOT verified: this text was not found in the source]"
    return line


def _why(confidence: float, p_quotes: Sequence[float | None], best_sim: float | None, imported: bool) -> str:
    parts = [f"Why the confidence is {confidence_band(confidence)} ({confidence:.0%}):"]
    scored = [p for p in p_quotes if p is not None]
    if scored:
        support = sum(p >= 0.5 for p in scored)
        parts.append(
            f"{support} of {len(scored)} quotes support the verdict and {len(scored) - support} point against it."
        )
    if best_sim is not None:
        relation = "closely" if best_sim >= 0.6 else "moderately" if best_sim >= 0.4 else "only loosely"
        parts.append(f"The best quote is {relation} related to the claim (similarity {best_sim:.2f}).")
    if imported:
        parts.append("The verdict and confidence were imported with the item bank (made by an external model).")
    else:
        parts.append(
            "The confidence is a calibrated probability from a classifier trained on other items of this "
            "study; it never saw this item's answer."
        )
    if confidence < MODERATE_CONFIDENCE:
        parts.append("At this level the verdict is close to a guess.")
    return " ".join(parts)


def template_reasoning(
    label: str,
    confidence: float,
    quotes: Sequence[dict[str, Any]],
    p_quotes: Sequence[float | None],
    *,
    best_sim: float | None = None,
    imported: bool = False,
) -> str:
    """Reasoning text for a verdict and its evidence quotes.

    Args:
        label: the AI verdict label; confidence: P(label).
        quotes: quote dicts (docs/architecture.md); p_quotes: per quote, P(label) with that
            quote alone as evidence (None when unknown).
        best_sim: cosine of the best quote to the claim, if known.
        imported: the verdict came from the item bank rather than the cross-fitted model.
    """
    lines = [f'Verdict: the claim is "{label}" (confidence {confidence:.0%}).']
    if quotes:
        lines.append("Evidence from the sources:")
        lines.extend(_quote_line(q, label, p) for q, p in zip(quotes, p_quotes, strict=True))
    else:
        lines.append("No source sentences were available, so the verdict rests on the claim's wording alone.")
    lines.append(_why(confidence, p_quotes, best_sim, imported))
    return "\n".join(lines)


def reasoning_prompt(claim: str, label: str, confidence: float, quotes: Sequence[dict[str, Any]]) -> str:
    """Prompt for a generative backend asked to write the same reasoning."""
    evidence = "\n".join(f'- "{q["text"]}" ({q["source_title"]})' for q in quotes) or "- (none)"
    return (
        f"Claim: {claim}\nEvidence:\n{evidence}\nVerdict: {label} (confidence {confidence:.0%}).\n"
        "Explain which evidence supports or contradicts the claim and why the confidence is what it is.\n"
        "Explanation:"
    )
