"""Discord test fixtures: a fake core, and a bot logged in against the REST stand-in
(``discord_api``, shared from tests/bot/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.discord.client import CharterBot
from tests.bot.discord.clients import logged_in
from tests.bot.slack.fake_core import FakeCore
from tests.standins.discord_server import DiscordStandIn


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
async def bot(discord_api: DiscordStandIn, core: FakeCore) -> AsyncIterator[CharterBot]:
    """A CharterBot logged in against the stand-in (no gateway), commands synced to
    the samples' guild."""
    async with logged_in(core, discord_api.api_url) as client:
        yield client
