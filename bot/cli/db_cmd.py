"""``charterbot db …``: bring the database schema up to date and show where it is.

The database is ``--database-url``, else ``CHARTERBOT_DATABASE_URL`` (from the environment or
``.env``, read as ``serve`` reads it), else ``sqlite:///./charterbot.db``. ``postgresql://`` URLs
use psycopg 3. Exit codes: 0 on success; 2 when a setting or the URL is unusable or the
database cannot be reached.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from storage import migrate
from storage.db import (
    DatabaseUrlError,
    default_url,
    make_engine,
    missing_sqlite_file,
    shown_url,
)

# PostgreSQL names what it refused: "permission denied for table audit_entry" (or schema …).
_REFUSED = re.compile(r"permission denied for (table|relation|sequence|schema) (\S+)")

db_app = typer.Typer(name="db", help="Database schema migrations.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help=f"Database URL (default: CHARTERBOT_DATABASE_URL, else {default_url()}).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


def database_url(option: str | None) -> tuple[str, str]:
    """The command's database URL and what set it (for error lines): the option, else the
    settings (environment and ``.env``; a bad setting exits 2 naming it)."""
    if option:
        return option, "--database-url"
    from bot.cli.startup import load_settings

    return load_settings().database_url, "CHARTERBOT_DATABASE_URL"


def missing_database(url: str | None) -> Path | None:
    """The SQLite file the command's database would be, when it does not exist; unusable URLs
    exit 2 with the reason."""
    return _missing(*database_url(url))


def refuse_missing(url: str, source: str, *, creates: str = "") -> None:
    """Exit 2 naming the SQLite file ``url`` names when it does not exist (and its directory,
    when that is missing too), with what creates one; unusable URLs exit 2 with the reason.
    ``creates`` adds a way of creating it to ``charterbot db upgrade``."""
    missing = _missing(url, source)
    if missing is None:
        return
    folder = "" if missing.parent.is_dir() else f" (the directory {missing.parent} does not exist)"
    ways = f"`charterbot db upgrade` creates one there{creates}"
    typer.echo(
        f"error: no database at {missing}{folder}; {ways}, or point --database-url (or "
        "CHARTERBOT_DATABASE_URL) at yours",
        err=True,
    )
    raise typer.Exit(2)


def _missing(url: str, source: str) -> Path | None:
    try:
        return missing_sqlite_file(url)
    except DatabaseUrlError as exc:
        typer.echo(f"error: {source}: {exc}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def open_engine(
    url: str | None, *, create: bool = False, migrates: bool = False
) -> Iterator[Engine]:
    """An engine for the command's database; unusable URLs exit 2 with the reason, and so does
    a SQLite file that does not exist, unless the command ``create``s it (connecting would
    leave an empty file behind, and the command would only complain about its schema). Any
    database error on the way (unreachable, not a database at all, a privilege missing) exits 2
    with the reason: it is no verdict on the data. A command that ``migrates`` is told to run
    as the schema's owner; any other is told which grant it lacks."""
    resolved, source = database_url(url)
    if create:
        _missing(resolved, source)  # an unusable URL exits here, named by its source
    else:
        refuse_missing(resolved, source)
    try:
        engine = make_engine(resolved)
    except DatabaseUrlError as exc:
        typer.echo(f"error: {source}: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        yield engine
    except migrate.UnknownRevision as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except DatabaseError as exc:
        if getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege
            typer.echo(_not_allowed(engine, exc, migrates=migrates), err=True)
        else:  # unreachable, locked, or a file that is no SQLite database
            reason = str(exc.orig).strip() or type(exc.orig).__name__
            typer.echo(f"error: cannot use the database {shown_url(resolved)}: {reason}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


def _not_allowed(engine: Engine, exc: DatabaseError, *, migrates: bool) -> str:
    """What a permission refusal means for this command: migrations run as the schema's owner;
    any other command lacks a grant of the app role's (deploy/postgres-roles.sql), named."""
    user = engine.url.username or "this database user"
    refusal = str(exc.orig).splitlines()[0]
    if migrates:
        return (
            f"error: {user} may not do this ({refusal}); schema changes"
            " (`charterbot db upgrade`) run as the schema's owner, see deploy/README.md"
        )
    return (
        f"error: {user} may not do this ({refusal}); grant it {_missing_grant(exc, refusal)}"
        " (deploy/postgres-roles.sql grants what charterbot needs), see deploy/README.md"
    )


def _missing_grant(exc: DatabaseError, refusal: str) -> str:
    """The privilege a refused statement lacked, from PostgreSQL's message and the statement."""
    refused = _REFUSED.search(refusal)
    if refused is None:
        return "the privileges deploy/postgres-roles.sql grants"
    kind, name = refused.groups()
    if kind == "schema":
        return f"USAGE on schema {name}"
    verb = str(exc.statement or "").lstrip().partition(" ")[0].upper()
    if verb not in ("INSERT", "UPDATE", "DELETE"):
        verb = "SELECT"  # reads, and anything else that only had to read the table
    return f"{verb} on table {name}"


@db_app.command("upgrade")
def upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply all pending migrations (safe to run repeatedly)."""
    with open_engine(database_url, create=True, migrates=True) as engine:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
    if before == after:
        typer.echo(f"already up to date at {after}")
    else:
        typer.echo(f"upgraded from {before or 'an empty database'} to {after}")


@db_app.command("current")
def current(database_url: DatabaseUrl = None) -> None:
    """Show the schema revision of the database and of this code."""
    head = migrate.head_revision()
    missing = missing_database(database_url)
    if missing is not None:
        typer.echo(f"no database at {missing} yet; `charterbot db upgrade` creates it at {head}")
        return
    with open_engine(database_url) as engine:
        revision = migrate.refuse_unknown(engine)
    if revision == head:
        typer.echo(f"{revision} (up to date)")
    elif revision is None:
        typer.echo(f"empty database; run `charterbot db upgrade` to reach {head}")
    else:
        typer.echo(f"{revision}; run `charterbot db upgrade` to reach {head}")
