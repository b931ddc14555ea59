"""The ``charterbot`` command line: one Typer app, one sub-app per area.

Each area registers itself in its own module so adding commands touches one file.
"""

from __future__ import annotations

from importlib import metadata

import typer

from bot.cli import (
    audit_cmd,
    charter_cmd,
    console_cmd,
    db_cmd,
    meetings_cmd,
    outbox_cmd,
    serve_cmd,
)

app = typer.Typer(
    name="charterbot",
    help="Governance and change-control bot that enforces an upgrade charter.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, as click writes it: flags without a value placeholder (Typer's rich panels
    # show `--demo <bool>`, which reads as if `--demo true` were the way to write it).
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},  # click's 80 would cut the command summaries
)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"charterbot {distribution_version()}")
        raise typer.Exit()


def distribution_version() -> str:
    """The installed distribution's version (pyproject.toml's), or ``unknown`` when the code
    runs without being installed."""
    try:
        return metadata.version("charterbot")
    except metadata.PackageNotFoundError:
        return "unknown"


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Governance and change-control bot that enforces an upgrade charter."""


# Each area's module defines ``register(app: typer.Typer) -> None``; the order is --help's.
for _area in (charter_cmd, db_cmd, audit_cmd, serve_cmd, console_cmd, outbox_cmd, meetings_cmd):
    _area.register(app)


def main() -> None:
    app()
