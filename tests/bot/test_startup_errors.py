"""`charterbot serve` and `charterbot console` refuse a bad setting, charter or database with a
sentence that names it (never a traceback): exit 2 for settings and databases, 1 for charters."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.paths import reference_charter_text


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> tuple[int, str]:
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


def test_console_refuses_an_unknown_zone(tmp_path: Path) -> None:
    got, err = _run(
        ["console", "--tz", "Mars/Olympus"],
        {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"},
        stdin="proposals\n",
    )
    assert got == 2
    assert "error: --tz: unknown time zone 'Mars/Olympus'" in err
    assert not (tmp_path / "bot.db").exists()
