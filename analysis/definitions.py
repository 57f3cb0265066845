"""The metric definitions: one place, declared as data, with their formulas.

Notation (docs/metrics.md): y gold label, a AI label (defined for every item, shown or
not), c AI confidence of the item, h0 the rater's initial label (two-stage trials
only), h the final label, p the rater's confidence in h. The unit is one final
judgment (practice and attention-check rows already dropped by ``prepare``). Labels
compare by value (``1 == 1.0 == "1"``, surrounding spaces dropped); a judgment whose
gold label is missing is left out of every metric that needs y (its denominator
counts only judgments with y).

Every metric is a ratio of sums over judgments, so it can be computed for any
weighting of the judgments (the bootstrap weights a judgment by how often its
rater and its item were drawn). A sum is a *term* ``(row quantity, item factor)``:
sum over judgments i of ``row_quantity[i] * item_factor[item(i)]``. Row quantities
depend on the judgment; item factors depend only on the item (the AI's label and
confidence and the gold label are item properties).

Formulas:
- accuracy = mean(h == y)
- agreement_with_ai = mean(h == a)
- over_reliance = mean(h == a | a != y)
- under_reliance = mean(h != a | a == y)
- accuracy_when_ai_correct = mean(h == y | a == y)
- accuracy_when_ai_wrong = mean(h == y | a != y)
- rair = #(h0 != y, a == y, h == a) / #(h0 != y, a == y)           (two-stage rows)
- rsr = #(h0 == y, a != y, h == h0) / #(h0 == y, a != y)           (two-stage rows)
- switch_rate = mean(h != h0 | two-stage)
- rater_brier = mean((p - [h == y])^2)  (rater states h with confidence p = P(correct))
- rater_ece = sum_b |sum_{i in b} (p_i - [h_i == y_i])| / n, b = 10 equal-width bins of p
  (equal to sum_b n_b/n * |mean p in b - accuracy in b|)
- ai_brier = mean((c - [a == y])^2), ai_ece as rater_ece with c and [a == y]
- ai_only = mean(a == y); oracle = mean(a == y or h == y)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import schema as s

N_BINS = 10

ROW_QUANTITIES: tuple[str, ...] = (
    "one",  # 1 for every judgment
    "graded",  # y present (rows without gold are left out of gold-based metrics)
    "correct",  # h == y
    "agree",  # h == a
    "two_stage",  # h0 present
    "initial_correct",  # h0 present and h0 == y
    "fixed_by_ai",  # h0 present, h0 != y, h == a
    "kept_initial",  # h0 == y and h == h0
    "switched",  # h0 present and h != h0
    "has_conf",  # p present and correctness known
    "brier",  # (p - [h == y])^2 where has_conf
    *(f"cal_{b}" for b in range(N_BINS)),  # (p - [h == y]) where p in bin b
)
ITEM_FACTORS: tuple[str, ...] = (
    "all",  # 1 for every item
    "ai_right",  # a == y (both known)
    "ai_wrong",  # a != y (both known)
    "has_ai_conf",  # c present and AI correctness known
    "ai_brier",  # (c - [a == y])^2
    *(f"ai_cal_{b}" for b in range(N_BINS)),  # (c - [a == y]) where c in bin b
)
Q = {name: i for i, name in enumerate(ROW_QUANTITIES)}
F = {name: i for i, name in enumerate(ITEM_FACTORS)}

Term = tuple[float, str, str]  # (coefficient, row quantity, item factor)

_JUDGED = (s.GOLD, s.FINAL)
_RELIANCE = (s.GOLD, s.AI_LABEL, s.FINAL)


@dataclass(frozen=True)
class MetricDef:
    """One metric = sum(numerator terms) / sum(denominator terms).

    With ``absolute=True`` the numerator is sum_t |term_t| (used by ECE, one term per bin).
    ``requires`` lists the columns without which the metric is null.
    """

    name: str
    formula: str
    numerator: tuple[Term, ...]
    denominator: tuple[Term, ...]
    requires: tuple[str, ...]
    absolute: bool = False


def _ratio(name: str, formula: str, num: list[Term], den: list[Term], req: tuple[str, ...]) -> MetricDef:
    return MetricDef(name, formula, tuple(num), tuple(den), req)


_ONE: list[Term] = [(1.0, "one", "all")]
_GRADED: list[Term] = [(1.0, "graded", "all")]
_AI_RIGHT: list[Term] = [(1.0, "one", "ai_right")]
_AI_WRONG: list[Term] = [(1.0, "one", "ai_wrong")]

METRICS: tuple[MetricDef, ...] = (
    _ratio("accuracy", "mean(h == y)", [(1.0, "correct", "all")], _GRADED, _JUDGED),
    _ratio("agreement_with_ai", "mean(h == a)", [(1.0, "agree", "all")], _ONE, (s.AI_LABEL, s.FINAL)),
    _ratio("over_reliance", "mean(h == a | a != y)", [(1.0, "agree", "ai_wrong")], _AI_WRONG, _RELIANCE),
    _ratio(
        "under_reliance",
        "mean(h != a | a == y)",
        [(1.0, "one", "ai_right"), (-1.0, "agree", "ai_right")],
        _AI_RIGHT,
        _RELIANCE,
    ),
    _ratio("accuracy_when_ai_correct", "mean(h == y | a == y)", [(1.0, "correct", "ai_right")], _AI_RIGHT, _RELIANCE),
    _ratio("accuracy_when_ai_wrong", "mean(h == y | a != y)", [(1.0, "correct", "ai_wrong")], _AI_WRONG, _RELIANCE),
    _ratio(
        "rair",
        "#(h0 != y, a == y, h == a) / #(h0 != y, a == y)",
        [(1.0, "fixed_by_ai", "ai_right")],
        [(1.0, "two_stage", "ai_right"), (-1.0, "initial_correct", "ai_right")],
        (*_RELIANCE, s.INITIAL),
    ),
    _ratio(
        "rsr",
        "#(h0 == y, a != y, h == h0) / #(h0 == y, a != y)",
        [(1.0, "kept_initial", "ai_wrong")],
        [(1.0, "initial_correct", "ai_wrong")],
        (*_RELIANCE, s.INITIAL),
    ),
    _ratio("switch_rate", "mean(h != h0 | two-stage)", [(1.0, "switched", "all")], [(1.0, "two_stage", "all")],
           (s.INITIAL, s.FINAL)),
    _ratio("rater_brier", "mean((p - [h == y])^2)", [(1.0, "brier", "all")], [(1.0, "has_conf", "all")],
           (*_JUDGED, s.CONF)),
    MetricDef(
        "rater_ece",
        "sum_b |sum_{i in b}(p_i - [h_i == y_i])| / n, 10 equal-width bins of p",
        tuple((1.0, f"cal_{b}", "all") for b in range(N_BINS)),
        ((1.0, "has_conf", "all"),),
        (*_JUDGED, s.CONF),
        absolute=True,
    ),
    _ratio("ai_brier", "mean((c - [a == y])^2)", [(1.0, "one", "ai_brier")], [(1.0, "one", "has_ai_conf")],
           (s.GOLD, s.AI_LABEL, s.AI_CONF)),
    MetricDef(
        "ai_ece",
        "sum_b |sum_{i in b}(c_i - [a_i == y_i])| / n, 10 equal-width bins of c",
        tuple((1.0, "one", f"ai_cal_{b}") for b in range(N_BINS)),
        ((1.0, "one", "has_ai_conf"),),
        (s.GOLD, s.AI_LABEL, s.AI_CONF),
        absolute=True,
    ),
)
#: Reference rules of hybrid routing (h = human only, a = AI only, best of both).
ROUTING_BASES: tuple[MetricDef, ...] = (
    _ratio("human_only", "mean(h == y)", [(1.0, "correct", "all")], _GRADED, _RELIANCE),
    _ratio("ai_only", "mean(a == y)", [(1.0, "one", "ai_right")], _GRADED, _RELIANCE),
    _ratio(
        "oracle",
        "mean(a == y or h == y)",
        [(1.0, "correct", "all"), (1.0, "one", "ai_right"), (-1.0, "correct", "ai_right")],
        _GRADED,
        _RELIANCE,
    ),
)
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
#: Every (row quantity, item factor) pair some metric needs: the sums the bootstrap computes.
PAIRS: tuple[tuple[int, int], ...] = tuple(dict.fromkeys(
    (Q[q], F[f]) for m in METRICS + ROUTING_BASES for _, q, f in m.numerator + m.denominator))


def evaluate(metric: MetricDef, sums: np.ndarray) -> np.ndarray:
    """Metric values from term sums ``sums[..., q, f]``; NaN where the denominator is 0."""
    num_terms = [c * sums[..., Q[q], F[f]] for c, q, f in metric.numerator]
    # ECE: each bin's signed gap is taken in absolute value before summing the bins.
    num = np.sum(np.abs(num_terms) if metric.absolute else num_terms, axis=0)
    den = np.sum([c * sums[..., Q[q], F[f]] for c, q, f in metric.denominator], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _bin(p: np.ndarray) -> np.ndarray:
    """Equal-width bin index in 0..9 of a probability; p = 1 falls in the last bin."""
    bins: np.ndarray = np.clip(np.floor(np.nan_to_num(p, nan=0.0) * N_BINS), 0, N_BINS - 1).astype(np.int64)
    return bins


#: The 0/1 row quantities, in ``ROW_QUANTITIES`` order; the others are ``brier`` and the ``cal_k``.
BINARY_QUANTITIES: tuple[str, ...] = ROW_QUANTITIES[:ROW_QUANTITIES.index("brier")]


@dataclass(frozen=True)
class RowParts:
    """The row quantities of judgments in compact form (``row_quantities`` expands them).

    ``bits``: bit k is ``BINARY_QUANTITIES[k]``; ``brier`` = (p - [h == y])^2 and ``gap`` =
    p - [h == y] where has_conf, else 0; ``bin`` = the calibration bin of p, so ``cal_k`` is
    ``gap`` where bin == k and 0 elsewhere.
    """

    bits: np.ndarray  # (n,) uint16
    brier: np.ndarray  # (n,)
    gap: np.ndarray  # (n,)
    bin: np.ndarray  # (n,) int8 in 0..N_BINS - 1

    def take(self, index: np.ndarray | slice) -> RowParts:
        """The parts of the judgments ``index``."""
        return RowParts(self.bits[index], self.brier[index], self.gap[index], self.bin[index])


def row_parts(y: np.ndarray, a: np.ndarray, h0: np.ndarray, h: np.ndarray, p: np.ndarray) -> RowParts:
    """Row quantities from label codes (``schema.label_codes``: -1 = missing) and the rater confidence p."""
    has_y, has_h, two = y >= 0, h >= 0, h0 >= 0
    correct = has_y & (h == y)
    agree = has_h & (a >= 0) & (h == a)
    init_ok = two & (h0 == y)
    init_bad = two & has_y & ~init_ok
    has_conf = ~np.isnan(p) & has_y & has_h
    values = {
        "one": np.ones(len(y), dtype=bool), "graded": has_y, "correct": correct, "agree": agree, "two_stage": two,
        "initial_correct": init_ok, "fixed_by_ai": init_bad & agree, "kept_initial": init_ok & has_h & (h == h0),
        "switched": two & has_h & (h != h0), "has_conf": has_conf,
    }
    bits = np.zeros(len(y), dtype=np.uint16)
    for k, name in enumerate(BINARY_QUANTITIES):
        bits |= values[name].astype(np.uint16) << k
    gap = np.where(has_conf, np.nan_to_num(p) - correct, 0.0)
    return RowParts(bits, gap**2, gap, _bin(p).astype(np.int8))


def bit(parts: RowParts, name: str) -> np.ndarray:
    """The 0/1 row quantity ``name`` as a bool array."""
    out: np.ndarray = (parts.bits >> BINARY_QUANTITIES.index(name)) & 1 == 1
    return out


def row_quantities(df: pd.DataFrame, codes: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
    """The ``ROW_QUANTITIES`` of every judgment, shape (n_rows, len(ROW_QUANTITIES)).

    ``codes``: the label codes (y, a, h0, h) of ``schema.label_codes`` when already computed.
    """
    y, a, h0, h = codes if codes is not None else s.label_codes(df, (s.GOLD, s.AI_LABEL, s.INITIAL, s.FINAL))
    parts = row_parts(y, a, h0, h, s.floats(df, s.CONF))
    out = np.zeros((len(df), len(ROW_QUANTITIES)))
    for name in BINARY_QUANTITIES:
        out[:, Q[name]] = bit(parts, name)
    out[:, Q["brier"]] = parts.brier
    out[np.arange(len(df)), Q["cal_0"] + parts.bin.astype(np.int64)] = parts.gap  # each judgment's gap in its own bin
    return out


def item_factors(ai_right: np.ndarray, known: np.ndarray, ai_conf: np.ndarray) -> np.ndarray:
    """The ``ITEM_FACTORS`` of every item, shape (len(ITEM_FACTORS), n_items).

    ``ai_right`` is [a == y], ``known`` says both labels are present, ``ai_conf`` is c.
    """
    has_c = known & ~np.isnan(ai_conf)
    gap = np.where(has_c, np.nan_to_num(ai_conf) - ai_right, 0.0)
    out = np.zeros((len(ITEM_FACTORS), len(ai_right)))
    out[F["all"]] = 1.0
    out[F["ai_right"]] = known & ai_right
    out[F["ai_wrong"]] = known & ~ai_right
    out[F["has_ai_conf"]] = has_c
    out[F["ai_brier"]] = gap**2
    bins = _bin(ai_conf)
    for b in range(N_BINS):
        out[F[f"ai_cal_{b}"]] = np.where(bins == b, gap, 0.0)
    return out
