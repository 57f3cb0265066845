"""Item-bank import adapters: JSONL, CSV and Climate-FEVER.

Every adapter reads a whole file into validated :class:`~tasks.items.Item` objects
or raises :class:`ItemBankError` listing each bad row as ``file:line: field: problem``.
Nothing is returned unless every row is good, so callers can import all-or-nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from tasks.formats import FORMATS
from tasks.items import Item
from tasks.limits import MAX_TEXT_CHARS
from tasks.stances import stance_problems
from tasks.values import FORMULA_MESSAGE, json_value_problem, looks_like_formula, strings

ItemBankFormat = Literal["jsonl", "csv", "climate-fever"]
#: Errors listed before the rest are summarised.
MAX_REPORTED_ERRORS = 50
#: A file larger than this is refused before parsing.
MAX_FILE_BYTES = 200 * 1024 * 1024

#: Default Climate-FEVER mapping: claims with too little or disputed evidence are skipped.
CLIMATE_FEVER_LABEL_MAP: dict[str, str | None] = {
    "SUPPORTS": "correct",
    "REFUTES": "incorrect",
    "NOT_ENOUGH_INFO": None,
    "DISPUTED": None,
}

@dataclass(frozen=True)
class RowError:
    """One problem in one row of an item bank."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: field '{self.field}': {self.message}"


class ItemBankError(ValueError):
    """An item bank failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        shown = [str(e) for e in errors[:MAX_REPORTED_ERRORS]]
        if len(errors) > MAX_REPORTED_ERRORS:
            shown.append(f"... and {len(errors) - MAX_REPORTED_ERRORS} more errors")
        super().__init__("\n".join(shown))


def detect_format(path: str | Path) -> ItemBankFormat:
    """Guess the format from the file extension (``.csv`` or JSON Lines)."""
    return "csv" if str(path).lower().endswith(".csv") else "jsonl"


def _decode(data: bytes, path: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise ItemBankError([RowError(path, 0, "(file)", f"larger than {MAX_FILE_BYTES} bytes")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ItemBankError(
            [RowError(path, line, "(encoding)", f"not UTF-8 text (byte {data[err.start]:#x} at offset {err.start})")]
        ) from None


def _validation_errors(err: ValidationError, path: str, line: int) -> list[RowError]:
    out = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(row)"
        out.append(RowError(path, line, field, e["msg"]))
    return out


def _cell_errors(raw: Mapping[str, Any], path: str, line: int) -> list[RowError]:
    """Formula-like text and NUL characters, in every string of the row at any depth.

    Every text field (``item_id``, ``claim``, ``context``, labels, ``ai_reasoning``,
    source title/text/url, quotes, debate sides, metadata values) is checked, since any
    of them can end up in a spreadsheet. A NUL character (also in a key) is refused:
    PostgreSQL text cannot store it, and it is always a broken export.
    """
    errors: list[RowError] = []
    nul_reported = False
    for field, text, is_key in strings(raw):
        if "\x00" in text and not nul_reported:
            errors.append(RowError(path, line, field, "contains a NUL character"))
            nul_reported = True
        if not is_key and looks_like_formula(text):
            errors.append(RowError(path, line, field, FORMULA_MESSAGE))
    return errors


class ItemBank(list[Item]):
    """Validated items, remembering the file and line each came from."""

    def __init__(self, items: Iterable[Item] = (), *, path: str = "<items>", lines: dict[str, int] | None = None):
        super().__init__(items)
        self.path = path
        self.lines = lines or {}

    def line_of(self, item_id: str) -> int:
        """Line of ``item_id`` in the source file (0 when unknown)."""
        return self.lines.get(item_id, 0)


class _Collector:
    """Validates rows one by one and gathers every error with its line."""

    def __init__(self, path: str, labels: list[str] | None):
        self.path = path
        self.labels = labels
        self.items: list[Item] = []
        self.errors: list[RowError] = []
        self._seen: dict[str, int] = {}
        self.lines: dict[str, int] = {}

    def add(self, raw: Mapping[str, Any], line: int) -> None:
        self.errors.extend(_cell_errors(raw, self.path, line))
        metadata_problem = json_value_problem(raw["metadata"], "metadata") if "metadata" in raw else None
        if metadata_problem is not None:  # named here by its own path, and not validated again
            self.fail(line, *metadata_problem)
            return
        n_before = len(self.errors)
        item_id = raw.get("item_id")
        if isinstance(item_id, str) and item_id in self._seen:
            self.fail(line, "item_id", f"duplicate id {item_id!r} (first on line {self._seen[item_id]})")
        elif isinstance(item_id, str):
            self._seen[item_id] = line
        if self.labels is not None:
            for field in ("gold_label", "ai_label"):
                value = raw.get(field)
                if isinstance(value, str) and value not in self.labels:
                    self.fail(line, field, f"{value!r} is not in the label set {self.labels}")
        try:
            item = Item.model_validate(dict(raw))
        except ValidationError as err:
            self.errors.extend(_validation_errors(err, self.path, line))
            return
        for field, message in stance_problems(item, self.labels):
            self.fail(line, field, message)
        if len(self.errors) == n_before:
            self.items.append(item)
            self.lines[item.item_id] = line

    def fail(self, line: int, field: str, message: str) -> None:
        self.errors.append(RowError(self.path, line, field, message))

    def result(self) -> ItemBank:
        if not self.items and not self.errors:
            self.errors.append(RowError(self.path, 0, "(file)", "contains no items"))
        if self.errors:
            raise ItemBankError(self.errors)
        return ItemBank(self.items, path=self.path, lines=self.lines)


def _loads(text: str) -> Any:
    """``json.loads`` whose failures are all :class:`ValueError` (JSONDecodeError first).

    Besides malformed JSON, ``json`` raises RecursionError on very deep nesting and a
    plain ValueError on integers longer than Python converts; both become clear errors.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _json_problem(err: ValueError) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"invalid JSON: {err.msg} at column {err.colno}"
    return f"unreadable JSON: {err}"


def _json_lines(text: str, col: _Collector) -> Iterable[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line; bad JSON is reported to ``col``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = _loads(line)
        except ValueError as err:
            col.fail(number, "(json)", _json_problem(err))
            continue
        yield number, value


def parse_jsonl(text: str, path: str = "<jsonl>", labels: list[str] | None = None) -> ItemBank:
    """Parse JSON Lines: one item object per non-blank line."""
    col = _Collector(path, labels)
    for number, raw in _json_lines(text, col):
        if not isinstance(raw, dict):
            col.fail(number, "(json)", f"expected an object, got {type(raw).__name__}")
            continue
        col.add(raw, number)
    return col.result()


_CSV_JSON_FIELDS = ("sources", "ai_evidence", "debate", "metadata")


def _csv_row(row: dict[str, str | None], col: _Collector, line: int) -> dict[str, Any] | None:
    if None in row:
        col.fail(line, "(row)", "more cells than header columns")
        return None
    raw: dict[str, Any] = {k: v for k, v in row.items() if v not in ("", None) and k is not None}
    for key in _CSV_JSON_FIELDS:
        if key in raw:
            try:
                raw[key] = _loads(raw[key])
            except ValueError as err:
                col.fail(line, key, f"{_json_problem(err)} in cell")
                return None
    single = {k: raw.pop(f"source_{k}") for k in ("title", "text", "url") if f"source_{k}" in raw}
    if single:
        raw.setdefault("sources", []).append(single)
    if "ai_confidence" in raw:
        try:
            raw["ai_confidence"] = float(raw["ai_confidence"])
        except ValueError:
            col.fail(line, "ai_confidence", f"not a number: {raw['ai_confidence']!r}")
            return None
    return raw


def parse_csv(text: str, path: str = "<csv>", labels: list[str] | None = None) -> ItemBank:
    """Parse CSV with a header row; JSON cells for ``sources``, ``ai_evidence``, ``debate``.

    A single source may instead be given as ``source_title``/``source_text``/``source_url``.
    """
    col = _Collector(path, labels)
    csv.field_size_limit(MAX_TEXT_CHARS * 20)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    start = 1  # line where the row being read began (csv errors can report an earlier one)
    try:
        header = reader.fieldnames or []
        missing = [f for f in ("item_id", "claim", "gold_label") if f not in header]
        if missing:
            col.fail(1, missing[0], f"missing column(s) {missing} in the header")
            return col.result()
        start = 2
        for row in reader:
            raw = _csv_row(row, col, start)
            if raw is not None:
                col.add(raw, start)
            start = reader.line_num + 1
    except csv.Error as err:
        col.fail(max(reader.line_num, start), "(csv)", f"malformed CSV: {err}")
    return col.result()


def parse_climate_fever(
    text: str,
    path: str = "<climate-fever>",
    labels: list[str] | None = None,
    label_map: Mapping[str, str | None] | None = None,
    max_sources: int = 5,
    stances: bool = True,
) -> ItemBank:
    """Climate-FEVER JSONL (Diggelmann et al. 2020) -> items.

    ``claim_id`` -> ``cf-<claim_id>``; ``claim_label`` mapped through ``label_map``
    (a label mapped to ``None`` skips the claim); each evidence sentence becomes a
    source titled with its Wikipedia article. With ``stances`` (and both SUPPORTS and
    REFUTES mapped to a label), each source is annotated with its sentence's
    ``evidence_label``: SUPPORTS -> ``label_map["SUPPORTS"]`` (the claim holds),
    REFUTES -> ``label_map["REFUTES"]``, NOT_ENOUGH_INFO -> None (favours no label).
    """
    mapping = dict(label_map if label_map is not None else CLIMATE_FEVER_LABEL_MAP)
    col = _Collector(path, labels)
    for number, raw in _json_lines(text, col):
        item = _climate_fever_row(raw, mapping, max_sources, col, number)
        if item is not None:
            if stances:
                _climate_fever_stances(item, raw["evidences"][:max_sources], mapping, col, number)
            col.add(item, number)
    return col.result()


#: Climate-FEVER evidence labels: which claim label each one favours (None: no label).
_EVIDENCE_STANCE: dict[str, str | None] = {"SUPPORTS": "SUPPORTS", "REFUTES": "REFUTES", "NOT_ENOUGH_INFO": None}


def _climate_fever_stances(
    item: dict[str, Any], evidences: list[Any], mapping: Mapping[str, str | None], col: _Collector, line: int
) -> None:
    """Annotate each source of ``item`` with its evidence sentence's label (in place)."""
    if mapping.get("SUPPORTS") is None or mapping.get("REFUTES") is None:
        return  # a label the claims were not mapped to cannot be named
    for i, (source, ev) in enumerate(zip(item["sources"], evidences, strict=True)):
        label = ev.get("evidence_label")
        if label not in _EVIDENCE_STANCE:
            col.fail(line, f"evidences.{i}.evidence_label", f"{label!r} is not one of {sorted(_EVIDENCE_STANCE)}")
            continue
        claim_label = _EVIDENCE_STANCE[label]
        source["stances"] = [{"text": source["text"], "label": None if claim_label is None else mapping[claim_label]}]


def _climate_fever_row(
    raw: Any, mapping: Mapping[str, str | None], max_sources: int, col: _Collector, line: int
) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        col.fail(line, "(json)", f"expected an object, got {type(raw).__name__}")
        return None
    for field in ("claim_id", "claim", "claim_label", "evidences"):
        if field not in raw:
            col.fail(line, field, "missing")
            return None
    label = raw["claim_label"]
    if label not in mapping:
        col.fail(line, "claim_label", f"{label!r} has no entry in import.label_map {sorted(mapping)}")
        return None
    if mapping[label] is None:
        return None
    evidences = raw["evidences"]
    if not isinstance(evidences, list):
        col.fail(line, "evidences", "must be a list")
        return None
    sources = []
    for i, ev in enumerate(evidences[:max_sources]):
        if not isinstance(ev, dict) or not isinstance(ev.get("evidence"), str):
            col.fail(line, f"evidences.{i}.evidence", "missing or not text")
            return None
        sources.append({"title": str(ev.get("article", "")), "text": ev["evidence"]})
    return {
        "item_id": f"cf-{raw['claim_id']}",
        "claim": raw["claim"],
        "gold_label": mapping[label],
        "sources": sources,
        "metadata": {"dataset": "climate-fever", "claim_label": label,
                     "evidence_labels": [ev.get("evidence_label") for ev in evidences[:max_sources]]},
    }


def read_item_bank(
    path: str | Path,
    fmt: ItemBankFormat | None = None,
    labels: list[str] | None = None,
    label_map: Mapping[str, str | None] | None = None,
    max_sources: int = 5,
    data: bytes | None = None,
    stances: bool = True,
) -> ItemBank:
    """Read and validate a whole item bank (``data`` overrides reading ``path``).

    ``stances=False`` leaves out the stance annotations an adapter would add (Climate-FEVER).
    """
    name = str(path)
    fmt = fmt or detect_format(name)
    if fmt not in FORMATS:
        raise ItemBankError([RowError(name, 0, "(format)", f"unknown format {fmt!r}; use one of {FORMATS}")])
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise ItemBankError([RowError(name, 0, "(file)", err.strerror or str(err))]) from None
    text = _decode(data, name)
    parsers: dict[str, Callable[..., ItemBank]] = {"jsonl": parse_jsonl, "csv": parse_csv}
    if fmt == "climate-fever":
        return parse_climate_fever(text, name, labels, label_map, max_sources, stances)
    return parsers[fmt](text, name, labels)
