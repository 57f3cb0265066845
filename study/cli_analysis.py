"""The ``oversight`` analysis commands: ``simulate``, ``analyze`` and ``power``.

They register on :data:`study.cli.app`; :mod:`study.cli` imports this module, so the
commands are there whenever the CLI is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from study.cli_common import ONE_SHOT, DbOption, app, clean_errors, engine_for
from study.lazy import lazy_module

if TYPE_CHECKING:
    from study import service
else:  # loaded on first use (no SQLAlchemy for analyze --from-csv)
    service = lazy_module("study.service")


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
    report = simulate_study(engine_for(db), study, raters, seed=seed, profile=prof)
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
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Bootstrap threads (default: $OVERSIGHT_THREADS, else the CPU count); results do not depend on it.")] = None,
    bootstrap: Annotated[str, typer.Option("--bootstrap", help="exact (product weights), additive (rater and item sums; large studies) or auto (additive from 200,000 judgments).")] = "auto",
    models: Annotated[bool, typer.Option("--models/--no-models", help="Fit the regression models.")] = True,
    reference: Annotated[str | None, typer.Option("--reference", help="Reference condition (default: the one whose assistance_kind is none).")] = None,
    exclude: Annotated[bool, typer.Option("--exclusions/--no-exclusions", help="Apply the exclusion rules (study config, or defaults for --from-csv).")] = True,
    max_attention_failures: Annotated[int | None, typer.Option("--max-attention-failures", min=0, help="Attention-check failures tolerated per rater.")] = None,
    min_time_ms: Annotated[int | None, typer.Option("--min-time-ms", min=0, help="Drop judgments faster than this.")] = None,
    max_time_ms: Annotated[int | None, typer.Option("--max-time-ms", min=0, help="Drop judgments slower than this.")] = None,
    exclude_status: Annotated[list[str] | None, typer.Option("--exclude-status", help="Drop raters with this rater_status (repeatable; replaces the defaults).")] = None,
    include_test: Annotated[bool, typer.Option("--include-test", help="Include test raters (left out by default).")] = False,
    db: DbOption = None,
) -> None:
    """Reliance metrics, contrasts, hybrid routing and regression models, as JSON or an HTML report.

    Exclusion rules (attention failures, too-fast judgments, rater statuses) come from the
    study config with --study, else the defaults, applied to the CSV's own columns; the
    flags change them and --no-exclusions turns them off. What was excluded goes to stderr.

    Example: oversight analyze --from-csv judgments.csv --min-time-ms 2000 --format html --out report.html
    """
    import gc

    import analysis

    if ONE_SHOT["on"]:  # what the imports built lives until the process ends: the cyclic collector
        gc.freeze()  # need not re-scan it while the analysis allocates (about 7% of a 1M-judgment run)
    _check_options(study, from_csv, fmt, bootstrap)
    df, rules, labels = _analysis_input(study, from_csv, db, include_test)
    overrides = {"max_attention_failures": max_attention_failures, "min_time_ms": min_time_ms,
                 "max_time_ms": max_time_ms, "exclude_statuses": exclude_status}
    rules = rules.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    note = None
    if exclude:  # raters excluded in the console review (study.review), off with the other rules
        from study.experimenter_exclusions import drop_excluded

        df, note = drop_excluded(df)
    try:
        result = analysis.analyze(df, exclusions=rules if exclude else None, n_boot=n_boot, seed=seed, fit=models,
                                  reference=reference, labels=labels, threads=threads,
                                  bootstrap=bootstrap)
    except ValueError as err:  # label mismatch, unknown reference, inconsistent item columns
        raise service.ServiceError(f"{from_csv or 'study ' + str(study)}: {err}") from None
    if note:
        result.notes.insert(0, note)
    typer.echo(_excluded_line(result.settings["excluded"], exclude), err=True)
    text = result.to_json() if fmt == "json" else result.to_html()
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


def _check_options(study: str | None, from_csv: Path | None, fmt: str, bootstrap: str) -> None:
    """The option combinations ``analyze`` refuses before reading anything."""
    from analysis.additive import MODES

    if (study is None) == (from_csv is None):
        raise service.ServiceError("give exactly one of --study or --from-csv")
    if fmt not in ("json", "html"):
        raise service.ServiceError(f"--format must be json or html, not {fmt!r}")
    if bootstrap not in MODES:
        raise service.ServiceError(f"--bootstrap must be one of {', '.join(MODES)}, not {bootstrap!r}")


def _analysis_input(study: str | None, from_csv: Path | None, db: str | None,
                    include_test: bool = False) -> tuple[Any, Any, list[str] | None]:
    """(judgments table, exclusion rules, study labels or None) for ``analyze``."""
    import pandas as pd

    import analysis

    if study is not None:
        from study.export import judgments_frame

        engine = engine_for(db)
        config = service.get_config(engine, study)
        # study.config.Exclusions subclasses analysis.ExclusionRules: passed as it is
        return judgments_frame(engine, study, config, include_test=include_test), config.exclusions, list(config.labels)
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

        config = service.get_config(engine_for(db), study)
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
