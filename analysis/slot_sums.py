"""Weighted metric sums of one condition for a block of bootstrap replicates: one sparse product.

Every metric term is sum_i w_i * row_quantity[i, q] * item_factor[f, item(i)] with the
judgment weight w_i = R[b, rater(i)] * I[b, item(i)] (``analysis.engine``). The item
weight and the item factor are constant over an item's judgments, so

    term[b, q, f] = sum_j F[f, j] * I[b, j] * Y_q[j, b],   Y_q[j, b] = sum_{i in item j} q_i R[b, rater(i)].

Y is computed for all quantities at once as one sparse (slots x items, raters) by dense
(raters, replicates) matrix product, with two ways to keep the slots few:

- the 0/1 row quantities (graded, correct, agree, two-stage and reliance indicators,
  has_conf; ``BINARY``) are not summed one by one: each judgment has a *type*, its
  pattern of those indicators, and the product sums judgments per (type, item), one
  matrix entry per judgment. The sum of quantity q is the sum over the types whose
  pattern has q = 1, and ``one`` is the sum over all types;
- the continuous quantities (``brier`` and the 10 signed calibration gaps ``cal_k``, of
  which a judgment has at most one) are one slot each, one entry per nonzero value. They
  are needed with the factor ``all`` only, so when the condition has fewer raters than
  items they are summed by rater instead: P_q[r, b] = sum_{i of rater r} q_i I[b, item(i)]
  (a (slots x raters, items) product with I), then term[b, q, all] = sum_r R[b, r] P_q[r, b].

Judgments of the same rater on the same item in the same slot are one entry (summed).
So the products cost about 3 x judgments x replicates multiply-adds, against
judgments x replicates x 41 terms when every judgment's weight is formed. The 0/1
quantities are needed with the factors ``all``, ``ai_right`` and ``ai_wrong`` only, ``one``
with every factor, the continuous quantities with ``all`` only (``definitions.PAIRS``;
checked at import).

Precision: counts are exact (integer weights). Large conditions (``FLOAT32_ROWS``
judgments or more) run the products in float32 when every (slot, item) count sum times
its item weight is an integer below 2^24, and keep the counts' sums over items in
float32 only when the block's total weight is below 2^24 too (then every count, sum and
running sum is an exact integer; otherwise the block is redone in float64). This changes
the continuous sums by a relative ~1e-8 (float32 rounding of the per-item or per-rater
sums, which are then summed in float64). The point estimate always uses float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis import definitions as d

BINARY: tuple[int, ...] = tuple(d.Q[q] for q in d.BINARY_QUANTITIES)  # bit k of RowParts.bits is BINARY[k]
CONTINUOUS: tuple[int, ...] = (d.Q["brier"], *(d.Q[f"cal_{b}"] for b in range(d.N_BINS)))  # slot order
ITEM_CLASS: tuple[int, ...] = (d.F["all"], d.F["ai_right"], d.F["ai_wrong"])
FLOAT32_ROWS = 2**17  # conditions with at least this many judgments may use the float32 product
_EXACT32 = 2**24  # integers below this are exact in float32


def _check_pairs() -> None:
    computed = {(q, f) for q in BINARY for f in ITEM_CLASS} | {(d.Q["one"], f) for f in range(len(d.ITEM_FACTORS))}
    computed |= {(q, d.F["all"]) for q in CONTINUOUS}
    missing = [p for p in d.PAIRS if p not in computed]
    if missing:
        raise RuntimeError(f"metric terms {missing} are not computed by analysis.slot_sums")


_check_pairs()


@dataclass(frozen=True)
class SlotMatrix:
    """One condition's judgments as sparse matrices, rows slot-major (module docstring).

    ``matrix``: (types * items, raters), plus the continuous slots' (slots * items) rows when
    ``cont`` is None; otherwise ``cont`` holds those as (slots * raters, items), summed with
    the rater weights afterwards (the smaller side gives the smaller product).
    """

    matrix: sp.csr_matrix  # float64
    matrix32: sp.csr_matrix | None  # float32 copy for large conditions
    bits: np.ndarray  # (n_types, len(BINARY)) the 0/1 quantities of each judgment type
    n_items: int
    factors: np.ndarray  # (len(ITEM_FACTORS), n_items)
    cell_max: int  # most judgments summed into one matrix entry row (float32 exactness bound)
    cont: sp.csr_matrix | None = None  # continuous slots by rater, float64
    cont32: sp.csr_matrix | None = None

    @property
    def n_types(self) -> int:
        return int(self.bits.shape[0])


def _csr(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int],
         large: bool) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
    """(float64 matrix, float32 copy sharing its index arrays or None); duplicate entries are summed."""
    matrix = sp.csr_matrix((values, (rows, cols)), shape=shape)
    m32 = sp.csr_matrix((matrix.data.astype(np.float32), matrix.indices, matrix.indptr), shape=shape,
                        copy=False) if large else None
    return matrix, m32


def by_rater(n_raters: int, n_items: int) -> bool:
    """Whether the continuous slots go by rater: the side with fewer units gives fewer rows."""
    return n_raters < n_items


def build(parts: d.RowParts, rater: np.ndarray, item: np.ndarray, n_raters: int, n_items: int,
          factors: np.ndarray) -> SlotMatrix:
    """The slot matrices of judgments with row quantities ``parts``, local rater and item codes."""
    type_of, codes = pd.factorize(parts.bits, sort=True)  # hashing: faster than sorting the judgments
    bits = ((codes[:, None] >> np.arange(len(BINARY))) & 1).astype(float)
    n_types, large = len(codes), len(item) >= FLOAT32_ROWS
    brier, gap = np.flatnonzero(parts.brier), np.flatnonzero(parts.gap)
    slot = np.concatenate([np.zeros(len(brier), dtype=np.int64), 1 + parts.bin[gap].astype(np.int64)])
    at = np.concatenate([brier, gap])
    values = np.concatenate([parts.brier[brier], parts.gap[gap]])
    cell_max = int(np.bincount(item, minlength=1).max(initial=0))
    if by_rater(n_raters, n_items):  # continuous slots by rater, weighted by the items in the product
        cont = _csr(values, slot * n_raters + rater[at], item[at], (len(CONTINUOUS) * n_raters, n_items), large)
        main = _csr(np.ones(len(item)), type_of * n_items + item, rater, (n_types * n_items, n_raters), large)
        return SlotMatrix(main[0], main[1], bits, n_items, factors, cell_max, cont[0], cont[1])
    rows = np.concatenate([type_of * n_items + item, (n_types + slot) * n_items + item[at]])
    main = _csr(np.concatenate([np.ones(len(item)), values]), rows, np.concatenate([rater, rater[at]]),
                ((n_types + len(CONTINUOUS)) * n_items, n_raters), large)
    return SlotMatrix(main[0], main[1], bits, n_items, factors, cell_max)


def _float32_ok(slots: SlotMatrix, rater_t: np.ndarray, item_t: np.ndarray) -> bool:
    """Every (slot, item) count sum and its product with the item weight is an integer below 2^24."""
    bound = slots.cell_max * float(rater_t.max(initial=0.0)) * float(item_t.max(initial=0.0))
    return slots.matrix32 is not None and bound < _EXACT32


def block_sums(slots: SlotMatrix, rater_t: np.ndarray, item_t: np.ndarray,
               allow_float32: bool = True) -> tuple[np.ndarray, ...]:
    """Term sums (b, Q, F) and per-item weighted #correct H and #graded N, item-major (n_items, b).

    ``rater_t`` (condition raters, b) and ``item_t`` (condition items, b) are the block's
    multiplicities (any real or integer dtype), transposed. With ``allow_float32`` (not for the
    point estimate), large conditions compute in float32 while that is exact for the counts
    (module docstring): H and N are then float32.
    """
    rater_f, item_f = rater_t.astype(float), item_t.astype(float)
    if allow_float32 and slots.matrix32 is not None and _float32_ok(slots, rater_t, item_t):
        r32, i32 = rater_t.astype(np.float32), item_t.astype(np.float32)
        y = (slots.matrix32 @ r32).reshape(-1, slots.n_items, rater_t.shape[1])
        out = _sums(slots, y, i32, item_f)
        if out is not None:
            return _with_cont(slots, out, slots.cont32, i32, rater_f)
    y = (slots.matrix @ rater_f).reshape(-1, slots.n_items, rater_t.shape[1])
    exact = _sums(slots, y, item_f, item_f)
    if exact is None:
        raise RuntimeError("float64 sums cannot fail the float32 bound")
    return _with_cont(slots, exact, slots.cont, item_f, rater_f)


def _with_cont(slots: SlotMatrix, out: tuple[np.ndarray, ...], cont: sp.csr_matrix | None, item_w: np.ndarray,
               rater_f: np.ndarray) -> tuple[np.ndarray, ...]:
    """Add the continuous sums computed by rater (``cont``), if the condition has them there."""
    if cont is not None:
        by_rater = (cont @ item_w).reshape(len(CONTINUOUS), -1, rater_f.shape[1])
        out[0][:, np.array(CONTINUOUS), d.F["all"]] = np.einsum("srb,rb->bs", by_rater, rater_f, dtype=float)
    return out


def _sums(slots: SlotMatrix, y: np.ndarray, item_w: np.ndarray, item_t: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """The sums of ``block_sums`` from the product Y (slots, items, b); None when float32 would not be exact.

    ``item_w`` is the item weights in Y's dtype, ``item_t`` in float64.
    """
    n_t, n_rep = slots.n_types, y.shape[2]
    types = y[:n_t] * item_w[None, :, :]  # (types, items, b)
    chosen = np.stack([np.ones(n_t), slots.bits[:, BINARY.index(d.Q["correct"])],
                       slots.bits[:, BINARY.index(d.Q["graded"])]]).astype(y.dtype)
    per_item = (chosen @ types.reshape(n_t, -1)).reshape(3, slots.n_items, n_rep)  # one, correct, graded
    if y.dtype == np.float32 and per_item[0].sum(axis=0, dtype=float).max(initial=0.0) >= _EXACT32:
        return None  # a sum over items could exceed the exact float32 integers
    by_class = np.matmul(slots.factors[list(ITEM_CLASS)].astype(y.dtype), types)  # (types, 3, b)
    sums = np.zeros((n_rep, len(d.ROW_QUANTITIES), len(d.ITEM_FACTORS)))
    sums[:, np.array(BINARY)[:, None], np.array(ITEM_CLASS)[None, :]] = np.einsum("tq,tfb->bqf", slots.bits, by_class)
    sums[:, d.Q["one"], :] = (slots.factors @ per_item[0].astype(float)).T
    if slots.cont is None:
        sums[:, np.array(CONTINUOUS), d.F["all"]] = np.einsum("sjb,jb->bs", y[n_t:], item_t, dtype=float)
    return sums, per_item[1], per_item[2]
