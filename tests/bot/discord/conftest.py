"""Discord test fixtures: the REST stand-in, a fake core, and a logged-in bot pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest

from bot.discord.client import CharterBot
from tests.bot.slack.fake_core import FakeCore
from tests.standins.discord_server import DiscordStandIn

GUILD = 290926798626357999  # the guild of the docs' sample interactions


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    server = await DiscordStandIn().start()
    yield server
    await server.stop()


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
async def bot(
    standin: DiscordStandIn, core: FakeCore, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[CharterBot]:
    """A CharterBot logged in against the stand-in (no gateway), commands synced to GUILD."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after
    client = CharterBot(core, guild_id=GUILD, api_url=standin.api_url)
    await client.login("stand-in-token")
    yield client
    await client.close()
