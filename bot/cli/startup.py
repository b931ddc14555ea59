"""Starting the bot from the command line: settings and runtime, or a clear error and exit.

Rules (``serve``, ``console`` and every command that reads settings share them):
- Settings come from one :class:`Settings` (the environment, then ``.env`` in the working
  directory), never from ``os.environ`` directly; ``--charter`` and ``--database-url`` on the
  command line take the place of theirs, and errors then name the option.
- A setting the environment gets wrong is named with what it should be, as
  ``error: NAME: sentence``; a secret's value is never echoed. Exit 2.
- A charter that does not load prints every problem as ``FILE:LINE:COLUMN: …``. Exit 1. One
  whose version is lower than the version adopted last is named with both versions. Exit 2.
- A console given another charter than the one the database follows is refused naming both
  (:mod:`bot.charter_adoption`), unless it was asked to adopt it. Exit 2.
- ``--demo`` with a charter the demo script does not fit names all it lacks before the database
  is opened (:func:`refuse_unfit_demo`). Exit 2.
- A database URL that is unsupported or a database that cannot be opened is named (password
  hidden) with the driver's reason, and for a SQLite file in a missing directory, that
  directory. Exit 2. So is a schema that needs a migration the database user may not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from bot.settings import SettingError, Settings
from storage.db import DatabaseUrlError, normalise_url, parse_url, shown_url

if TYPE_CHECKING:
    from bot.runtime import Runtime

_SECRET_WORDS = ("SECRET", "TOKEN", "KEY", "PASSWORD", "SMTP_URL", "DATABASE_URL")
DATABASE_SETTING = "CHARTERBOT_DATABASE_URL"

CharterFile = Annotated[
    Path | None,
    typer.Option(
        "--charter",
        help="The charter file (default: CHARTERBOT_CHARTER, else the bundled example).",
        show_default=False,
    ),
]


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, SettingError):
                name, message = cause.name, cause.message
            else:
                name = ".".join(str(part) for part in error["loc"])
                message = error["msg"]
            # The input of a check across settings (empty loc) is all of them: never shown.
            secret = any(w in name.upper() for w in _SECRET_WORDS) or not error["loc"]
            shown = "" if secret else error.get("input")
            got = f" (got {shown!r})" if shown not in ("", None) else ""
            typer.echo(f"error: {name}: {message}{got}", err=True)
        raise typer.Exit(2) from None


def with_options(
    settings: Settings, *, charter: Path | None = None, database_url: str | None = None
) -> Settings:
    """``settings`` with the charter and database the command line gave in place of theirs."""
    update: dict[str, object] = {}
    if charter is not None:
        update["charter"] = charter
    if database_url:
        update["database_url"] = database_url
    return settings.model_copy(update=update)


def start(
    settings: Settings, *, database_from: str = DATABASE_SETTING, adopt_other: bool = True
) -> Runtime:
    """The runtime for ``settings``, or the reason it cannot start and the exit.
    ``database_from`` is what set the database URL, for its error lines; ``adopt_other`` False
    refuses a charter other than the database's instead of adopting it."""
    from bot.bootstrap import SchemaNotMigrated, build
    from bot.charter_adoption import (
        CharterMovesRollouts,
        CharterNotAdopted,
        CharterVersionLowered,
    )
    from bot.charter_file import CharterUnreadable
    from charter.load import CharterInvalid
    from storage.migrate import UnknownRevision

    try:
        return build(settings, adopt_other=adopt_other)
    except CharterInvalid as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    except CharterUnreadable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except DatabaseUrlError as exc:
        typer.echo(f"error: {database_from}: {exc}", err=True)
        raise typer.Exit(2) from None
    except SettingError as exc:
        typer.echo(f"error: {exc.name}: {exc.message}", err=True)
        raise typer.Exit(2) from None
    except (
        SchemaNotMigrated,
        UnknownRevision,
        CharterVersionLowered,
        CharterMovesRollouts,
        CharterNotAdopted,
    ) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OperationalError as exc:
        typer.echo(f"error: {_database_problem(settings.database_url, exc)}", err=True)
        raise typer.Exit(2) from None


def refuse_unfit_demo(settings: Settings) -> None:
    """``--demo``: a charter the demo script does not fit is refused (exit 2) before the
    database is opened, naming what it lacks. One that does not load is left to :func:`start`
    to report."""
    from bot.bootstrap import load_settings_charter
    from bot.charter_file import CharterUnreadable
    from bot.demo import unfit_for_demo
    from charter.load import CharterInvalid

    try:
        loaded = load_settings_charter(settings)
    except (CharterInvalid, CharterUnreadable):
        return
    why = unfit_for_demo(loaded)
    if why is not None:
        typer.echo(f"error: {why}", err=True)
        raise typer.Exit(2)


def _database_problem(url: str, exc: OperationalError) -> str:
    parsed = parse_url(normalise_url(url))
    reason = str(exc.orig).strip()
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            reason = f"the directory {folder} does not exist ({reason})"
    return f"cannot use the database {shown_url(parsed)}: {reason}"
