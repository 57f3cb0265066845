"""What every ``oversight`` command shares: the Typer apps, ``--db``, one-line errors."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from typer.exceptions import TyperException

from study.lazy import lazy_module

if TYPE_CHECKING:  # loaded on first use: commands that need no database do not import SQLAlchemy
    from study import config, db, service
    from tasks import importers
else:
    config, db, service = (lazy_module(f"study.{name}") for name in ("config", "db", "service"))
    importers = lazy_module("tasks.importers")  # its error type is looked up only when an error is caught

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
#: Set by the console entry point (``study.cli.main``): the process ends after this one command.
ONE_SHOT = {"on": False}


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an unexpected error.")] = False) -> None:
    """oversight-lab: run human-AI oversight experiments."""
    if debug:
        _DEBUG["on"] = True


def _one_line(err: BaseException) -> str:
    """An unexpected error as one line: no SQL, no bound parameters, no traceback."""
    from sqlalchemy.exc import DBAPIError, OperationalError

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
        except (config.ConfigError, importers.ItemBankError, service.ServiceError, service.StudyFull, ValidationError) as err:
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


def engine_for(db_url: str | None) -> Any:
    """The engine of ``--db`` (default database when None), upgraded to the current schema."""
    url = db.upgrade(db_url)
    return db.get_engine(url)



def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
