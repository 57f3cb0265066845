"""The ``oversight`` command line: a thin skin over the Python API.

Every command takes ``--db URL`` (default: ``OVERSIGHT_DATABASE_URL`` or the SQLite
file under data/). Errors print one clear message and exit with status 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from study import demo as demo_mod
from study import service
from study.config import ConfigError, load_config
from study.db import PROJECT_ROOT, get_engine, resolve_url, upgrade
from tasks.importers import FORMATS, ItemBankError, read_item_bank

app = typer.Typer(help="oversight-lab: run human-AI oversight experiments.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
study_app = typer.Typer(help="Create, launch, pause and close studies.", no_args_is_help=True)
items_app = typer.Typer(help="Item banks.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(study_app, name="study")
app.add_typer(items_app, name="items")

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: $OVERSIGHT_DATABASE_URL or data/oversight.db).")]
F = TypeVar("F", bound=Callable[..., Any])


def clean_errors(func: F) -> F:
    """Turn domain errors into one line on stderr and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, ItemBankError, service.ServiceError, service.StudyFull) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _engine(db: str | None) -> Any:
    url = upgrade(db)
    return get_engine(url)


@db_app.command("upgrade")
@clean_errors
def db_upgrade(db: DbOption = None) -> None:
    """Apply the schema migrations (safe to run again).

    Example: oversight db upgrade --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    """
    url = upgrade(db)
    typer.echo(f"database at head: {_redact(url)}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@study_app.command("create")
@clean_errors
def study_create(config: Annotated[Path, typer.Argument(help="YAML study config.")], db: DbOption = None) -> None:
    """Create a draft study from a config file.

    Example: oversight study create data/demo_study.yaml
    """
    cfg = load_config(config)
    service.create_study(_engine(db), cfg)
    typer.echo(f"created study {cfg.name!r} (draft) with conditions {[c.key for c in cfg.conditions]}")


def _set_status(name: str, status: str, db: str | None) -> None:
    study = service.set_status(_engine(db), name, status)
    typer.echo(f"study {study.name!r} is {study.status}")


@study_app.command("launch")
@clean_errors
def study_launch(name: str, db: DbOption = None) -> None:
    """Open a study to raters (needs items and frozen assistance).

    Example: oversight study launch demo
    """
    _set_status(name, "live", db)


@study_app.command("pause")
@clean_errors
def study_pause(name: str, db: DbOption = None) -> None:
    """Stop new answers for a while; `launch` resumes.

    Example: oversight study pause demo
    """
    _set_status(name, "paused", db)


@study_app.command("close")
@clean_errors
def study_close(name: str, db: DbOption = None) -> None:
    """Close a study for good.

    Example: oversight study close demo
    """
    _set_status(name, "closed", db)


@study_app.command("list")
@clean_errors
def study_list(db: DbOption = None) -> None:
    """List studies with their status.

    Example: oversight study list
    """
    for st in service.list_studies(_engine(db)):
        typer.echo(f"{st.name}\t{st.status}\t{st.title}")


@items_app.command("import")
@clean_errors
def items_import(
    file: Annotated[Path, typer.Argument(help="Item bank (JSONL or CSV).")],
    study: Annotated[str, typer.Option("--study", help="Study name.")],
    fmt: Annotated[str | None, typer.Option("--format", help=f"One of {', '.join(FORMATS)} (default from extension).")] = None,
    db: DbOption = None,
) -> None:
    """Import an item bank into a draft study, all or nothing.

    Example: oversight items import ../shared/datasets/climate-fever.jsonl --study demo --format climate-fever
    """
    engine = _engine(db)
    cfg = service.get_config(engine, study)
    items = read_item_bank(
        file, fmt, labels=cfg.labels,  # type: ignore[arg-type]
        label_map=cfg.importing.label_map, max_sources=cfg.importing.max_sources,
    )
    n = service.import_items(engine, study, items, origin=str(file))
    typer.echo(f"imported {n} items into {study!r}")


@app.command("export")
@clean_errors
def export(
    name: Annotated[str, typer.Argument(help="Study name.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    db: DbOption = None,
) -> None:
    """Write judgments (CSV, Parquet), raters, events, codebook and manifest.

    Example: oversight export demo --out exports/demo
    """
    from study.export import export_study

    for path in export_study(_engine(db), name, out):
        typer.echo(str(path))


@app.command("demo")
@clean_errors
def demo(db: DbOption = None) -> None:
    """Create and launch the demo study (idempotent).

    Example: oversight demo
    """
    engine = _engine(db)
    created = demo_mod.ensure_demo(engine)
    typer.echo("demo study created and launched" if created else "demo study already exists")


@app.command("run")
@clean_errors
def run(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    db: DbOption = None,
    headless: Annotated[bool, typer.Option(help="Do not open a browser.")] = True,
) -> None:
    """Prepare the database (migrations, demo study) and start the Streamlit app.

    Example: oversight run --port 8501
    """
    engine = _engine(db)
    demo_mod.ensure_demo(engine)
    env = dict(os.environ, OVERSIGHT_DATABASE_URL=resolve_url(db))
    cmd = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"),
           "--server.port", str(port), "--server.headless", str(headless).lower()]
    typer.echo(f"starting: {' '.join(cmd)}")
    raise typer.Exit(subprocess.call(cmd, env=env))


def main() -> None:
    """Console-script entry point."""
    app()


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
