"""Quality gate: how good and how honest a study's assistance is, before launch.

:func:`assistance_quality` takes gold labels and stored assistance content and returns

* ``verdict``: AI accuracy, the majority-class rate (accuracy of always answering the most
  frequent gold label), Brier ``mean((confidence - correct)^2)``, ECE over 10 equal-width
  confidence bins ``sum_b n_b / n * |accuracy_b - mean confidence_b|``, and
  ``reliability``: one row per non-empty bin (``low, high, n, accuracy, mean_confidence``);
* ``quotes``: quotes in all evidence, reasoning, debate and consultancy content, how many
  are verified, and the rate ``verified / total``;
* ``debate``: debate sides, sides with no quote (no direct support found), debates with
  at least one such side, and ``revealing_debates``: debates where only the side arguing
  the gold label quotes anything (a rater can tell the answer from which side found
  support); ``consultancy``: items, share assigned the gold label, consultants without a
  quote, and how many of those argue a wrong label (``without_support_when_wrong``);
* ``stances`` (when the caller says which items carry stance annotations): main items
  whose quote stances come from the bank's annotations and from the model scorer;
* ``warnings``: plain sentences, e.g. when AI accuracy is below the majority rate plus
  :data:`MAJORITY_MARGIN` (then no reliance or complementarity effect can be expected),
  or when reasoning, debate or consultancy stances of some items come from the model, or
  when at least :data:`REVEAL_SHARE` of the debates are revealing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tasks.assistance.verdict import verdict_metrics
from tasks.items import Item
from tasks.stances import is_annotated

#: Warn when AI accuracy is less than this far above the majority-class rate.
MAJORITY_MARGIN = 0.05
#: Warn when at least this share of debates has quotes only on the gold label's side.
REVEAL_SHARE = 0.25


def _content_quotes(kind: str, content: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if kind == "debate":
        return [q for side in content.get("sides", []) for q in side.get("quotes", [])]
    if kind in ("evidence", "reasoning", "consultancy"):
        return list(content.get("quotes", []))
    return []


def _verdict_part(gold: Mapping[str, str], verdicts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    ids = [i for i in verdicts if i in gold]
    if not ids:
        return None
    report = verdict_metrics(
        [gold[i] for i in ids], [str(verdicts[i]["label"]) for i in ids], [float(verdicts[i]["confidence"]) for i in ids]
    )
    report["reliability"] = report.pop("by_bin")
    report.pop("by_quintile")
    report["beats_majority_by"] = round(report["accuracy"] - report["majority_rate"], 4)
    return report


def _reveals(sides: list[Mapping[str, Any]], gold: str) -> bool:
    """True when the sides that quote something are exactly those arguing ``gold`` (and some side quotes nothing)."""
    quoting = {bool(side.get("quotes")) for side in sides if side.get("label") == gold}
    others = {bool(side.get("quotes")) for side in sides if side.get("label") != gold}
    return quoting == {True} and others == {False}


def _warnings(report: dict[str, Any], margin: float, stance_kinds: bool) -> list[str]:
    out = []
    verdict = report["verdict"]
    if verdict is not None and verdict["accuracy"] < verdict["majority_rate"] + margin:
        out.append(
            f"AI accuracy {verdict['accuracy']:.3f} is within {margin * 100:.0f} points of the majority rate "
            f"{verdict['majority_rate']:.3f} (always giving the most common answer): raters cannot gain from "
            "relying on this AI, so no reliance or complementarity effect can be expected."
        )
    quotes = report["quotes"]
    if quotes["total"] and quotes["verified"] < quotes["total"]:
        out.append(f"{quotes['total'] - quotes['verified']} of {quotes['total']} quotes are not verified in the sources.")
    debate = report["debate"]
    if debate["sides"] and debate["sides_without_support"]:
        out.append(
            f"{debate['sides_without_support']} of {debate['sides']} debate sides found no direct support "
            "and say so."
        )
    debates = debate["sides"] // 2
    if debates and debate["revealing_debates"] >= REVEAL_SHARE * debates:
        out.append(
            f"In {debate['revealing_debates']} of {debates} debates only the side arguing the right answer quotes "
            "anything: raters can tell the answer from which side found support (the sources settle these claims)."
        )
    stances = report.get("stances")
    if stances and stances["model_items"] and stance_kinds:
        out.append(
            f"Quote stances of {stances['model_items']} of {stances['model_items'] + stances['annotated_items']} "
            "items come from the model scorer, which often disagrees with a careful reader (docs/benchmarks.md, "
            "'Stance scorer'): annotate sources with `stances` (docs/item-bank.md) for reasoning, debate or consultancy."
        )
    return out

@dataclass
class _Tally:
    """Counts over the stored assistance rows of the items that count (see :func:`assistance_quality`)."""

    verdicts: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    quotes_total: int = 0
    quotes_verified: int = 0
    sides: int = 0
    unsupported: int = 0
    debates_unsupported: int = 0
    revealing: int = 0
    consultants: int = 0
    consultant_gold: int = 0
    consultant_bare: int = 0
    consultant_bare_wrong: int = 0
    stance_kinds: bool = False

    def add(self, item_id: str, kind: str, content: Mapping[str, Any], gold_label: str) -> None:
        self.stance_kinds = self.stance_kinds or kind in ("reasoning", "debate", "consultancy")
        if kind == "verdict":
            self.verdicts[item_id] = content
        found = _content_quotes(kind, content)
        self.quotes_total += len(found)
        self.quotes_verified += sum(bool(q.get("verified")) for q in found)
        if kind == "debate":
            bare = [side for side in content.get("sides", []) if not side.get("quotes")]
            self.sides += len(content.get("sides", []))
            self.unsupported += len(bare)
            self.debates_unsupported += bool(bare)
            self.revealing += _reveals(content.get("sides", []), gold_label)
        if kind == "consultancy":
            self.consultants += 1
            self.consultant_gold += bool(content.get("assigned_correct"))
            self.consultant_bare += not content.get("quotes")
            self.consultant_bare_wrong += not content.get("quotes") and not content.get("assigned_correct")


def assistance_quality(
    gold: Mapping[str, str],
    rows: Iterable[tuple[str, str, Mapping[str, Any]]],
    *,
    margin: float = MAJORITY_MARGIN,
    annotated: Collection[str] | None = None,
) -> dict[str, Any]:
    """The quality gate over ``rows`` of ``(item_id, kind, content)``; verdicts scored on ``gold``.

    Only items in ``gold`` count (pass the main items to report on what the analysis uses).
    ``annotated``: ids of the items whose sources carry stance annotations (None: not reported).
    """
    t = _Tally()
    for item_id, kind, content in rows:
        if item_id in gold:
            t.add(item_id, kind, content, gold[item_id])
    report: dict[str, Any] = {
        "n_items": len(gold),
        "verdict": _verdict_part(gold, t.verdicts),
        "quotes": {
            "total": t.quotes_total,
            "verified": t.quotes_verified,
            "verification_rate": round(t.quotes_verified / t.quotes_total, 4) if t.quotes_total else None,
        },
        "debate": {
            "sides": t.sides,
            "sides_without_support": t.unsupported,
            "debates_with_unsupported_side": t.debates_unsupported,
            "revealing_debates": t.revealing,
        },
        "consultancy": {
            "items": t.consultants,
            "assigned_correct_share": round(t.consultant_gold / t.consultants, 4) if t.consultants else None,
            "without_support": t.consultant_bare,
            "without_support_when_wrong": t.consultant_bare_wrong,
        },
        "stances": None
        if annotated is None
        else {"annotated_items": len(set(gold) & set(annotated)), "model_items": len(set(gold) - set(annotated))},
    }
    report["warnings"] = _warnings(report, margin, t.stance_kinds)
    return report


def format_quality(report: Mapping[str, Any]) -> str:
    """The quality gate as plain text lines (what ``oversight assist`` prints)."""
    lines = [f"Assistance quality on {report['n_items']} main items"]
    verdict = report["verdict"]
    if verdict is None:
        lines.append("  AI verdict: none stored")
    else:
        lines.append(
            f"  AI verdict: accuracy {verdict['accuracy']:.3f} vs majority rate {verdict['majority_rate']:.3f}, "
            f"Brier {verdict['brier']:.3f}, ECE {verdict['ece']:.3f}, mean confidence {verdict['mean_confidence']:.3f}"
        )
        lines.append("  reliability (confidence bin: n, accuracy, mean confidence):")
        for row in verdict["reliability"]:
            lines.append(
                f"    [{row['low']:.1f}, {row['high']:.1f}): {row['n']:>4}, {row['accuracy']:.3f}, {row['mean_confidence']:.3f}"
            )
    quotes = report["quotes"]
    rate = "n/a" if quotes["verification_rate"] is None else f"{quotes['verification_rate']:.3f}"
    lines.append(f"  quotes verified: {quotes['verified']} of {quotes['total']} ({rate})")
    debate = report["debate"]
    lines.append(
        f"  debate sides without support: {debate['sides_without_support']} of {debate['sides']}; "
        f"debates where only the right side quotes: {debate['revealing_debates']} of {debate['sides'] // 2}"
    )
    stances = report.get("stances")
    if stances:
        lines.append(
            f"  quote stances: from annotations on {stances['annotated_items']} items, "
            f"from the model scorer on {stances['model_items']}"
        )
    consult = report["consultancy"]
    if consult["items"]:
        lines.append(
            f"  consultancy: {consult['items']} items, gold label assigned in {consult['assigned_correct_share']:.3f}, "
            f"{consult['without_support']} without support ({consult['without_support_when_wrong']} of them arguing a wrong label)"
        )
    lines.extend(f"  WARNING: {w}" for w in report["warnings"])
    return "\n".join(lines)


def quality_report(items: Iterable[Item], records: Iterable[Any], *, margin: float = MAJORITY_MARGIN) -> dict[str, Any]:
    """:func:`assistance_quality` of pipeline records (``AssistanceRecord``) on the main items."""
    main = [it for it in items if it.role == "main"]
    gold = {it.item_id: it.gold_label for it in main}
    annotated = {it.item_id for it in main if is_annotated(it)}
    return assistance_quality(gold, ((r.item_id, r.kind, r.content) for r in records), margin=margin, annotated=annotated)
