"""A database a newer charterbot migrated (its revision is not among this code's) is refused at
every entry point with one sentence naming the revision and what to do: run the newer version
or restore a backup. Never Alembic's "Can't locate revision" traceback, never advice to run
``db upgrade`` (which cannot go there)."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import migrate
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin

FUTURE = "0017_future"
SAYS = (
    f"error: the database is at revision {FUTURE}, which this charterbot does not know (it was"
    " migrated by a newer version"
)
ADVICE = "run the newer charterbot, or restore a backup taken before it migrated the database"


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """``serve`` points the root logger at CliRunner's stderr; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _ahead(database: Path) -> None:
    """What a newer charterbot's ``db upgrade`` leaves: a revision this code does not ship."""
    with sqlite3.connect(database) as connection:
        connection.execute("update alembic_version set version_num = ?", (FUTURE,))
    connection.close()


@pytest.mark.parametrize("command", [["serve"], ["console"], ["db", "upgrade"], ["db", "current"]])
def test_every_command_refuses_a_database_a_newer_version_migrated(
    tmp_path: Path, migrated_sqlite_file: Path, command: list[str]
) -> None:
    shutil.copyfile(migrated_sqlite_file, tmp_path / "bot.db")
    _ahead(tmp_path / "bot.db")
    env = {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"}
    result = CliRunner().invoke(app, command, env=env, input="proposals\n")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output + result.stderr
    assert SAYS in result.stderr and ADVICE in result.stderr
    assert "db upgrade` to reach" not in result.output + result.stderr
    with sqlite3.connect(tmp_path / "bot.db") as connection:  # and it is left as it was
        assert connection.execute("select version_num from alembic_version").fetchall() == [
            (FUTURE,)
        ]
    connection.close()


@pytest.mark.parametrize(
    ("revision", "known"), [(None, True), ("0001_audit", True), (FUTURE, False)]
)
def test_known_revisions_are_the_shipped_ones_and_empty(revision: str | None, known: bool) -> None:
    assert migrate.known(revision) is known
    assert migrate.known(migrate.head_revision())


async def test_readyz_is_503_naming_the_unknown_revision(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """A replica running while a newer one migrates the database stops being ready, and says why."""
    bot = Bot.fresh(sqlite_url, github)
    try:
        assert (await bot.http.get("/readyz")).status_code == 200
        _ahead(Path(sqlite_url.removeprefix("sqlite:///")))
        response = await bot.http.get("/readyz")
        assert response.status_code == 503
        assert SAYS.removeprefix("error: ") in response.json()["migrations"]
        assert ADVICE in response.json()["migrations"]
    finally:
        await bot.close()
