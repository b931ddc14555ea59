"""`charterbot serve` and `charterbot console` refuse a bad setting, charter or database with a
sentence that names it (never a traceback): exit 2 for settings and databases, 1 for charters."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.paths import reference_charter_text


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """``serve`` points the root logger at the stderr CliRunner captured; put it back, or a
    later command's log line goes to that closed stream (a "Logging error" traceback)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _run(args: list[str], env: dict[str, str | None], stdin: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env=env, input=stdin)
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stderr


@pytest.mark.parametrize("command", [["serve"], ["console"]])
@pytest.mark.parametrize(
    ("env", "code", "says"),
    [
        (
            {"CHARTERBOT_HTTP_PORT": "eighty"},
            2,
            ["error: CHARTERBOT_HTTP_PORT: Input should be a valid integer", "(got 'eighty')"],
        ),
        (
            {"CHARTERBOT_GITHUB_MODE": "sometimes"},
            2,
            ["error: CHARTERBOT_GITHUB_MODE: Input should be 'webhook', 'poll' or 'off'"],
        ),
        (
            {"CHARTERBOT_DATABASE_URL": "mysql://x@y/z"},
            2,
            ["error: CHARTERBOT_DATABASE_URL: unsupported database URL 'mysql://x@y/z'"],
        ),
        (
            {"CHARTERBOT_DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:9/test"},
            2,
            ["error: cannot use the database postgresql+psycopg://postgres:***@127.0.0.1:9/test"],
        ),
        (
            {"CHARTERBOT_DATABASE_URL": "sqlite:///{tmp}/no/such/dir/charterbot.db"},
            2,
            ["the directory {tmp}/no/such/dir does not exist"],
        ),
        (
            {"CHARTERBOT_CHARTER": "{tmp}/charter.yaml"},
            1,
            ["{tmp}/charter.yaml:", "approval must be a share between 0 and 1, got 1.5"],
        ),
        (
            {"CHARTERBOT_DATABASE_URL": "charterbot.db"},
            2,
            ["error: CHARTERBOT_DATABASE_URL: not a database URL", "sqlite:///charterbot.db"],
        ),
        (
            {"CHARTERBOT_DATABASE_URL": "mysql://root:hunter2@db/charterbot"},
            2,
            ["error: CHARTERBOT_DATABASE_URL: unsupported database URL 'mysql://root:***@db/"],
        ),
        (
            {"CHARTERBOT_DATABASE_URL": "postgresql://u:hunter2@db:port/charterbot"},
            2,
            ["error: CHARTERBOT_DATABASE_URL: the URL's port is not a number"],
        ),
        (
            {"CHARTERBOT_LOG_LEVEL": "verbose"},
            2,
            ["error: CHARTERBOT_LOG_LEVEL: not a log level", "(got 'verbose')"],
        ),
        (
            {"CHARTERBOT_TICK_SECONDS": "0"},
            2,
            ["error: CHARTERBOT_TICK_SECONDS: Input should be greater than 0"],
        ),
        (
            {"CHARTERBOT_SMTP_URL": "smtp+tls://me:hunter2@mail.example.org:587"},
            2,
            ["error: CHARTERBOT_SMTP_URL: the scheme smtp+tls:// is not usable; write"],
        ),
        (
            {"CHARTERBOT_SMTP_URL": "smtps://me:hunter2@mail.example.org:notaport"},
            2,
            ["error: CHARTERBOT_SMTP_URL: the port is not a number"],
        ),
        (
            {"CHARTERBOT_GITHUB_APP_ID": "1", "CHARTERBOT_GITHUB_APP_PRIVATE_KEY": "hunter2"},
            2,
            ["error: CHARTERBOT_GITHUB_INSTALLATION_ID: not set"],
        ),
        (
            {
                "CHARTERBOT_GITHUB_APP_ID": "1",
                "CHARTERBOT_GITHUB_INSTALLATION_ID": "7",
                "CHARTERBOT_GITHUB_APP_PRIVATE_KEY": "hunter2",
            },
            2,
            ["error: CHARTERBOT_GITHUB_APP_PRIVATE_KEY: is not a PEM private key"],
        ),
        (
            {"CHARTERBOT_GITHUB_MODE": "poll"},
            2,
            ["error: CHARTERBOT_GITHUB_MODE: poll mode", "set CHARTERBOT_GITHUB_TOKEN"],
        ),
    ],
)
def test_a_bad_start_is_named_without_a_traceback(
    tmp_path: Path, command: list[str], env: dict[str, str], code: int, says: list[str]
) -> None:
    broken = reference_charter_text().replace("approval: 0.66", "approval: 1.5", 1)
    (tmp_path / "charter.yaml").write_text(broken, encoding="utf-8")
    env = {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"} | {
        k: v.format(tmp=tmp_path) for k, v in env.items()
    }
    got, err = _run(command, env, stdin="proposals\n")
    assert got == code, err
    for words in says:
        assert words.format(tmp=tmp_path) in err
    assert "hunter2" not in err


DB_COMMANDS = [
    ["db", "upgrade"],
    ["db", "current"],
    ["audit", "verify"],
    ["audit", "head"],
    ["outbox", "list"],
    ["meetings", "list"],
]


@pytest.mark.parametrize("command", DB_COMMANDS)
@pytest.mark.parametrize(
    ("env", "option", "says"),
    [
        (
            {"CHARTERBOT_DATABASE_URL": "charterbot.db"},
            [],
            "error: CHARTERBOT_DATABASE_URL: not a database URL",
        ),
        ({}, ["--database-url", "charterbot.db"], "error: --database-url: not a database URL"),
        (
            {"CHARTERBOT_DATABASE_URL": "mysql://root:hunter2@db/x"},
            [],
            "error: CHARTERBOT_DATABASE_URL: unsupported database URL 'mysql://root:***@db/x'",
        ),
        (
            {"CHARTERBOT_DATABASE_URL": "sqlite:///{tmp}/x.db", "CHARTERBOT_LOG_LEVEL": "verbose"},
            [],
            "error: CHARTERBOT_LOG_LEVEL: not a log level",
        ),
    ],
)
def test_database_commands_name_a_bad_setting(
    tmp_path: Path, command: list[str], env: dict[str, str], option: list[str], says: str
) -> None:
    """The database commands read the same settings as ``serve`` and refuse them the same way."""
    env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    got, err = _run([*command, *option], env)
    assert got == 2, err
    assert says in err
    assert "hunter2" not in err


def test_every_command_reads_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``.env`` in the working directory applies to ``db``, ``audit``, ``outbox``, ``meetings``
    and ``charter check`` as it does to ``serve``, and its empty lines count as unset."""
    (tmp_path / "charter.yaml").write_text(reference_charter_text(), encoding="utf-8")
    (tmp_path / ".env").write_text(
        f"CHARTERBOT_DATABASE_URL=sqlite:///{tmp_path}/from-dotenv.db\n"
        f"CHARTERBOT_CHARTER={tmp_path}/charter.yaml\n"
        "DISCORD_TOKEN=\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    unset = {"CHARTERBOT_DATABASE_URL": None, "CHARTERBOT_CHARTER": None}
    result = CliRunner().invoke(app, ["db", "upgrade"], env=unset)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-dotenv.db").exists()
    for command in (["db", "current"], ["audit", "verify"], ["outbox", "list"]):
        result = CliRunner().invoke(app, command, env=unset)
        assert result.exit_code == 0, (command, result.output)
    result = CliRunner().invoke(app, ["charter", "check"], env=unset)
    assert (result.exit_code, result.stdout[:3]) == (0, "ok:"), result.output
    result = CliRunner().invoke(app, ["meetings", "list", "--next", "1"], env=unset)
    assert result.exit_code == 0, result.output
    assert "showing the charter's series only" not in result.stderr  # it found the database


def test_charter_check_without_a_file_or_setting_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    got, err = _run(["charter", "check"], {"CHARTERBOT_CHARTER": ""})
    assert got == 2
    assert "error: no charter file: give FILE or set CHARTERBOT_CHARTER" in err


def test_console_refuses_an_unknown_zone(tmp_path: Path) -> None:
    got, err = _run(
        ["console", "--tz", "Mars/Olympus"],
        {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"},
        stdin="proposals\n",
    )
    assert got == 2
    assert "error: --tz: unknown time zone 'Mars/Olympus'" in err
    assert not (tmp_path / "bot.db").exists()
