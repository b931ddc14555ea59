"""`charterbot serve` and `charterbot console` refuse a bad setting, charter or database with a
sentence that names it (never a traceback): exit 2 for settings and databases, 1 for charters."""

from __future__ import annotations

import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.charter_file import example_charter_path
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
            {"CHARTERBOT_HTTP_PORT": "70000"},
            2,
            ["error: CHARTERBOT_HTTP_PORT: must be a port number from 1 to 65535", "(got '70000')"],
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
        (
            {"CHARTERBOT_PUBLIC_URL": "notaurl"},
            2,
            [
                "error: CHARTERBOT_PUBLIC_URL: must be the https:// (or http://) address the"
                " server is reached at, e.g. https://charterbot.example.org (got 'notaurl')"
            ],
        ),
        (
            {"CHARTERBOT_PUBLIC_URL": "ftp://example.org/"},
            2,
            ["error: CHARTERBOT_PUBLIC_URL: must be the https://", "(got 'ftp://example.org/')"],
        ),
        (
            {"CHARTERBOT_PUBLIC_URL": "https://example.org/?x=1"},
            2,
            ["error: CHARTERBOT_PUBLIC_URL: must be", "no ?query or #fragment"],
        ),
    ],
)
def test_a_bad_start_is_named_without_a_traceback(
    tmp_path: Path,
    migrated_sqlite_file: Path,
    command: list[str],
    env: dict[str, str],
    code: int,
    says: list[str],
) -> None:
    broken = reference_charter_text().replace("approval: 0.66", "approval: 1.5", 1)
    (tmp_path / "charter.yaml").write_text(broken, encoding="utf-8")
    shutil.copyfile(migrated_sqlite_file, tmp_path / "bot.db")  # the console's database exists
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


def test_charter_check_without_a_file_or_setting_checks_the_bundled_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``serve`` would run on the bundled example, ``charter check`` checks it, and says so
    (``show`` too, on stderr, its tables naming the file)."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["charter", "check"], env={"CHARTERBOT_CHARTER": ""})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: Meridian network upgrade charter v3 — 5 clients")
    assert result.stdout.endswith(
        f"(the bundled example charter {example_charter_path()}: no FILE given and"
        " CHARTERBOT_CHARTER is not set)\n"
    )
    shown = CliRunner().invoke(app, ["charter", "show"], env={"CHARTERBOT_CHARTER": ""})
    assert shown.exit_code == 0, shown.output
    assert shown.stderr.startswith(
        f"note: showing the bundled example charter {example_charter_path()}"
    )


def test_console_refuses_an_unknown_zone(tmp_path: Path) -> None:
    got, err = _run(
        ["console", "--tz", "Mars/Olympus"],
        {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"},
        stdin="proposals\n",
    )
    assert got == 2
    assert "error: --tz: unknown time zone 'Mars/Olympus'" in err
    assert not (tmp_path / "bot.db").exists()


def test_serve_refuses_an_impossible_port_option(tmp_path: Path) -> None:
    got, err = _run(
        ["serve", "--port", "70000"], {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/b.db"}
    )
    assert got == 2
    assert "error: --port: must be a port number from 1 to 65535 (got 70000)" in err
    assert not (tmp_path / "b.db").exists()


def test_serve_on_a_port_taken_names_what_chooses_another(
    tmp_path: Path, migrated_sqlite_file: Path
) -> None:
    """A port another process listens on stops ``serve`` before its server and loops start,
    with the option and setting that choose another port (not uvicorn's bare errno)."""
    shutil.copyfile(migrated_sqlite_file, tmp_path / "bot.db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"}
        got, err = _run(["serve", "--port", str(port)], env)
        assert got == 2, err
        assert (
            f"error: cannot listen on 127.0.0.1:{port}: another process is listening there;"
            " choose another port with --port or CHARTERBOT_HTTP_PORT"
        ) in err
        got, err = _run(["serve"], env | {"CHARTERBOT_HTTP_PORT": str(port)})
        assert got == 2 and f"cannot listen on 127.0.0.1:{port}" in err


@pytest.mark.parametrize(
    ("option", "url_in"),
    [([], "env"), (["--database-url", "sqlite:///{tmp}/given.db"], "option")],
)
def test_console_refuses_a_database_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: list[str], url_in: str
) -> None:
    """Started where there is no database, the console says so (as ``audit verify`` does)
    rather than leaving an empty database file behind."""
    monkeypatch.chdir(tmp_path)
    env = {"CHARTERBOT_DATABASE_URL": None if url_in == "option" else "sqlite:///none.db"}
    got, err = _run(["console", *(o.format(tmp=tmp_path) for o in option)], env, "proposals\n")
    missing = f"{tmp_path}/given.db" if url_in == "option" else "none.db"
    assert got == 2
    assert err.startswith(
        f"error: no database at {missing}; `charterbot db upgrade` creates one there,"
        " `charterbot console --demo` one holding a demo campaign, or point --database-url"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_console_and_serve_take_the_charter_and_database_from_options(
    tmp_path: Path, migrated_sqlite_file: Path
) -> None:
    """``--charter`` and ``--database-url`` take the place of the settings, and errors name them."""
    shutil.copyfile(migrated_sqlite_file, tmp_path / "bot.db")
    broken = reference_charter_text().replace("approval: 0.66", "approval: 1.5", 1)
    (tmp_path / "broken.yaml").write_text(broken, encoding="utf-8")
    elsewhere = {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"}
    given = ["--database-url", f"sqlite:///{tmp_path}/bot.db"]
    result = CliRunner().invoke(app, ["console", *given], env=elsewhere, input="proposals\n")
    assert (result.exit_code, result.stdout) == (0, "No open proposals.\n\n"), result.output
    for command in (["console"], ["serve"]):
        got, err = _run([*command, *given, "--charter", f"{tmp_path}/broken.yaml"], elsewhere)
        assert got == 1 and f"{tmp_path}/broken.yaml:" in err
        got, err = _run([*command, "--database-url", "mysql://root:hunter2@db/x"], elsewhere)
        assert got == 2
        assert "error: --database-url: unsupported database URL 'mysql://root:***@db/x'" in err


def test_console_demo_creates_and_seeds_a_database(tmp_path: Path) -> None:
    """``--demo`` is asking for a database: created if needed, seeded when empty."""
    env = {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    result = CliRunner().invoke(app, ["console", "--demo"], env=env, input="show 6\n")
    assert result.exit_code == 0, result.output
    assert "Raise the blob target" in result.stdout
    assert "note: seeded the demo campaign" in result.stderr


def test_a_charter_version_lower_than_the_adopted_one_stops_the_start(
    tmp_path: Path, migrated_sqlite_file: Path
) -> None:
    """Version 4 ran; starting on version 3 again is refused naming the file and both."""
    shutil.copyfile(migrated_sqlite_file, tmp_path / "bot.db")
    v3 = reference_charter_text()
    (tmp_path / "v3.yaml").write_text(v3, encoding="utf-8")
    (tmp_path / "v4.yaml").write_text(v3.replace("  version: 3 ", "  version: 4 ", 1), "utf-8")
    env = {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"}
    assert _run(["console", "--charter", f"{tmp_path}/v4.yaml"], env, "proposals\n")[0] == 0
    for command in (["console"], ["serve"]):
        got, err = _run([*command, "--charter", f"{tmp_path}/v3.yaml"], env, "proposals\n")
        assert got == 2
        assert (
            f"error: the charter {tmp_path}/v3.yaml is version 3, lower than version 4 adopted"
            " before"
        ) in err
