"""Stand-ins shared by the end-to-end tests of this folder (a test module may override them)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.bot import harness
from tests.bot.harness import REPO
from tests.standins.discord_server import DiscordStandIn
from tests.standins.github_server import GitHubStandin, running_github_standin
from tests.standins.slack_server import SlackStandIn


@pytest.fixture(scope="session", autouse=True)
def bots_start_migrated(migrated_sqlite_file: Path) -> Iterator[None]:
    """Harness bots on a new SQLite file start on a copy of the session's migrated file
    (:func:`tests.bot.harness.start_migrated`)."""
    harness.MIGRATED_SQLITE = migrated_sqlite_file
    yield
    harness.MIGRATED_SQLITE = None


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubStandin]:
    """The GitHub stand-in for the charter repository, one per test module."""
    with running_github_standin(repo=REPO) as gh:
        yield gh


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    """A fresh Slack Web API stand-in per test."""
    server = await SlackStandIn().start()
    yield server
    await server.stop()


@pytest.fixture
async def discord_api() -> AsyncIterator[DiscordStandIn]:
    """A fresh Discord REST stand-in per test."""
    server = await DiscordStandIn().start()
    yield server
    await server.stop()
