"""Starting the bot from the command line: settings and runtime, or a clear error and exit.

Rules (``serve`` and ``console`` share them):
- A setting the environment gets wrong is named with what it should be; a secret's value is
  never echoed. Exit 2.
- A charter that does not load prints every problem as ``FILE:LINE:COLUMN: …``. Exit 1.
- A database URL that is unsupported or a database that cannot be opened is named (password
  hidden) with the driver's reason, and for a SQLite file in a missing directory, that
  directory. Exit 2.
"""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.bootstrap import Runtime, build
from bot.charter_file import CharterUnreadable
from bot.settings import Settings
from charter.load import CharterInvalid
from storage.db import DatabaseUrlError, normalise_url

_SECRET_WORDS = ("SECRET", "TOKEN", "KEY", "PASSWORD", "SMTP_URL")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            shown = "" if any(w in name.upper() for w in _SECRET_WORDS) else error.get("input")
            got = f" (got {shown!r})" if shown not in ("", None) else ""
            typer.echo(f"error: {name}: {error['msg']}{got}", err=True)
        raise typer.Exit(2) from None


def start(settings: Settings) -> Runtime:
    """The runtime for ``settings``, or the reason it cannot start and the exit."""
    try:
        return build(settings)
    except CharterInvalid as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    except CharterUnreadable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except DatabaseUrlError as exc:
        typer.echo(f"error: CHARTERBOT_DATABASE_URL: {exc}", err=True)
        raise typer.Exit(2) from None
    except OperationalError as exc:
        typer.echo(f"error: {_database_problem(settings.database_url, exc)}", err=True)
        raise typer.Exit(2) from None


def _database_problem(url: str, exc: OperationalError) -> str:
    parsed = make_url(normalise_url(url))
    shown = parsed.render_as_string(hide_password=True)
    reason = str(exc.orig).strip()
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            reason = f"the directory {folder} does not exist ({reason})"
    return f"cannot use the database {shown}: {reason}"
