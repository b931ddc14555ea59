"""The ``charterbot`` command line: one Typer app, one sub-app per area.

Each area registers itself in its own module so adding commands touches one file.
"""

from __future__ import annotations

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
)

# Each area's module defines ``register(app: typer.Typer) -> None``; the order is --help's.
for _area in (charter_cmd, db_cmd, audit_cmd, serve_cmd, console_cmd, outbox_cmd, meetings_cmd):
    _area.register(app)


def main() -> None:
    app()
