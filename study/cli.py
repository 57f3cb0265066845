"""The ``oversight`` command line: a thin skin over the Python API.

Every command takes ``--db URL`` (default: ``OVERSIGHT_DATABASE_URL`` or the SQLite
file under data/). Errors print one line (``error: ...``) and exit with status 2 for
bad input or a refused request, 1 for anything unexpected; the traceback is shown
only with ``oversight --debug ...`` (or ``OVERSIGHT_DEBUG=1``).
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
from sqlalchemy.exc import DBAPIError, OperationalError
from typer.exceptions import TyperException

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


_DEBUG = {"on": os.environ.get("OVERSIGHT_DEBUG") == "1"}


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an unexpected error.")] = False) -> None:
    """oversight-lab: run human-AI oversight experiments."""
    if debug:
        _DEBUG["on"] = True


def _one_line(err: BaseException) -> str:
    """An unexpected error as one line: no SQL, no bound parameters, no traceback."""
    if isinstance(err, DBAPIError):  # str() would append the SQL and its parameters
        orig = str(err.orig).strip().splitlines() if err.orig is not None else []
        reason = orig[0] if orig else type(err).__name__
        what = "the database is unavailable or busy" if isinstance(err, OperationalError) else "the database refused the change"
        return f"{what} ({reason}); nothing of this step was saved, retry later"
    text = " ".join(str(err).split()) or type(err).__name__
    return f"{type(err).__name__}: {text[:300]}"


def clean_errors(func: F) -> F:
    """Turn every error into one line on stderr: exit 2 for domain errors, 1 otherwise."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, ItemBankError, service.ServiceError, service.StudyFull, ValidationError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None
        except (TyperException, typer.Exit, typer.Abort):  # typer.Exit is a RuntimeError: let it through
            raise
        except OSError as err:  # a file that cannot be read or written
            if _DEBUG["on"]:
                raise
            typer.echo(f"error: {err.strerror or err}{': ' + str(err.filename) if err.filename else ''}", err=True)
            raise typer.Exit(2) from None
        except Exception as err:
            if _DEBUG["on"]:
                raise
            typer.echo(f"error: {_one_line(err)} (run with --debug for the traceback)", err=True)
            raise typer.Exit(1) from None

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
    out: Annotated[Path, typer.Option("--out", help="Output directory (new, or empty).")],
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder, replacing export files there.")] = False,
    db: DbOption = None,
) -> None:
    """Write judgments (CSV, Parquet), raters, events, codebook and manifest.

    The folder must be new or empty (``--force`` writes into a non-empty one); an
    existing file of that name is never replaced. Nothing is created for an unknown study.

    Example: oversight export demo --out exports/demo
    """
    from study.export import export_files

    _check_export_folder(out, force)
    files = export_files(_engine(db), name)  # an unknown study fails here, before any folder exists
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
    from study import strict_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise service.ServiceError(f"{path}: cannot read: {err}") from None
    try:
        return SimulationProfile.model_validate(strict_yaml.load(text) or {})
    except strict_yaml.DuplicateKeyError as err:
        raise service.ServiceError(f"{path}:{err.line}: duplicate key {err.key!r} (first on line {err.first_line})") from None
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
    resumed = f" (and resumed {report.resumed} enrolled before)" if report.resumed else ""
    typer.echo(f"simulated {report.raters} raters{resumed}, {report.judgments} judgments; "
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
    models: Annotated[bool, typer.Option("--models/--no-models", help="Fit the regression models.")] = True,
    reference: Annotated[str | None, typer.Option("--reference", help="Reference condition (default: the one whose assistance_kind is none).")] = None,
    exclude: Annotated[bool, typer.Option("--exclusions/--no-exclusions", help="Apply the exclusion rules (study config, or defaults for --from-csv).")] = True,
    max_attention_failures: Annotated[int | None, typer.Option("--max-attention-failures", min=0, help="Attention-check failures tolerated per rater.")] = None,
    min_time_ms: Annotated[int | None, typer.Option("--min-time-ms", min=0, help="Drop judgments faster than this.")] = None,
    max_time_ms: Annotated[int | None, typer.Option("--max-time-ms", min=0, help="Drop judgments slower than this.")] = None,
    exclude_status: Annotated[list[str] | None, typer.Option("--exclude-status", help="Drop raters with this rater_status (repeatable; replaces the defaults).")] = None,
    db: DbOption = None,
) -> None:
    """Reliance metrics, contrasts, hybrid routing and regression models, as JSON or an HTML report.

    Exclusion rules (attention failures, too-fast judgments, rater statuses) come from the
    study config with --study, else the defaults, applied to the CSV's own columns; the
    flags change them and --no-exclusions turns them off. What was excluded goes to stderr.

    Example: oversight analyze --from-csv judgments.csv --min-time-ms 2000 --format html --out report.html
    """
    import analysis

    if (study is None) == (from_csv is None):
        raise service.ServiceError("give exactly one of --study or --from-csv")
    if fmt not in ("json", "html"):
        raise service.ServiceError(f"--format must be json or html, not {fmt!r}")
    df, rules, labels = _analysis_input(study, from_csv, db)
    overrides = {"max_attention_failures": max_attention_failures, "min_time_ms": min_time_ms,
                 "max_time_ms": max_time_ms, "exclude_statuses": exclude_status}
    rules = rules.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        result = analysis.analyze(df, exclusions=rules if exclude else None, n_boot=n_boot, seed=seed, fit=models,
                                  reference=reference, labels=labels)
    except ValueError as err:  # label mismatch, unknown reference, inconsistent item columns
        raise service.ServiceError(f"{from_csv or 'study ' + str(study)}: {err}") from None
    typer.echo(_excluded_line(result.settings["excluded"], exclude), err=True)
    text = json.dumps(result.to_dict(), indent=2) if fmt == "json" else result.to_html()
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


def _analysis_input(study: str | None, from_csv: Path | None, db: str | None) -> tuple[Any, Any, list[str] | None]:
    """(judgments table, exclusion rules, study labels or None) for ``analyze``."""
    import pandas as pd

    import analysis

    if study is not None:
        from study.export import judgments_frame

        engine = _engine(db)
        config = service.get_config(engine, study)
        # study.config.Exclusions subclasses analysis.ExclusionRules: passed as it is
        return judgments_frame(engine, study, config), config.exclusions, list(config.labels)
    try:
        return pd.read_csv(from_csv), analysis.ExclusionRules(), None
    except (OSError, ValueError) as err:
        raise service.ServiceError(f"{from_csv}: cannot read CSV: {err}") from None


def _excluded_line(excluded: dict[str, int], applied: bool) -> str:
    if not applied:
        return f"exclusions off: {excluded['judgments_kept']} judgments analysed (practice and attention rows dropped)"
    parts = ", ".join(f"{key}={value}" for key, value in excluded.items() if key != "judgments_kept")
    return f"excluded: {parts}; judgments analysed: {excluded['judgments_kept']}"


@app.command("power")
@clean_errors
def power(
    b: Annotated[str, typer.Option("--b", help="Compared (assisted) condition.")],
    a: Annotated[str | None, typer.Option("--a", help="Reference condition (default with --study: the one with assistance none).")] = None,
    study: Annotated[str | None, typer.Option("--study", help="Take items per rater, ratings per item and conditions from this study.")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", help="Simulation profile YAML (default profile otherwise).")] = None,
    metric: Annotated[str, typer.Option("--metric", help="Contrast metric, e.g. over_reliance or accuracy.")] = "over_reliance",
    grid: Annotated[str, typer.Option("--grid", help="Raters per condition to try, comma-separated.")] = "10,20,40,80",
    items: Annotated[int | None, typer.Option("--items", min=1, help="Items per rater (default: the study's, else 40).")] = None,
    ratings_per_item: Annotated[int | None, typer.Option("--ratings-per-item", min=1, help="Target ratings per item in each condition (default: the study's, else 3).")] = None,
    rater_sd: Annotated[float, typer.Option("--rater-sd", min=0.0, help="SD of rater effects, logit scale.")] = 0.5,
    item_sd: Annotated[float, typer.Option("--item-sd", min=0.0, help="SD of item effects, logit scale.")] = 0.5,
    sims: Annotated[int, typer.Option("--sims", min=10, help="Simulated studies per grid point.")] = 200,
    n_boot: Annotated[int, typer.Option("--n-boot", min=20, help="Bootstrap replicates per simulated study.")] = 200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    db: DbOption = None,
) -> None:
    """Raters per condition needed for 80% power of the reported contrast test (b - a).

    Example: oversight power --study demo --b reasoning --metric over_reliance --rater-sd 0.5 --item-sd 0.5
    """
    import analysis
    from analysis.simulation import SimulationProfile

    prof = _load_profile(profile) if profile else SimulationProfile()
    per_rater, per_item = items or 40, ratings_per_item or 3
    if study is not None:
        from study.simulate import profile_for_study

        config = service.get_config(_engine(db), study)
        prof = profile_for_study(config, prof if profile else None)
        per_rater, per_item = items or config.items_per_rater, ratings_per_item or config.target_ratings_per_item
        a = a or next((c.key for c in config.conditions if c.assistance == "none"), None)
    if a is None:
        raise service.ServiceError("give --a (the reference condition), or --study with a condition of assistance none")
    try:
        sizes = [int(x) for x in grid.split(",") if x.strip()]
        table = analysis.power_analysis(prof, a, b, metric=metric, n_raters_grid=sizes, items_per_rater=per_rater,
                                        ratings_per_item=per_item, rater_sd=rater_sd, item_sd=item_sd, n_sims=sims,
                                        n_boot=n_boot, seed=seed)
    except ValueError as err:
        raise service.ServiceError(str(err)) from None
    typer.echo(f"design: {a} (reference) vs {b}, {per_rater} items per rater, {per_item} ratings per item per "
               f"condition, rater SD {rater_sd}, item SD {item_sd}; test: bootstrap contrast of {metric}")
    typer.echo(table.to_string(index=False))
    needed = analysis.raters_needed(table)
    typer.echo(f"raters per condition for 80% power: {needed if needed is not None else 'more than ' + str(max(sizes))}")


def main() -> None:
    """Console-script entry point; ``--debug`` may stand anywhere on the command line.

    Usage errors (a missing argument, an unknown command) are one line too, instead of
    Click's usage block.
    """
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


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
