"""The ``charterbot`` command line: one Typer app, one sub-app per area.

Each area registers itself in its own module so adding commands touches one file.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="charterbot",
    help="Governance and change-control bot that enforces an upgrade charter.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Modules that define ``register(app: typer.Typer) -> None``. Listed explicitly (not discovered)
# so a typo fails loudly at start-up instead of silently dropping commands.
_AREAS = (
    "bot.cli.charter_cmd",
    "bot.cli.db_cmd",
    "bot.cli.audit_cmd",
    "bot.cli.serve_cmd",
    "bot.cli.console_cmd",
    "bot.cli.outbox_cmd",
    "bot.cli.meetings_cmd",
)


def _register_all() -> None:
    for name in _AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # area not built yet; anything else is a real error
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    app()
