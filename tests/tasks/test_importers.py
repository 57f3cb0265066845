"""Item-bank import: every error kind names file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.importers import ItemBankError, read_item_bank

LABELS = ["correct", "incorrect"]
GOOD = {"item_id": "a1", "claim": "The sky is blue.", "gold_label": "correct",
        "sources": [{"title": "Sky", "text": "The sky looks blue because of Rayleigh scattering."}]}


def _jsonl(tmp_path: Path, rows: list, name: str = "bank.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return p


def _error(path: Path, **kw) -> ItemBankError:
    with pytest.raises(ItemBankError) as err:
        read_item_bank(path, labels=LABELS, **kw)
    return err.value


def test_good_jsonl(tmp_path: Path) -> None:
    p = _jsonl(tmp_path, [GOOD, {**GOOD, "item_id": "a2", "gold_label": "incorrect"}])
    items = read_item_bank(p, labels=LABELS)
    assert [i.item_id for i in items] == ["a1", "a2"]
    assert items.line_of("a2") == 2
    assert items[0].sources[0].title == "Sky"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ('{"item_id": "x", "claim": ', "(json)", "invalid JSON"),
        ({"claim": "c", "gold_label": "correct"}, "item_id", "Field required"),
        ({"item_id": "x", "gold_label": "correct"}, "claim", "Field required"),
        ({"item_id": "x", "claim": "   ", "gold_label": "correct"}, "claim", "must not be empty"),
        ({"item_id": "x", "claim": "c", "gold_label": "maybe"}, "gold_label", "not in the label set"),
        ({"item_id": 5, "claim": "c", "gold_label": "correct"}, "item_id", "valid string"),
        ({"item_id": "x", "claim": "c", "gold_label": "correct", "ai_confidence": 3}, "ai_confidence", "less than or equal"),
        ({"item_id": "x", "claim": "c" * 20001, "gold_label": "correct"}, "claim", "longer than"),
        ({"item_id": "x", "claim": "=cmd()", "gold_label": "correct"}, "claim", "spreadsheet formula"),
        ({"item_id": "x", "claim": "c", "gold_label": "correct", "sources": [{"text": ""}]}, "sources.0.text", "must not be empty"),
        ({"item_id": "x", "claim": "c", "gold_label": "correct", "colour": "red"}, "colour", "Extra inputs"),
        ("[1, 2]", "(json)", "expected an object"),
    ],
)
def test_row_errors_name_line_and_field(tmp_path: Path, row: object, field: str, message: str) -> None:
    p = _jsonl(tmp_path, [GOOD, row])
    err = _error(p)
    assert any(e.line == 2 and e.field == field and message in e.message for e in err.errors), err.errors
    assert f"{p}:2: field '{field}'" in str(err)


def test_duplicate_ids(tmp_path: Path) -> None:
    err = _error(_jsonl(tmp_path, [GOOD, GOOD]))
    assert err.errors[0].line == 2 and err.errors[0].field == "item_id"
    assert "first on line 1" in err.errors[0].message


def test_every_bad_row_is_listed(tmp_path: Path) -> None:
    err = _error(_jsonl(tmp_path, ["nope", GOOD, "{", {**GOOD, "item_id": "b", "gold_label": "??"}]))
    assert sorted(e.line for e in err.errors) == [1, 3, 4]


def test_bad_encoding_names_line(tmp_path: Path) -> None:
    p = tmp_path / "bank.jsonl"
    p.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"item_id": "\xff"}\n')
    err = _error(p)
    assert err.errors[0].line == 2 and err.errors[0].field == "(encoding)"


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "bank.jsonl"
    p.write_text("\n\n")
    assert "contains no items" in str(_error(p))


def test_csv_import_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "bank.csv"
    p.write_text(
        "item_id,claim,gold_label,source_title,source_text,ai_confidence\n"
        'c1,"A claim, with comma",correct,T,Some text,0.8\n'
        "c2,Another,incorrect,T,More text,\n",
        encoding="utf-8",
    )
    items = read_item_bank(p, labels=LABELS)
    assert items[0].claim == "A claim, with comma" and items[0].ai_confidence == 0.8
    assert items[1].sources[0].text == "More text"
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,claim,gold_label,ai_confidence\nc1,x,correct,high\nc2,=HYPERLINK(1),correct,\n")
    err = _error(bad)
    assert {(e.line, e.field) for e in err.errors} == {(2, "ai_confidence"), (3, "claim")}


def test_csv_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "bank.csv"
    p.write_text("item_id,claim\nc1,x\n")
    err = _error(p)
    assert err.errors[0].field == "gold_label" and err.errors[0].line == 1


def test_climate_fever_adapter(climate_fever_path: Path) -> None:
    items = read_item_bank(climate_fever_path, "climate-fever", labels=LABELS)
    raw = [json.loads(line) for line in climate_fever_path.read_text().splitlines() if line.strip()]
    expected = [r for r in raw if r["claim_label"] in ("SUPPORTS", "REFUTES")]
    assert len(items) == len(expected) == 907
    by_id = {i.item_id: i for i in items}
    first = expected[0]
    item = by_id[f"cf-{first['claim_id']}"]
    assert item.claim == first["claim"]
    assert item.gold_label == {"SUPPORTS": "correct", "REFUTES": "incorrect"}[first["claim_label"]]
    assert [s.text for s in item.sources] == [e["evidence"] for e in first["evidences"]]
    assert sum(i.gold_label == "correct" for i in items) == 654


def test_climate_fever_label_map_decides(climate_fever_path: Path) -> None:
    mapping = {"SUPPORTS": "correct", "REFUTES": "incorrect", "NOT_ENOUGH_INFO": "incorrect", "DISPUTED": None}
    items = read_item_bank(climate_fever_path, "climate-fever", labels=LABELS, label_map=mapping)
    assert len(items) == 654 + 253 + 474
    with pytest.raises(ItemBankError, match="no entry in import.label_map"):
        read_item_bank(climate_fever_path, "climate-fever", labels=LABELS, label_map={"SUPPORTS": "correct"})


SKY = "The sky looks blue because of Rayleigh scattering. Sunsets look red for the same reason."


def _annotated(stances: list) -> dict:
    return {**GOOD, "item_id": "s1", "sources": [{"title": "Sky", "text": SKY, "stances": stances}]}


def test_stance_annotations_are_read_and_verified_like_quotes(tmp_path: Path) -> None:
    stances = [{"text": "the sky LOOKS blue because of Rayleigh scattering", "label": "correct"},
               {"text": "Sunsets look red for the same reason.", "label": None}]
    item = read_item_bank(_jsonl(tmp_path, [_annotated(stances)]), labels=LABELS)[0]
    assert [(s.text, s.label) for s in item.sources[0].stances or []] == [(t["text"], t["label"]) for t in stances]


@pytest.mark.parametrize(
    ("stances", "field", "message"),
    [
        ([{"text": "The sky looks green.", "label": "correct"}], "sources.0.stances.0.text", "not a passage of this source"),
        ([{"text": "ky looks blue", "label": "correct"}], "sources.0.stances.0.text", "not a passage of this source"),
        ([{"text": "Sunsets look red", "label": "maybe"}], "sources.0.stances.0.label", "'maybe' is not in the label set"),
        ([{"text": "The sky looks blue", "label": "correct"}, {"text": "blue because of Rayleigh", "label": None}],
         "sources.0.stances.1.text", "overlaps sources.0.stances.0"),
        ([{"text": "", "label": "correct"}], "sources.0.stances.0.text", "must not be empty"),
        ([{"text": "The sky", "label": "correct", "why": "x"}], "sources.0.stances.0.why", "Extra inputs"),
        ([{"text": "The sky", "label": "=cmd()"}], "sources.0.stances.0.label", "spreadsheet formula"),
    ],
)
def test_bad_stance_annotation_names_file_line_and_field(tmp_path: Path, stances: list, field: str, message: str) -> None:
    p = _jsonl(tmp_path, [GOOD, _annotated(stances)])
    err = _error(p)
    assert any(e.line == 2 and e.field == field and message in e.message for e in err.errors), err.errors
    assert f"{p}:2: field '{field}'" in str(err)


def test_bad_stance_annotation_in_a_csv_cell_names_its_line(tmp_path: Path) -> None:
    sources = json.dumps([{"text": SKY, "stances": [{"text": "Clouds are white.", "label": "incorrect"}]}])
    p = tmp_path / "bank.csv"
    p.write_text('item_id,claim,gold_label,sources\na1,c,correct,"' + sources.replace('"', '""') + '"\n', encoding="utf-8")
    err = _error(p)
    assert [(e.line, e.field) for e in err.errors] == [(2, "sources.0.stances.0.text")]


def test_climate_fever_sources_carry_their_evidence_labels(climate_fever_path: Path) -> None:
    items = {i.item_id: i for i in read_item_bank(climate_fever_path, "climate-fever", labels=LABELS)}
    raw = [json.loads(line) for line in climate_fever_path.read_text().splitlines() if line.strip()]
    expected = {"SUPPORTS": "correct", "REFUTES": "incorrect", "NOT_ENOUGH_INFO": None}
    seen = {"correct": 0, "incorrect": 0, None: 0}
    for row in raw:
        item = items.get(f"cf-{row['claim_id']}")
        if item is None:
            continue
        for source, evidence in zip(item.sources, row["evidences"], strict=True):
            assert [(s.text, s.label) for s in source.stances or []] == [
                (evidence["evidence"], expected[evidence["evidence_label"]])
            ]
            seen[expected[evidence["evidence_label"]]] += 1
    assert seen == {"correct": 1682, "incorrect": 580, None: 2273}  # 907 claims x 5 sentences


def test_climate_fever_stances_follow_the_label_map_or_can_be_left_out(climate_fever_path: Path) -> None:
    mapping = {"SUPPORTS": "true", "REFUTES": "false", "NOT_ENOUGH_INFO": None, "DISPUTED": None}
    items = read_item_bank(climate_fever_path, "climate-fever", labels=["true", "false"], label_map=mapping)
    assert {s.label for it in items for src in it.sources for s in src.stances or []} == {"true", "false", None}
    bare = read_item_bank(climate_fever_path, "climate-fever", labels=LABELS, stances=False)
    assert all(src.stances is None for it in bare for src in it.sources)
    only_supports = {**mapping, "REFUTES": None}  # "false" cannot be named: no annotations at all
    items = read_item_bank(climate_fever_path, "climate-fever", labels=["true", "false"], label_map=only_supports)
    assert len(items) == 654 and all(src.stances is None for it in items for src in it.sources)


def test_climate_fever_unknown_evidence_label_is_a_located_error(tmp_path: Path) -> None:
    row = {"claim_id": "7", "claim": "c", "claim_label": "SUPPORTS",
           "evidences": [{"article": "A", "evidence": "A sentence.", "evidence_label": "SUPPORTS"},
                         {"article": "B", "evidence": "Another one.", "evidence_label": "MAYBE"}]}
    p = _jsonl(tmp_path, [row], "cf.jsonl")
    with pytest.raises(ItemBankError) as err:
        read_item_bank(p, "climate-fever", labels=LABELS)
    assert [(e.line, e.field) for e in err.value.errors] == [(1, "evidences.1.evidence_label")]
