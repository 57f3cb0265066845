"""Docs cover every setting; the README's two commands are what CI runs."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from study.config import StudyConfig
from study.export import CODEBOOK, codebook

ROOT = Path(__file__).resolve().parents[1]


def _setting_names(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        names.append(key)
        ann = field.annotation
        for cand in (ann, *typing.get_args(ann)):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                names += _setting_names(cand, key + ("[]." if typing.get_origin(ann) is list else "."))
    return names


def test_every_config_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "study-config.md").read_text()
    missing = [n for n in _setting_names(StudyConfig) if f"`{n}`" not in doc]
    assert missing == []


def test_every_setting_has_a_description() -> None:
    def walk(model: type[BaseModel]) -> list[str]:
        out = [n for n, f in model.model_fields.items() if not f.description]
        for f in model.model_fields.values():
            for cand in (f.annotation, *typing.get_args(f.annotation)):
                if isinstance(cand, type) and issubclass(cand, BaseModel):
                    out += walk(cand)
        return out

    assert walk(StudyConfig) == []


def test_readme_opens_with_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    start, tests = blocks[0].strip(), blocks[1].strip()
    assert readme.index(blocks[0]) < readme.index("##")  # before any section
    assert "\n" not in start and "\n" not in tests
    assert "study run" in start and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci


def test_codebook_describes_unique_columns() -> None:
    df = codebook()
    assert not df.duplicated(["file", "name"]).any()
    assert all(c.description.endswith(".") for c in CODEBOOK)


def test_relative_links_in_docs_exist() -> None:
    broken = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (md.parent / target).exists():
                broken.append(f"{md.name}: {target}")
    assert broken == []
