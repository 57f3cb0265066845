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
from pydantic import ValidationError

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
        except (ConfigError, ItemBankError, service.ServiceError, service.StudyFull, ValidationError) as err:
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
    if not any(st.name == "demo" for st in service.list_studies(engine)):
        typer.echo("first start: creating the demo study and its AI assistance (about half a minute) ...")
    demo_mod.ensure_demo(engine)
    env = dict(os.environ, OVERSIGHT_DATABASE_URL=resolve_url(db))
    cmd = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"),
           "--server.port", str(port), "--server.headless", str(headless).lower()]
    typer.echo(f"starting: {' '.join(cmd)}")
    raise typer.Exit(subprocess.call(cmd, env=env))


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

    engine = _engine(db)
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


def _load_profile(path: Path) -> Any:
    """A simulation profile YAML, with errors naming the file, line or field."""
    import yaml

    from analysis.simulation import SimulationProfile

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise service.ServiceError(f"{path}: cannot read: {err}") from None
    try:
        return SimulationProfile.from_yaml(text + "\n")  # the newline marks it as YAML text, not a path
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise service.ServiceError(f"{where}: not valid YAML: {getattr(err, 'problem', err)}") from None
    except ValidationError as err:
        problems = "; ".join(f"field '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in err.errors())
        raise service.ServiceError(f"{path}: {problems}") from None


@app.command("simulate")
@clean_errors
def simulate(
    study: Annotated[str, typer.Option("--study", help="Study name (must be live).")],
    raters: Annotated[int, typer.Option("--raters", min=1, help="Simulated raters to run.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated behaviour.")] = 0,
    profile: Annotated[Path | None, typer.Option("--profile", help="Simulation profile YAML (docs/metrics.md).")] = None,
    db: DbOption = None,
) -> None:
    """Run simulated raters through the same service layer as people.

    Example: oversight simulate --study demo --raters 40 --seed 1 --profile profile.yaml
    """
    from study.simulate import simulate_study

    prof = _load_profile(profile) if profile else None
    report = simulate_study(_engine(db), study, raters, seed=seed, profile=prof)
    typer.echo(f"simulated {report.raters} raters, {report.judgments} judgments; "
               f"conditions {dict(sorted(report.by_condition.items()))}; statuses {dict(sorted(report.by_status.items()))}")


@app.command("analyze")
@clean_errors
def analyze(
    study: Annotated[str | None, typer.Option("--study", help="Study in the database.")] = None,
    from_csv: Annotated[Path | None, typer.Option("--from-csv", help="A tidy judgments CSV from anywhere.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or html.")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Output file (stdout when omitted).")] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=0, help="Bootstrap replicates.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap/cross-fitting seed.")] = 0,
    models: Annotated[bool, typer.Option("--models/--no-models", help="Fit the regression models (slow on big studies).")] = True,
    db: DbOption = None,
) -> None:
    """Reliance metrics, hybrid routing and regression models, as JSON or an HTML report.

    Example: oversight analyze --study demo --format html --out report.html
    """
    import pandas as pd

    import analysis

    if (study is None) == (from_csv is None):
        raise service.ServiceError("give exactly one of --study or --from-csv")
    if fmt not in ("json", "html"):
        raise service.ServiceError(f"--format must be json or html, not {fmt!r}")
    exclusions = None
    if study is not None:
        from study.export import judgments_frame

        engine = _engine(db)
        config = service.get_config(engine, study)
        df = judgments_frame(engine, study, config)
        exclusions = config.exclusions  # an analysis.ExclusionRules (study.config.Exclusions subclasses it)
    else:
        try:
            df = pd.read_csv(from_csv)
        except (OSError, ValueError) as err:
            raise service.ServiceError(f"{from_csv}: cannot read CSV: {err}") from None
    result = analysis.analyze(df, exclusions=exclusions, n_boot=n_boot, seed=seed, fit=models)
    text = json.dumps(result.to_dict(), indent=2) if fmt == "json" else result.to_html()
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


@app.command("power")
@clean_errors
def power(
    a: Annotated[str, typer.Option("--a", help="Baseline condition.")],
    b: Annotated[str, typer.Option("--b", help="Compared condition.")],
    profile: Annotated[Path | None, typer.Option("--profile", help="Simulation profile YAML (default profile otherwise).")] = None,
    metric: Annotated[str, typer.Option("--metric", help="over_reliance or accuracy.")] = "over_reliance",
    grid: Annotated[str, typer.Option("--grid", help="Raters per condition to try, comma-separated.")] = "10,20,40,80",
    items: Annotated[int, typer.Option("--items", min=2, help="Items per rater.")] = 40,
    sims: Annotated[int, typer.Option("--sims", min=10, help="Simulated studies per grid point.")] = 200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """How many raters per condition detect the difference between two conditions at 80% power.

    Example: oversight power --a evidence --b reasoning --metric over_reliance --profile profile.yaml
    """
    import analysis
    from analysis.simulation import SimulationProfile

    prof = _load_profile(profile) if profile else SimulationProfile()
    try:
        sizes = [int(x) for x in grid.split(",") if x.strip()]
        table = analysis.power_analysis(prof, a, b, metric=metric, n_raters_grid=sizes,  # type: ignore[arg-type]
                                        n_items=items, n_sims=sims, seed=seed)
    except ValueError as err:
        raise service.ServiceError(str(err)) from None
    typer.echo(table.to_string(index=False))
    needed = analysis.raters_needed(table)
    typer.echo(f"raters per condition for 80% power: {needed if needed is not None else 'more than ' + str(max(sizes))}")


def main() -> None:
    """Console-script entry point."""
    app()


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
