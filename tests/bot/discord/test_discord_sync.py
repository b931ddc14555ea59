"""Commands are registered with Discord only when their definitions change (Discord limits
command creates to 200 a day per guild): the hash of the last accepted sync is kept in
``kv_state``, per application and guild."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord
import pytest
from aiohttp import web
from discord import app_commands
from sqlalchemy import Engine

from bot.chat import StateHashes
from bot.clock import SystemClock
from bot.discord.client import SYNCED_KEY, CharterBot
from storage import state
from storage.db import session_scope
from tests.bot.discord.clients import GUILD_ID, logged_in
from tests.bot.slack.fake_core import FakeCore
from tests.standins.discord_server import APP_ID, DiscordStandIn, Recorded, _json

GUILD_PUT = f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"
GLOBAL_PUT = f"/applications/{APP_ID}/commands"


async def _ping(interaction: discord.Interaction) -> None:  # never called
    raise AssertionError


def with_extra_command(client: CharterBot) -> None:
    """A changed definition: one more command in the tree."""
    extra: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="ping", description="Ping", callback=_ping
    )
    client.tree.add_command(extra, guild=client.guild)


async def start(
    api: DiscordStandIn,
    store: StateHashes,
    *,
    guild_id: int | None = GUILD_ID,
    prepare: Callable[[CharterBot], None] | None = None,
) -> None:
    async with logged_in(FakeCore(), api.api_url, guild_id=guild_id, synced=store, prepare=prepare):
        pass


@pytest.fixture
def store(sqlite_engine: Engine) -> StateHashes:
    return StateHashes(sqlite_engine, SystemClock())


async def test_unchanged_definitions_are_registered_once(
    discord_api: DiscordStandIn, store: StateHashes, sqlite_engine: Engine
) -> None:
    """Three starts with the same definitions: one PUT. A changed definition: a new PUT, and
    the next start with it none. Global commands have their own hash."""
    for _ in range(3):
        await start(discord_api, store)
    assert len(discord_api.calls("PUT", GUILD_PUT)) == 1
    with session_scope(sqlite_engine) as session:
        key = SYNCED_KEY.format(application=APP_ID, guild=GUILD_ID)
        assert isinstance(state.get(session, key), str)
    await start(discord_api, store, prepare=with_extra_command)
    await start(discord_api, store, prepare=with_extra_command)
    puts = discord_api.calls("PUT", GUILD_PUT)
    assert len(puts) == 2 and "ping" in {c["name"] for c in puts[1].json}
    await start(discord_api, store, guild_id=None)
    await start(discord_api, store, guild_id=None)
    assert len(discord_api.calls("PUT", GLOBAL_PUT)) == 1
    assert len(discord_api.calls("PUT", GUILD_PUT)) == 2


async def test_a_failed_sync_records_nothing(
    discord_api: DiscordStandIn, store: StateHashes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord refusing the sync (403 Missing Access) fails the start and keeps no hash, so the
    next start registers the commands."""
    answer = discord_api._answer

    def refuse_puts(r: Recorded) -> web.Response:
        if r.method == "PUT":
            return _json({"message": "Missing Access", "code": 50001}, 403)
        return answer(r)

    monkeypatch.setattr(discord_api, "_answer", refuse_puts)
    with pytest.raises(discord.Forbidden):
        await start(discord_api, store)
    monkeypatch.setattr(discord_api, "_answer", answer)
    await start(discord_api, store)
    await start(discord_api, store)
    assert len(discord_api.calls("PUT", GUILD_PUT)) == 2  # refused, then registered once


async def test_without_a_store_every_start_registers(discord_api: DiscordStandIn) -> None:
    async with logged_in(FakeCore(), discord_api.api_url):
        pass
    async with logged_in(FakeCore(), discord_api.api_url):
        pass
    assert len(discord_api.calls("PUT", GUILD_PUT)) == 2
