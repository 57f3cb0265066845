"""Export: analysis-ready files from a study.

``judgments`` (tidy long: one row per judgment), ``raters`` (wide: one row per rater),
``events`` (the event log), ``codebook.csv`` (every column described) and
``manifest.json`` (config, assistance provenance, seed, app version). Text cells that
a spreadsheet would run as a formula are prefixed with ``'`` (OWASP CSV injection).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from analysis import schema
from study import models as m
from study.config import StudyConfig
from study.db import read_session
from study.service import _study, get_config


@dataclass(frozen=True)
class Column:
    """One documented column of an export file."""

    file: str
    name: str
    type: str
    description: str


_J = "judgments"
_R = "raters"
_E = "events"

#: Every exported column, declared once; ``codebook.csv`` is written from this list
#: and a test checks the exported files have exactly these columns. The judgments
#: file's columns are the tidy schema's, :data:`analysis.schema.JUDGMENT_COLUMNS`.
CODEBOOK: tuple[Column, ...] = (
    *(Column(_J, c.name, c.dtype, c.meaning) for c in schema.JUDGMENT_COLUMNS),
    Column(_R, "study", "string", "Study name."),
    Column(_R, "rater_id", "string", "External rater id."),
    Column(_R, "prolific_pid", "string", "Prolific participant id, if given."),
    Column(_R, "prolific_study_id", "string", "Prolific study id, if given."),
    Column(_R, "prolific_session_id", "string", "Prolific session id, if given."),
    Column(_R, "condition", "string", "Assigned condition (between-subjects) or first block (within)."),
    Column(_R, "condition_order", "string", "Conditions in block order, separated by |."),
    Column(_R, "debate_flip", "boolean", "Debate sides shown in swapped left/right order."),
    Column(_R, "status", "string", "Final or current status."),
    Column(_R, "attention_failures", "integer", "Attention checks answered wrongly."),
    Column(_R, "n_assigned", "integer", "Items assigned (practice included)."),
    Column(_R, "n_judged", "integer", "Items judged."),
    Column(_R, "accuracy", "float", "Share of non-practice, non-attention items judged correctly."),
    Column(_R, "enrolled_at", "datetime", "UTC enrolment time."),
    Column(_R, "consented_at", "datetime", "UTC consent time."),
    Column(_R, "finished_at", "datetime", "UTC time the session ended."),
    Column(_R, "exit_answers", "json", "Exit questionnaire answers as JSON."),
    Column(_R, "is_test", "boolean", "A test rater made by the experimenter (only exported with --include-test)."),
    Column(_E, "study", "string", "Study name."),
    Column(_E, "rater_id", "string", "External rater id (empty for study-level events)."),
    Column(_E, "item_id", "string", "Item the event concerns, if any."),
    Column(_E, "kind", "string", "Event kind: enrol, consent, start, item_shown, initial, reveal, judgment, quote_expand, reload, ..."),
    Column(_E, "payload", "json", "Event details as JSON."),
    Column(_E, "created_at", "datetime", "UTC server time."),
    Column(_E, "client_at", "datetime", "UTC client time, if sent."),
)


def columns(file: str) -> list[str]:
    return [c.name for c in CODEBOOK if c.file == file]


def codebook() -> pd.DataFrame:
    return pd.DataFrame([c.__dict__ for c in CODEBOOK])


def _ai_verdicts(session: Any, study_id: int) -> dict[int, tuple[str | None, float | None]]:
    rows = session.execute(
        select(m.Assistance.item_pk, m.Assistance.content).where(
            m.Assistance.study_id == study_id, m.Assistance.kind == "verdict"
        )
    )
    return {pk: (c.get("label"), c.get("confidence")) for pk, c in rows}


def _consultant_correct(session: Any, study_id: int) -> dict[int, bool]:
    """Per item pk: whether the stored consultancy argues for the gold label."""
    rows = session.execute(
        select(m.Assistance.item_pk, m.Assistance.content).where(
            m.Assistance.study_id == study_id, m.Assistance.kind == "consultancy"
        )
    )
    return {pk: bool(c.get("assigned_correct")) for pk, c in rows}


def ai_verdicts_frame(engine: Engine, name: str) -> pd.DataFrame:
    """One row per item with a stored AI verdict: item_id, role, gold_label, ai_label, ai_confidence."""
    with read_session(engine) as s:
        study = _study(s, name)
        rows = s.execute(
            select(m.Item.item_id, m.Item.role, m.Item.gold_label, m.Assistance.content)
            .join(m.Assistance, m.Assistance.item_pk == m.Item.id)
            .where(m.Item.study_id == study.id, m.Assistance.kind == "verdict")
            .order_by(m.Item.id)
        ).all()
    return pd.DataFrame(
        [(i, r, g, c.get("label"), c.get("confidence")) for i, r, g, c in rows],
        columns=["item_id", "role", "gold_label", "ai_label", "ai_confidence"],
    )


def judgments_frame(engine: Engine, name: str, config: StudyConfig | None = None, *,
                    include_test: bool = False) -> pd.DataFrame:
    """The tidy long table: one row per judgment (see :data:`CODEBOOK`).

    ``config`` is the study's validated config (read from the database when not given).
    Test raters' judgments are left out unless ``include_test``.
    """
    cfg = config if config is not None else get_config(engine, name)
    kinds: dict[str, str] = {c.key: c.assistance for c in cfg.conditions}  # the typed condition, never the table's copy
    with read_session(engine) as s:
        study = _study(s, name)
        verdicts = _ai_verdicts(s, study.id)
        consultants = _consultant_correct(s, study.id)
        cond = aliased(m.Condition)
        rows = s.execute(
            select(m.Judgment, m.Assignment, m.Rater, m.Item, cond)
            .join(m.Assignment, m.Assignment.id == m.Judgment.assignment_id)
            .join(m.Rater, m.Rater.id == m.Judgment.rater_id)
            .join(m.Item, m.Item.id == m.Judgment.item_pk)
            .join(cond, cond.id == m.Assignment.condition_id)
            .where(m.Rater.study_id == study.id, *_real(include_test))
            .order_by(m.Rater.id, m.Assignment.position)
        ).all()
        records = [_judgment_record(study.name, cfg.design.two_stage, kinds, verdicts, consultants, *row) for row in rows]
    return pd.DataFrame.from_records(records, columns=columns(_J))


def _judgment_record(
    study: str, two_stage: bool, kinds: dict[str, str], verdicts: dict[int, tuple[str | None, float | None]],
    consultants: dict[int, bool], j: m.Judgment, a: m.Assignment, r: m.Rater, it: m.Item, c: m.Condition,
) -> dict[str, Any]:
    ai_label, ai_conf = verdicts.get(it.id, (None, None))
    kind = kinds[c.key]
    return {
        "study": study,
        "rater_id": r.external_id,
        "condition": c.key,
        "assistance_kind": kind,
        "item_id": it.item_id,
        "position": a.position,
        "is_practice": a.stage == "practice",
        "is_attention_check": a.is_attention_check,
        "gold_label": it.gold_label,
        "ai_label": ai_label,
        "ai_confidence": ai_conf,
        "initial_label": j.initial_label,
        "initial_confidence": j.initial_confidence,
        "final_label": j.label,
        "confidence": j.confidence,
        "correct": j.label == it.gold_label,
        "ai_correct": (ai_label == it.gold_label) if ai_label is not None else None,
        "agree_with_ai": (j.label == ai_label) if ai_label is not None else None,
        "consultant_correct": consultants.get(it.id) if kind == "consultancy" else None,
        "time_ms": j.time_ms,
        "active_ms": j.active_ms,
        "shown_at": a.shown_at,
        "initial_at": a.initial_at,
        "submitted_at": j.submitted_at,
        "client_submitted_at": j.client_submitted_at,
        "rater_status": r.status,
        "two_stage": two_stage,
    }


def _real(include_test: bool) -> list[Any]:
    """Where clauses leaving out test raters (none when ``include_test``)."""
    return [] if include_test else [m.Rater.is_test.is_(False)]


def raters_frame(engine: Engine, name: str, judgments: pd.DataFrame | None = None, *,
                 include_test: bool = False) -> pd.DataFrame:
    """The wide rater file: one row per rater (test raters only with ``include_test``)."""
    jf = judgments if judgments is not None else judgments_frame(engine, name, include_test=include_test)
    main = jf[~jf["is_practice"].astype(bool) & ~jf["is_attention_check"].astype(bool)]
    acc = main.groupby("rater_id")["correct"].mean().to_dict()
    n_judged = jf.groupby("rater_id").size().to_dict()
    with read_session(engine) as s:
        study = _study(s, name)
        raters = s.scalars(select(m.Rater).where(m.Rater.study_id == study.id, *_real(include_test))
                           .order_by(m.Rater.id)).all()
        records = [
            {
                "study": study.name,
                "rater_id": r.external_id,
                "prolific_pid": r.prolific_pid,
                "prolific_study_id": r.prolific_study_id,
                "prolific_session_id": r.prolific_session_id,
                "condition": r.condition_order[0] if r.condition_order else None,
                "condition_order": "|".join(r.condition_order or []),
                "debate_flip": r.debate_flip,
                "status": r.status,
                "attention_failures": r.attention_failures,
                "n_assigned": len(r.assignments),
                "n_judged": int(n_judged.get(r.external_id, 0)),
                "accuracy": acc.get(r.external_id),
                "enrolled_at": r.enrolled_at,
                "consented_at": r.consented_at,
                "finished_at": r.finished_at,
                "exit_answers": json.dumps(r.exit_answers, ensure_ascii=False),
                "is_test": r.is_test,
            }
            for r in raters
        ]
    return pd.DataFrame.from_records(records, columns=columns(_R))


def events_frame(engine: Engine, name: str, *, include_test: bool = False) -> pd.DataFrame:
    """The event log, oldest first (test raters' events only with ``include_test``)."""
    with read_session(engine) as s:
        study = _study(s, name)
        rows = s.execute(
            select(m.Event, m.Rater.external_id, m.Item.item_id)
            .outerjoin(m.Rater, m.Rater.id == m.Event.rater_id)
            .outerjoin(m.Assignment, m.Assignment.id == m.Event.assignment_id)
            .outerjoin(m.Item, m.Item.id == m.Assignment.item_pk)
            .where(m.Event.study_id == study.id, *([] if include_test else [m.Rater.is_test.is_not(True)]))
            .order_by(m.Event.id)
        ).all()
        records = [
            {
                "study": study.name,
                "rater_id": rid,
                "item_id": iid,
                "kind": e.kind,
                "payload": json.dumps(e.payload, ensure_ascii=False),
                "created_at": e.created_at,
                "client_at": e.client_at,
            }
            for e, rid, iid in rows
        ]
    return pd.DataFrame.from_records(records, columns=columns(_E))


def app_version() -> str:
    try:
        return version("oversight-lab")
    except PackageNotFoundError:
        return "unknown"


def manifest(engine: Engine, name: str, config: StudyConfig | None = None) -> dict[str, Any]:
    """Config, assistance provenance (per kind/generator), seed, app version, counts.

    ``config`` is the study's validated config (read from the database when not given);
    the manifest holds it as stored, with every default (e.g. display toggles) filled in.
    """
    cfg = config if config is not None else get_config(engine, name)
    with read_session(engine) as s:
        study = _study(s, name)
        prov = s.execute(
            select(
                m.Assistance.kind, m.Assistance.generator, m.Assistance.model, m.Assistance.model_version,
                m.Assistance.parameters, m.Assistance.package_versions, m.Assistance.seed,
            ).where(m.Assistance.study_id == study.id)
        ).all()
        hashes = s.execute(
            select(m.Item.item_id, m.Assistance.kind, m.Assistance.content_hash)
            .join(m.Item, m.Item.id == m.Assistance.item_pk)
            .where(m.Assistance.study_id == study.id)
            .order_by(m.Item.item_id, m.Assistance.kind)
        ).all()
        groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for kind, gen, model, mv, params, pkgs, seed in prov:
            g = groups.setdefault((kind, gen, model, mv), {
                "kind": kind, "generator": gen, "model": model, "model_version": mv,
                "parameters": params, "package_versions": pkgs, "seed": seed, "rows": 0,
            })
            g["rows"] += 1
        return {
            "study": study.name,
            "title": study.title,
            "status": study.status,
            "seed": study.seed,
            "config": cfg.model_dump(mode="json", by_alias=True),
            "app_version": app_version(),
            "created_at": study.created_at.isoformat(),
            "launched_at": study.launched_at.isoformat() if study.launched_at else None,
            "exported_at": m.utcnow().isoformat(),
            "assistance_provenance": list(groups.values()),
            "assistance_content_hashes": [{"item_id": i, "kind": k, "sha256": h} for i, k, h in hashes],
        }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells starting with = + - @ TAB CR by ``'`` so spreadsheets show them as text."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    text: str = neutralise_formulas(df).to_csv(index=False)
    return text.encode("utf-8")


def export_files(engine: Engine, name: str, *, include_test: bool = False) -> dict[str, bytes]:
    """Every export file, by file name (test raters only with ``include_test``)."""
    config = get_config(engine, name)
    jf = judgments_frame(engine, name, config, include_test=include_test)
    parquet = io.BytesIO()
    jf.to_parquet(parquet, index=False)
    return {
        "judgments.csv": to_csv_bytes(jf),
        "judgments.parquet": parquet.getvalue(),
        "raters.csv": to_csv_bytes(raters_frame(engine, name, jf, include_test=include_test)),
        "events.csv": to_csv_bytes(events_frame(engine, name, include_test=include_test)),
        "codebook.csv": codebook().to_csv(index=False).encode("utf-8"),
        "manifest.json": json.dumps(manifest(engine, name, config), indent=2, ensure_ascii=False, default=str).encode("utf-8"),
    }


def export_study(engine: Engine, name: str, out_dir: str | Path, *, include_test: bool = False) -> list[Path]:
    """Write every export file into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fname, data in export_files(engine, name, include_test=include_test).items():
        p = out / fname
        p.write_bytes(data)
        paths.append(p)
    return paths


def export_zip(engine: Engine, name: str) -> bytes:
    """All export files as one zip archive (for the download button)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for fname, data in export_files(engine, name).items():
            zf.writestr(f"{name}/{fname}", data)
    return buf.getvalue()
