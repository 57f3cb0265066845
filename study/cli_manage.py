"""``oversight`` commands that manage studies and review raters (registered by :mod:`study.cli`).

``study clone|edit|delete``, ``items remove`` and ``review``: each calls one function
of :mod:`study.studies` or :mod:`study.review`, as the console's buttons do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from study.cli_common import DbOption, app, clean_errors, engine_for, items_app, study_app
from study.lazy import lazy_module

if TYPE_CHECKING:
    from study import config as config_mod
    from study import review as review_mod
    from study import studies
else:  # loaded on first use
    config_mod, review_mod, studies = (lazy_module(f"study.{m}") for m in ("config", "review", "studies"))


@study_app.command("clone")
@clean_errors
def study_clone(
    source: Annotated[str, typer.Argument(help="Study to copy (any status).")],
    new_name: Annotated[str, typer.Argument(help="Name of the new draft study.")],
    assistance: Annotated[bool, typer.Option("--with-assistance/--without-assistance",
                                             help="Also copy the frozen assistance rows.")] = False,
    db: DbOption = None,
) -> None:
    """Copy a study's config and items (and optionally its assistance) into a new draft.

    Example: oversight study clone demo demo-2 --with-assistance
    """
    report = studies.clone_study(engine_for(db), source, new_name, assistance=assistance)
    typer.echo(f"created draft study {new_name!r} from {source!r}: {report.items} items, "
               f"{report.sources} sources, {report.assistance} assistance rows copied")


@study_app.command("edit")
@clean_errors
def study_edit(
    name: Annotated[str, typer.Argument(help="Draft study to change.")],
    config: Annotated[Path, typer.Argument(help="The new YAML config (same name).")],
    db: DbOption = None,
) -> None:
    """Replace a draft study's config.

    Example: oversight study edit my-study my-study.yaml
    """
    studies.update_config(engine_for(db), name, config_mod.load_config(config))
    typer.echo(f"updated the config of draft study {name!r}")


@study_app.command("delete")
@clean_errors
def study_delete(
    name: Annotated[str, typer.Argument(help="Draft study to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the study and its items are deleted for good.")] = False,
    db: DbOption = None,
) -> None:
    """Delete a draft study with its items and assistance (needs --yes).

    Example: oversight study delete my-study --yes
    """
    if not yes:
        typer.echo(f"error: deleting {name!r} cannot be undone; add --yes to confirm", err=True)
        raise typer.Exit(2)
    studies.delete_study(engine_for(db), name)
    typer.echo(f"deleted draft study {name!r}")


@items_app.command("remove")
@clean_errors
def items_remove(
    item_ids: Annotated[list[str], typer.Argument(help="Item ids to remove.")],
    study: Annotated[str, typer.Option("--study", help="Draft study name.")],
    db: DbOption = None,
) -> None:
    """Remove items (with their sources and assistance) from a draft study, all or nothing.

    Example: oversight items remove item-001 item-002 --study my-study
    """
    n = studies.remove_items(engine_for(db), study, item_ids)
    typer.echo(f"removed {n} items from {study!r}")


@app.command("review")
@clean_errors
def review(
    rater_ids: Annotated[list[str], typer.Argument(help="Rater ids (external ids, e.g. Prolific PIDs).")],
    study: Annotated[str, typer.Option("--study", help="Study name.")],
    decision: Annotated[str, typer.Option("--decision", help="approve, reject, exclude or include.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required to reject or exclude).")] = "",
    db: DbOption = None,
) -> None:
    """Approve, reject, exclude from analysis (or include again) raters; recorded as events.

    Example: oversight review 5f1a... --study demo --decision exclude --reason "answered at random"
    """
    n = review_mod.review(engine_for(db), study, rater_ids, decision, reason, by="cli")
    typer.echo(f"recorded {decision} for {n} rater(s) in {study!r}")
