"""``charterbot console --as <login>``: the chat commands in a terminal, against the same store.

For trying charterbot without any account and for demos. When standard input is not a
terminal it reads one command per line and prints one reply per command, so it can be scripted.
Acting as a login is a local operator's privilege (whoever can run this can read the database);
every action is audited with surface ``console``.
"""

from __future__ import annotations

import sys

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def console(
        as_login: str = typer.Option(
            None, "--as", help="GitHub login to act as (omit to read only)."
        ),
        timezone: str = typer.Option("UTC", "--tz", help="Show times in this zone."),
    ) -> None:
        """Run /charter commands in a terminal (one per line; `help` lists them)."""
        from zoneinfo import ZoneInfo

        from bot.cli.startup import load_settings, start
        from bot.messages import Actor, plain_text
        from charter.meetings import MeetingError, zone_of

        try:
            zone: ZoneInfo = zone_of(timezone)
        except MeetingError as exc:
            typer.echo(f"error: --tz: {exc}", err=True)
            raise typer.Exit(2) from None
        rt = start(load_settings())
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
                typer.echo(plain_text(message, zone=shown))
                if not interactive:
                    typer.echo("")
        finally:
            rt.engine.dispose()
