"""Discord test fixtures: the REST stand-in, a fake core, and a logged-in bot pointed at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # so `tests.standins` imports without a root conftest
    sys.path.insert(0, str(ROOT))

from bot.discord.client import CharterBot  # noqa: E402
from tests.bot.slack.fake_core import FakeCore  # noqa: E402
from tests.standins.discord_server import DiscordStandIn  # noqa: E402

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
