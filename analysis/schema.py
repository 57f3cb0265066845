"""The tidy judgments table: its columns (name, type, meaning) and helpers to read it.

The analysis package only ever sees a pandas DataFrame with one row per final
judgment (see docs/architecture.md). :data:`JUDGMENT_COLUMNS` declares every column
once: the export writes exactly these columns and its codebook from them, and the
dashboard names the ones analysis uses. Any column may be missing; helpers here turn
"missing" into a value that makes dependent metrics null, never into a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

RATER = "rater_id"
ITEM = "item_id"
CONDITION = "condition"
ASSISTANCE_KIND = "assistance_kind"
GOLD = "gold_label"
AI_LABEL = "ai_label"
AI_CONF = "ai_confidence"
CONSULTANT_CORRECT = "consultant_correct"
INITIAL = "initial_label"
INITIAL_CONF = "initial_confidence"
FINAL = "final_label"
CONF = "confidence"
TIME = "time_ms"
PRACTICE = "is_practice"
ATTENTION = "is_attention_check"
STATUS = "rater_status"

#: How analysis uses a column: ``required`` (analysis needs it), ``optional`` (used when
#: present) or ``export`` (carried for the researcher; analysis does not read it).
Use = Literal["required", "optional", "export"]


@dataclass(frozen=True)
class Column:
    """One column of the tidy judgments table."""

    name: str
    dtype: str  # string, integer, float, boolean or datetime
    meaning: str
    use: Use = "export"


#: Every column of the tidy judgments table, in file order.
JUDGMENT_COLUMNS: tuple[Column, ...] = (
    Column("study", "string", "Study name."),
    Column(RATER, "string", "External rater id (Prolific PID or the ?rater= value).", "required"),
    Column(CONDITION, "string", "Assistance condition key the rater saw for this item.", "required"),
    Column(ASSISTANCE_KIND, "string", "Kind of assistance shown: none, evidence, reasoning, debate or consultancy."),
    Column(ITEM, "string", "Item id from the item bank.", "required"),
    Column("position", "integer", "0-based position of the item in the rater's sequence (practice first)."),
    Column(PRACTICE, "boolean", "Practice item (feedback shown; excluded from analysis).", "optional"),
    Column(ATTENTION, "boolean", "Attention-check item (excluded from analysis).", "optional"),
    Column(GOLD, "string", "The correct label.", "required"),
    Column(AI_LABEL, "string", "The AI's label for the item (defined whether shown or not).", "required"),
    Column(AI_CONF, "float", "The AI's probability that its label is right, in [0, 1].", "required"),
    Column(INITIAL, "string",
           "Two-stage trials: the rater's answer before seeing the assistance; empty otherwise.", "optional"),
    Column(INITIAL_CONF, "float", "Two-stage trials: confidence of the initial answer."),
    Column(FINAL, "string", "The rater's final answer.", "required"),
    Column(CONF, "float", "The rater's confidence in the final answer, in [0, 1].", "required"),
    Column("confidence_moved", "boolean",
           "Whether the rater moved the confidence slider from where it started (a two-stage final answer "
           "counts a moved first answer); empty when not known (e.g. API use)."),
    Column("correct", "boolean", "final_label == gold_label."),
    Column("ai_correct", "boolean", "ai_label == gold_label."),
    Column("agree_with_ai", "boolean", "final_label == ai_label."),
    Column(CONSULTANT_CORRECT, "boolean",
           "Consultancy conditions: the consultant argued for the gold label; empty otherwise."),
    Column(TIME, "integer", "Server-measured ms from the item first being shown to the final answer.", "optional"),
    Column("active_ms", "integer", "Client-measured ms the page was visible and focused (empty if unavailable)."),
    Column("shown_at", "datetime", "UTC time the item was first shown (server)."),
    Column("initial_at", "datetime", "UTC time of the initial answer (two-stage only)."),
    Column("submitted_at", "datetime", "UTC time the server recorded the final answer."),
    Column("client_submitted_at", "datetime", "UTC time the client says it submitted."),
    Column(STATUS, "string", "Rater's status: completed, failed_attention, failed_comprehension, timed_out, active, ...", "optional"),
    Column("two_stage", "boolean", "Whether the study used two-stage trials."),
    Column("excluded_by_experimenter", "boolean",
           "The experimenter excluded this rater in the console review (review_exclude event); "
           "`oversight analyze --study` and the dashboard leave these rows out."),
)


def columns_used(use: Use) -> list[str]:
    """Names of the judgment columns analysis uses this way, in file order."""
    return [c.name for c in JUDGMENT_COLUMNS if c.use == use]


#: Row of the metrics table that pools every condition.
OVERALL = "overall"


def missing(df: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """Return the names in ``columns`` that are absent from ``df``."""
    return [c for c in columns if c not in df.columns]


def normalise_label(value: object) -> str | None:
    """A label compared by value: numbers canonical (1 == 1.0 == "1" -> "1"), text stripped.

    Missing values and blank text give None.
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return _number_text(float(value))
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return _number_text(number) if np.isfinite(number) else text


def _number_text(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


def labels(df: pd.DataFrame, column: str) -> pd.Series:
    """Labels normalised by :func:`normalise_label` (pandas string dtype, missing as ``<NA>``).

    An absent column yields an all-missing series.
    """
    if column not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    codes, uniques = pd.factorize(df[column], use_na_sentinel=True)
    lookup = np.array([normalise_label(v) for v in uniques] + [None], dtype=object)
    return pd.Series(lookup[codes], index=df.index, dtype="string")


def same(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Element-wise ``left == right`` as a bool array; a missing side is never equal."""
    eq = (left == right).fillna(False)
    out: np.ndarray = eq.to_numpy(dtype=bool)
    return out


_SHARED: ContextVar[dict[tuple[int, str, str], tuple[pd.DataFrame, Any]] | None] = ContextVar("codes", default=None)


@contextmanager
def shared_codes() -> Iterator[None]:
    """Within the block, the codes of a table's columns (``label_codes``, ``id_codes``) are computed
    once per table and column and reused. The tables must not be modified inside the block."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _shared(df: pd.DataFrame, kind: str, column: str, compute: Callable[[], Any]) -> Any:
    cache = _SHARED.get()
    if cache is None:
        return compute()
    key = (id(df), kind, column)
    hit = cache.get(key)
    if hit is not None and hit[0] is df:
        return hit[1]
    value = compute()
    cache[key] = (df, value)  # holding df keeps its id unique while the cache lives
    return value


def warm_codes(df: pd.DataFrame, threads: int = 1) -> None:
    """Compute the shared codes of the id and label columns of ``df`` now (inside ``shared_codes``),
    on up to ``threads`` threads, so analyses that run side by side later find them ready."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(id_codes, c) for c in (RATER, ITEM, CONDITION, ASSISTANCE_KIND) if c in df.columns]
    jobs += [(_raw_label_codes, c) for c in (GOLD, AI_LABEL, INITIAL, FINAL) if c in df.columns]
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(jobs)))) as pool:
        context = copy_context()  # the workers see the same shared-codes cache
        list(pool.map(lambda job: context.copy().run(job[0], df, job[1]), jobs))


def _small_int(n_values: int) -> type[np.signedinteger]:
    """The smallest signed integer type holding codes -1 .. n_values - 1 (codes stay small in memory)."""
    return np.int8 if n_values < 2**7 else np.int16 if n_values < 2**15 else np.int32 if n_values < 2**31 else np.int64


def id_codes(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(code of each row, sorted distinct values as text) of an id column such as rater_id or
    condition; a missing value is the value ``<missing>``. The column must exist."""
    def compute() -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(df[column].astype("string").fillna("<missing>"), sort=True)
        return codes.astype(_small_int(len(uniques))), np.asarray(uniques, dtype=object)

    out: tuple[np.ndarray, np.ndarray] = _shared(df, "id", column, compute)
    return out


def _raw_label_codes(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    # Raw values are factorised; their small vocabularies are normalised and merged, so 1, 1.0,
    # "1" and " 1" are one label.
    def compute() -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(df[column], use_na_sentinel=True)
        return codes.astype(_small_int(len(uniques))), np.array([normalise_label(v) for v in uniques], dtype=object)

    out: tuple[np.ndarray, np.ndarray] = _shared(df, "label", column, compute)
    return out


def label_codes(df: pd.DataFrame, columns: Iterable[str]) -> list[np.ndarray]:
    """Integer codes (the smallest signed type that holds them) of label columns on one shared vocabulary
    (compared by value, ``normalise_label``).

    Missing values and absent columns get -1, so ``codes_a == codes_b`` is element-wise
    label equality with "missing is never equal" once both are >= 0. Each column is
    factorised on its own (fast on arrow strings; once per table inside ``shared_codes``)
    and the small vocabularies merged; inside ``shared_codes`` the codes of a set of columns are
    computed once per table too, and are read-only.
    """
    columns = tuple(columns)

    def compute() -> list[np.ndarray]:
        out = _merged_label_codes(df, columns)
        for codes in out:
            codes.setflags(write=False)
        return out

    if _SHARED.get() is None:
        return _merged_label_codes(df, columns)
    shared: list[np.ndarray] = _shared(df, "labels", "\x1f".join(columns), compute)
    return list(shared)


def _merged_label_codes(df: pd.DataFrame, columns: tuple[str, ...]) -> list[np.ndarray]:
    per_column = []
    for column in columns:
        if column not in df.columns:
            per_column.append((np.full(len(df), -1, dtype=np.int64), np.array([], dtype=object)))
            continue
        per_column.append(_raw_label_codes(df, column))
    vocab = {v: i for i, v in enumerate(dict.fromkeys(v for _, u in per_column for v in u if v is not None))}
    out = []
    for codes, uniques in per_column:
        lookup = np.array([-1 if v is None else vocab[v] for v in uniques] + [-1], dtype=_small_int(len(vocab)))
        out.append(lookup[codes])  # code -1 indexes the trailing -1
    return out


def floats(df: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64 (NaN where missing or absent)."""
    if column not in df.columns:
        return np.full(len(df), np.nan)
    out: np.ndarray = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return out


def flags(df: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean flag column (``True``/``1``/``"true"``); absent or missing -> False."""
    if column not in df.columns:
        return np.zeros(len(df), dtype=bool)
    col = df[column]
    out: np.ndarray
    if col.dtype == bool:
        out = col.to_numpy()
        return out
    text = col.astype("string").str.strip().str.lower()
    out = text.isin(["true", "1", "1.0", "yes", "t"]).fillna(False).to_numpy(dtype=bool)
    return out


def conditions_in(df: pd.DataFrame, reference: str | None = None) -> list[str]:
    """Conditions present, sorted, with ``reference`` (when given and present) first."""
    if CONDITION not in df.columns:
        return []
    names = id_codes(df, CONDITION)[1] if _SHARED.get() is not None else np.array(["<missing>"])
    if "<missing>" in names:  # outside shared_codes, or missing values: from the column itself
        found = sorted({str(c) for c in df[CONDITION].dropna().unique()})
    else:  # the shared codes' sorted distinct values
        found = [str(c) for c in names]
    if reference is not None and reference in found:
        found.remove(reference)
        found.insert(0, reference)
    return found
