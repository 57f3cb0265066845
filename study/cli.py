"""The ``oversight`` command line: a thin skin over the Python API.

Every command takes ``--db URL`` (default: ``OVERSIGHT_DATABASE_URL`` or the SQLite
file under data/). Errors print one line (``error: ...``) and exit with status 2 for
bad input or a refused request, 1 for anything unexpected; the traceback is shown
only with ``oversight --debug ...`` (or ``OVERSIGHT_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.exceptions import TyperException

from study import (
    cli_analysis,  # noqa: F401  (registers simulate, analyze, power on the app)
    cli_links,  # noqa: F401  (registers links, test-raters on the app)
    cli_manage,  # noqa: F401  (registers study clone|edit|delete, items remove, review)
)
from study.cli_common import _DEBUG, ONE_SHOT, DbOption, app, clean_errors, db_app, engine_for, items_app, study_app
from study.lazy import lazy_module
from tasks.formats import FORMATS

if TYPE_CHECKING:
    from study import config as config_mod
    from study import db as db_mod
    from study import demo as demo_mod
    from study import preparing, service
else:  # loaded on first use: analyze --from-csv, simulate and power need no database layer
    config_mod, db_mod, demo_mod, preparing, service = (
        lazy_module(f"study.{m}") for m in ("config", "db", "demo", "preparing", "service"))


@db_app.command("upgrade")
@clean_errors
def db_upgrade(db: DbOption = None) -> None:
    """Apply the schema migrations (safe to run again).

    Example: oversight db upgrade --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    """
    url = db_mod.upgrade(db)
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
    cfg = config_mod.load_config(config)
    service.create_study(engine_for(db), cfg)
    typer.echo(f"created study {cfg.name!r} (draft) with conditions {[c.key for c in cfg.conditions]}")


def _set_status(name: str, status: str, db: str | None) -> None:
    study = service.set_status(engine_for(db), name, status)
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
    for st in service.list_studies(engine_for(db)):
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
    engine = engine_for(db)
    cfg = service.get_config(engine, study)
    from tasks.importers import read_item_bank

    items = read_item_bank(
        file, fmt, labels=cfg.labels,  # type: ignore[arg-type]
        label_map=cfg.importing.label_map, max_sources=cfg.importing.max_sources, stances=cfg.importing.stances,
    )
    n = service.import_items(engine, study, items, origin=str(file))
    typer.echo(f"imported {n} items into {study!r}")


@app.command("export")
@clean_errors
def export(
    name: Annotated[str, typer.Argument(help="Study name.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (new, or empty).")],
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder, replacing export files there.")] = False,
    include_test: Annotated[bool, typer.Option("--include-test", help="Include test raters (left out by default).")] = False,
    db: DbOption = None,
) -> None:
    """Write judgments (CSV, Parquet), raters, events, codebook and manifest.

    The folder must be new or empty (``--force`` writes into a non-empty one); an
    existing file of that name is never replaced. Nothing is created for an unknown study.

    Example: oversight export demo --out exports/demo
    """
    from study.export import export_files

    _check_export_folder(out, force)
    # an unknown study fails here, before any folder exists
    files = export_files(engine_for(db), name, include_test=include_test)
    out.mkdir(parents=True, exist_ok=True)
    for fname, data in files.items():
        (out / fname).write_bytes(data)
        typer.echo(str(out / fname))


def _check_export_folder(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise service.ServiceError(f"--out {out}: a file with that name exists; give a new folder name")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise service.ServiceError(f"--out {out}: the folder is not empty; give a new folder, or --force to write into it")


@app.command("hash-password")
@clean_errors
def hash_password_cmd() -> None:
    """Print an scrypt hash of the experimenter password for OVERSIGHT_ADMIN_PASSWORD_HASH.

    The password is read without echo (twice); only the hash is printed.

    Example: oversight hash-password   (then: export OVERSIGHT_ADMIN_PASSWORD_HASH='<the printed hash>')
    """
    from study.auth import hash_password

    password = typer.prompt("Experimenter password", hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < 8:
        raise service.ServiceError("use at least 8 characters")
    typer.echo(hash_password(password))


@app.command("demo")
@clean_errors
def demo(db: DbOption = None) -> None:
    """Create and launch the demo study (idempotent).

    Example: oversight demo
    """
    engine = engine_for(db)
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
    engine = engine_for(db)
    env = dict(os.environ, OVERSIGHT_DATABASE_URL=db_mod.resolve_url(db))
    cmd = [sys.executable, "-m", "streamlit", "run", str(db_mod.PROJECT_ROOT / "app.py"),
           "--server.port", str(port), "--server.headless", str(headless).lower()]
    typer.echo(f"starting: {' '.join(cmd)}")
    if not preparing.demo_ready(engine):
        # First start: serve at once (the page shows the progress) and prepare the demo meanwhile.
        typer.echo(f"first start: preparing the demo study (seconds to a minute); http://localhost:{port} shows the progress")
        raise typer.Exit(preparing.serve_while_preparing(engine, cmd, env, typer.echo))
    raise typer.Exit(preparing.serve(cmd, env))


@app.command("assist")
@clean_errors
def assist(
    study: Annotated[str, typer.Option("--study", help="Study name (must be a draft).")],
    db: DbOption = None,
) -> None:
    """Generate and freeze the AI assistance for every item and condition (resumable).

    Items already done are skipped, and the output is deterministic for the study's
    seed and model, so an interrupted run can simply be started again.

    Example: oversight assist --study demo
    """
    from study.assist import format_quality_summary, generate_for_study, quality_summary, verdict_summary

    engine = engine_for(db)
    with typer.progressbar(length=1, label="assistance") as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        added = generate_for_study(engine, study, progress=progress)
    typer.echo(f"stored {added} assistance rows for {study!r}")
    summary = verdict_summary(engine, study)
    if summary:
        typer.echo("AI verdict: " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()))
    quality = format_quality_summary(quality_summary(engine, study))
    if quality:
        typer.echo(quality)


def main() -> None:
    """Console-script entry point; ``--debug`` may stand anywhere on the command line.

    Usage errors (a missing argument, an unknown command) are one line too, instead of
    Click's usage block.
    """
    ONE_SHOT["on"] = True
    if "--debug" in sys.argv[1:]:
        _DEBUG["on"] = True
        sys.argv = [sys.argv[0], *(a for a in sys.argv[1:] if a != "--debug")]
    try:
        code = app(standalone_mode=False, prog_name="oversight")
    except TyperException as err:  # a usage error: missing argument, unknown command or option
        ctx = getattr(err, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        typer.echo(f"error: {err.format_message()}{where}", err=True)
        sys.exit(err.exit_code)
    except (typer.Abort, KeyboardInterrupt, EOFError):  # Ctrl-C, or end of input at a prompt
        typer.echo("error: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
