"""``charterbot console --as <login>``: the chat commands in a terminal, against the same store.

For trying charterbot without any account and for demos. When standard input is not a
terminal it reads one command per line and prints one reply per command, so it can be scripted.
Acting as a login is a local operator's privilege (whoever can run this can read the database);
every action is audited with surface ``console``.

The console works on an existing database (``--database-url``, else ``CHARTERBOT_DATABASE_URL``,
else ``./charterbot.db``): a SQLite file that does not exist is refused (exit 2) rather than
created empty in whatever directory the console was started in. ``--demo`` asks for one: it
creates the database when needed and seeds the demo campaign into an empty one, as
``serve --demo`` does.

The console follows the charter the database follows: given another one (another file, or no
``CHARTERBOT_CHARTER`` and so the bundled example) it refuses to start, naming both, unless
``--adopt`` asks it to adopt the one given, as ``serve`` would (:mod:`bot.charter_adoption`).
A fresh database adopts the console's charter. ``--as`` a login the charter does not name (no
client maintainer, no role member) is warned about on stderr, with the closest charter login:
the console would act as a contributor, who holds no seat.

Links in replies (the calendar, the Atom feed) are at ``CHARTERBOT_PUBLIC_URL``; unset, the
console cannot know where a server was started (``serve --port``), so it builds them from its own
``CHARTERBOT_HTTP_HOST``/``CHARTERBOT_HTTP_PORT``, where a server started with the same settings
listens, and the replies say so.
"""

from __future__ import annotations

import difflib
import sys
from typing import TYPE_CHECKING

import typer

from bot.cli.db_cmd import DatabaseUrl
from bot.cli.startup import DATABASE_SETTING, CharterFile

if TYPE_CHECKING:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from bot.messages import Actor
    from bot.runtime import Runtime
    from charter.model import Charter


def register(app: typer.Typer) -> None:
    @app.command()
    def console(
        as_login: str = typer.Option(
            None, "--as", help="GitHub login to act as (omit to read only)."
        ),
        timezone: str = typer.Option("UTC", "--tz", help="Show times in this zone."),
        demo: bool = typer.Option(
            False,
            "--demo",
            help="Create the database if needed and seed a demo campaign into an empty one.",
        ),
        adopt: bool = typer.Option(
            False,
            "--adopt",
            help="Adopt the charter given when the database follows another one, as `serve`"
            " does at start (without it the console refuses to start).",
        ),
        charter: CharterFile = None,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Run /charter commands in a terminal (one per line; 'help' lists them)."""
        from bot.messages import Actor

        shown = _shown_zone(timezone)
        rt = _started(charter, database_url, demo=demo, adopt=adopt)
        # Without CHARTERBOT_PUBLIC_URL the console only guesses where the server runs (from
        # its own HTTP settings; `serve --port` may differ): its links say so.
        rt.gov.links_guessed = rt.settings.public_url_derived
        if as_login is not None and (warning := unknown_login(as_login, rt.loaded.charter)):
            typer.echo(f"warning: {warning}", err=True)
        if demo:
            _seed_demo(rt)
        actor = Actor(
            login=as_login, surface="console", surface_id=as_login or "", display=as_login or ""
        )
        interactive = sys.stdin.isatty()
        if interactive:
            _greet(rt, as_login)
        try:
            _answer_stdin(rt, actor, shown, interactive)
        finally:
            rt.engine.dispose()


def _shown_zone(timezone: str) -> ZoneInfo | None:
    """The ``--tz`` zone replies show times in beside UTC (None for UTC itself); exits 2 naming
    the option when it is no zone."""
    from charter.meetings import MeetingError, zone_of

    try:
        zone = zone_of(timezone)
    except MeetingError as exc:
        typer.echo(f"error: --tz: {exc}", err=True)
        raise typer.Exit(2) from None
    # In UTC the ISO time already says it all; another zone is shown beside it.
    return None if timezone.upper() in ("UTC", "Z", "ETC/UTC") else zone


def _greet(rt: Runtime, as_login: str | None) -> None:
    """What a terminal user sees first: the charter, who they act as, how to go on."""
    who = as_login or "anonymous (read only)"
    typer.echo(f"charterbot console — {rt.loaded.charter.charter.name}, acting as {who}.")
    typer.echo("Type a command (e.g. `/charter proposals`, `/charter help`); Ctrl-D to quit.")


def _started(charter: Path | None, database_url: str | None, *, demo: bool, adopt: bool) -> Runtime:
    """The runtime on the database asked for. A missing one is refused (exit 2) unless
    ``demo``, which refuses a charter the demo does not fit instead."""
    from bot.cli.db_cmd import refuse_missing
    from bot.cli.startup import load_settings, refuse_unfit_demo, start, with_options

    settings = with_options(load_settings(), charter=charter, database_url=database_url)
    source = "--database-url" if database_url else DATABASE_SETTING
    if demo:
        refuse_unfit_demo(settings)
    else:
        refuse_missing(
            settings.database_url,
            source,
            creates=", `charterbot console --demo` one holding a demo campaign",
        )
    return start(settings, database_from=source, adopt_other=adopt)


def _seed_demo(rt: Runtime) -> None:
    """Seed the demo campaign into an empty database (a note on stderr when it did); exits 2
    on a half-seeded one."""
    from bot.demo import DemoFailed, seed_if_empty

    try:
        seeded = seed_if_empty(rt)
    except DemoFailed as error:  # half-seeded: say so and what to do, not a traceback
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if seeded:
        typer.echo("note: seeded the demo campaign", err=True)


def _answer_stdin(rt: Runtime, actor: Actor, shown: ZoneInfo | None, interactive: bool) -> None:
    """Answer each command line of stdin until it ends: after a prompt on a terminal, else
    each reply followed by a blank line. Blank lines and ``#`` comments are skipped."""
    while True:
        if interactive:
            typer.echo("charter> ", nl=False)
        line = sys.stdin.readline()
        if not line:
            break
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("/charter"):
            text = text[len("/charter") :].strip()
        typer.echo(_reply(rt, text, actor, shown))
        if not interactive:
            typer.echo("")


def _reply(rt: Runtime, text: str, actor: Actor, shown: ZoneInfo | None) -> str:
    """Run one command as ``actor`` and say what it answered, times also in ``shown``."""
    from bot.commands_core import unlinked_remedy
    from bot.messages import plain_text

    message = rt.gov.run_sync(text, actor)
    rt.gov.tick()  # a command may have settled an outcome: fire it now
    reply = plain_text(message, zone=shown)
    if actor.login is None and not message.ok and "/charter link" in reply:
        # Linking is for chat users; here the login is chosen at start.
        reply += "\n" + unlinked_remedy("console")
    return reply


def unknown_login(login: str, charter: Charter) -> str | None:
    """Why ``login`` is worth a warning: the charter names it nowhere (no client maintainer, no
    role member; case-insensitively), so the console acts as a contributor. Names the closest
    charter login, for a typo. None when the charter names it."""
    known = {m.lower(): m for c in charter.clients for m in c.maintainers}
    known |= {m.lower(): m for members in charter.roles.values() for m in members}
    if login.lower() in known:
        return None
    close = difflib.get_close_matches(login.lower(), sorted(known), n=1, cutoff=0.75)
    hint = f"; did you mean {known[close[0]]}?" if close else ""
    return (
        f"{login} is not a login in the charter (no client maintainer or role member): the"
        f" console acts as a contributor, who holds no seat and may not vote{hint}"
    )
