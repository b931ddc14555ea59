"""The command line as people meet it: help that reads as written, ``--version``, and the
sentences startup, ``outbox retry`` and the console print (the pure rules behind them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from bot.bootstrap import unsigned_webhooks
from bot.cli import app, distribution_version
from bot.cli.outbox_cmd import not_requeued
from bot.cli.serve_cmd import listen_problem
from bot.commands_core import unlinked_remedy
from bot.settings import Settings


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's path under ``group`` (``("audit", "export")``), groups included.
    (Typer's own click: groups are told by their ``commands``, not by click's classes.)"""
    found = [path]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


ROOT: Any = typer.main.get_command(app)
COMMANDS = _commands(ROOT)


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def _flags(path: tuple[str, ...]) -> list[str]:
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    return [
        option
        for param in command.params
        if param.param_type_name == "option" and getattr(param, "is_flag", False)
        for option in param.opts
    ]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "charterbot")
def test_help_shows_flags_as_flags_and_plain_text(path: tuple[str, ...]) -> None:
    """A flag takes no value, so its help shows none (``--demo``, never ``--demo <bool>``,
    which reads as if ``--demo true`` were how to write it); docstrings shown as help carry
    no reStructuredText markup."""
    text = _help(path)
    assert "``" not in text
    assert "<bool>" not in text
    for flag in [*_flags(path), "--help"]:
        assert re.search(rf"^\s+{re.escape(flag)}(\s{{2,}}|$)", text, re.MULTILINE), (flag, text)


def test_the_commands_say_what_they_do_in_full() -> None:
    """The command list is not cut short at click's 80 columns on a wider terminal (a process
    of its own: the test runner pins the width at 80)."""
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "audit", "--help"],
        env={**os.environ, "COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    summary = "Recompute the whole chain and check every stored column against the hashed bytes."
    assert summary in done.stdout


def test_version_prints_the_distribution_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (
        0,
        f"charterbot {metadata.version('charterbot')}\n",
    )
    assert distribution_version() == metadata.version("charterbot")


def test_an_uninstalled_checkout_has_an_unknown_version(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert distribution_version() == "unknown"


@pytest.mark.parametrize(
    ("ids", "status", "unknown", "sent"),
    [
        ([999999], {}, ["no outbox item o999999"], []),
        ([1, 2], {1: "failed", 2: "pending"}, [], []),
        ([3], {3: "sent"}, [], ["o3 was sent already; there is nothing to retry"]),
        (
            [3, 4],
            {3: "sent"},
            ["no outbox item o4"],
            ["o3 was sent already; there is nothing to retry"],
        ),
    ],
)
def test_not_requeued(
    ids: list[int], status: dict[int, str], unknown: list[str], sent: list[str]
) -> None:
    """Each id ``outbox retry`` will not requeue is named: unknown, or sent already."""
    assert not_requeued("o", "outbox item", ids, status) == (unknown, sent)


@pytest.mark.parametrize(
    ("surface", "remedy"),
    [
        ("console", "Start the console with `--as LOGIN` to act as a GitHub login."),
        ("slack", "Run `/charter link` to prove which login is yours."),
        ("discord", "Run `/charter link` to prove which login is yours."),
    ],
)
def test_unlinked_remedy(surface: str, remedy: str) -> None:
    """Chat users link their login; the console acts as the login it was started with."""
    assert unlinked_remedy(surface) == remedy


@pytest.mark.parametrize(
    ("settings", "warned"),
    [
        ({}, True),
        ({"github_webhook_secret": "s3cret"}, False),
        ({"github_mode": "off"}, False),
        ({"github_mode": "poll", "github_token": "t"}, False),
    ],
)
def test_unsigned_webhooks(settings: dict[str, Any], warned: bool) -> None:
    """Webhook mode without a secret refuses every delivery: ``serve`` warns at start."""
    message = unsigned_webhooks(Settings(**settings))
    assert (message is not None) == warned
    if message:
        assert message.startswith("CHARTERBOT_GITHUB_WEBHOOK_SECRET is not set")


def test_listen_problem_names_a_busy_port() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        problem = listen_problem("127.0.0.1", port)
    assert problem is not None and problem.startswith(f"cannot listen on 127.0.0.1:{port}:")
    assert "--port or CHARTERBOT_HTTP_PORT" in problem
    assert listen_problem("127.0.0.1", port) is None  # free again
    assert "--host or CHARTERBOT_HTTP_HOST" in (listen_problem("no-such-host.invalid", port) or "")
