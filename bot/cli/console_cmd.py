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
"""

from __future__ import annotations

import sys

import typer

from bot.cli.db_cmd import DatabaseUrl
from bot.cli.startup import DATABASE_SETTING, CharterFile


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
        charter: CharterFile = None,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Run /charter commands in a terminal (one per line; 'help' lists them)."""
        from zoneinfo import ZoneInfo

        from bot.cli.db_cmd import refuse_missing
        from bot.cli.startup import load_settings, start, with_options
        from bot.commands_core import unlinked_remedy
        from bot.messages import Actor, plain_text
        from charter.meetings import MeetingError, zone_of

        try:
            zone: ZoneInfo = zone_of(timezone)
        except MeetingError as exc:
            typer.echo(f"error: --tz: {exc}", err=True)
            raise typer.Exit(2) from None
        settings = with_options(load_settings(), charter=charter, database_url=database_url)
        source = "--database-url" if database_url else DATABASE_SETTING
        if not demo:
            refuse_missing(
                settings.database_url,
                source,
                creates=", `charterbot console --demo` one holding a demo campaign",
            )
        rt = start(settings, database_from=source)
        if demo:
            from bot.demo import DemoFailed, seed_if_empty

            try:
                seeded = seed_if_empty(rt)
            except DemoFailed as error:  # half-seeded: say so and what to do, not a traceback
                typer.echo(f"error: {error}", err=True)
                raise typer.Exit(2) from error
            if seeded:
                typer.echo("note: seeded the demo campaign", err=True)
        actor = Actor(
            login=as_login, surface="console", surface_id=as_login or "", display=as_login or ""
        )
        interactive = sys.stdin.isatty()
        if interactive:
            who = as_login or "anonymous (read only)"
            typer.echo(f"charterbot console — {rt.loaded.charter.charter.name}, acting as {who}.")
            typer.echo("Type a command (e.g. `proposals`, `help`); Ctrl-D to quit.")
        try:
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
                message = rt.gov.run_sync(text, actor)
                rt.gov.tick()  # a command may have settled an outcome: fire it now
                # In UTC the ISO time already says it all; another zone is shown beside it.
                shown = None if timezone.upper() in ("UTC", "Z", "ETC/UTC") else zone
                reply = plain_text(message, zone=shown)
                if as_login is None and not message.ok and "/charter link" in reply:
                    # Linking is for chat users; here the login is chosen at start.
                    reply += "\n" + unlinked_remedy("console")
                typer.echo(reply)
                if not interactive:
                    typer.echo("")
        finally:
            rt.engine.dispose()
