"""The ``oversight links`` and ``oversight test-raters`` commands (rater links, signed or not).

Registered on :data:`study.cli.app`; a thin skin over :mod:`study.links`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from study.cli_common import DbOption, app, clean_errors, engine_for
from study.lazy import lazy_module

if TYPE_CHECKING:
    from study import links, service
else:  # loaded on first use
    links, service = lazy_module("study.links"), lazy_module("study.service")

__all__ = ["links_cmd", "test_raters_cmd"]

BaseUrlOption = Annotated[str, typer.Option("--base-url", help="Where raters open the app, e.g. https://host.example.")]
OutOption = Annotated[Path, typer.Option("--out", help="CSV file to write (must not exist yet).")]


def _write(rows: list[links.RaterLink], out: Path) -> None:
    if out.exists():
        raise service.ServiceError(f"--out {out}: the file exists; give a new file name")
    out.write_bytes(links.links_csv(rows))
    typer.echo(f"wrote {len(rows)} links to {out}")


@app.command("links")
@clean_errors
def links_cmd(
    study: Annotated[str, typer.Argument(help="Study name.")],
    out: OutOption,
    base_url: BaseUrlOption,
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="How many links.")] = 50,
    db: DbOption = None,
) -> None:
    """Write N rater links with new random ids to a CSV (signed when the study's links are).

    Example: OVERSIGHT_LINK_SECRET=... oversight links demo --n 50 --base-url https://host --out links.csv
    """
    _write(links.make_links(engine_for(db), study, n, base_url), out)


@app.command("test-raters")
@clean_errors
def test_raters_cmd(
    study: Annotated[str, typer.Argument(help="Study name.")],
    out: OutOption,
    base_url: BaseUrlOption,
    n: Annotated[int, typer.Option("--n", min=1, max=1000, help="How many test raters.")] = 1,
    db: DbOption = None,
) -> None:
    """Create N test raters (left out of balancing, monitor, export and analysis) and write their links.

    Example: oversight test-raters demo --n 2 --base-url http://localhost:8501 --out test-links.csv
    """
    _write(links.make_test_raters(engine_for(db), study, n, base_url), out)
