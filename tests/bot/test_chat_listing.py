"""``proposals`` in chat names the dashboard's list: a long answer is cut to fit the platform,
and its last line then says where the whole list is (``Message.more``; how each platform shows
it is tested with its renderer)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.messages import Actor
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def test_the_listing_points_to_the_dashboard_list(bot: Bot) -> None:
    await bot.open_issue("Raise")
    answer = bot.gov.run_sync("proposals", Actor("alice-aurora", "console", "a"))
    assert answer.more == bot.rt.settings.public_url.rstrip("/") + "/proposals"
    assert answer.more.startswith("http")
