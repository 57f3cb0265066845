"""The assistance-kind vocabulary, declared once for the whole project.

Two related sets of names:

- the *condition* kinds (:data:`ASSISTANCE_KINDS`): which assistance a rater in a
  condition sees (``none``, ``evidence``, ``reasoning``, ``debate``, ``consultancy``);
- the *stored row* kinds (:data:`ASSISTANCE_ROW_KINDS`): the records generated per item
  (``verdict``, ``evidence``, ``reasoning``, ``debate``, ``consultancy``). ``verdict`` is the AI's label
  and confidence, stored for every item and exported with every judgment whether a
  condition shows it or not; ``none`` has no row.

docs/assistance.md describes each kind and docs/study-config.md the conditions.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

#: What a condition shows the rater, by name.
AssistanceKind = Literal["none", "evidence", "reasoning", "debate", "consultancy"]
#: The kind of one stored assistance record.
AssistanceRowKind = Literal["verdict", "evidence", "reasoning", "debate", "consultancy"]

#: Each condition kind and what the rater sees.
ASSISTANCE_KINDS: Final[dict[str, str]] = {
    "none": "nothing besides the item",
    "evidence": "AI-selected verbatim evidence quotes, each marked verified or not; no AI label",
    "reasoning": "the AI's label, confidence, written reasoning and its evidence",
    "debate": "two AI sides, one arguing each verdict, each with its own quotes; no AI verdict",
    "consultancy": "one AI arguing for an assigned label (the gold label in a set share of items), with its quotes",
}

#: Stored assistance record kinds, in emission order per item.
ASSISTANCE_ROW_KINDS: Final[tuple[AssistanceRowKind, ...]] = get_args(AssistanceRowKind)

#: The parts of the assistance each kind shows by default (the rest are hidden):
#: ``label`` and ``confidence`` are the AI's verdict, ``reasoning`` its written text
#: (for ``debate``: each side's argument), ``quotes`` the evidence quotes.
DEFAULT_DISPLAY: Final[dict[str, frozenset[str]]] = {
    "none": frozenset(),
    "evidence": frozenset({"quotes"}),
    "reasoning": frozenset({"label", "confidence", "reasoning", "quotes"}),
    "debate": frozenset({"reasoning", "quotes"}),
    "consultancy": frozenset({"reasoning", "quotes"}),
}

