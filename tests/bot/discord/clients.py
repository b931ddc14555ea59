"""A ``CharterBot`` logged in against the Discord REST stand-in, for every Discord test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import discord

from bot.discord.client import CharterBot, SyncedHashes
from bot.messages import CommandCore, CommandJournal

GUILD_ID = 290926798626357999  # the guild of the docs' sample interactions


@asynccontextmanager
async def logged_in(
    core: CommandCore,
    api_url: str,
    *,
    guild_id: int | None = GUILD_ID,
    journal: CommandJournal | None = None,
    synced: SyncedHashes | None = None,
    prepare: Callable[[CharterBot], None] | None = None,
) -> AsyncIterator[CharterBot]:
    """The client around ``core``, logged in at ``api_url`` (no gateway); ``prepare`` sees it
    before it logs in (and syncs its commands). On exit it is closed, the views it sent are
    stopped, and discord.py's process-wide API URL is restored."""
    base = discord.http.Route.BASE
    client = CharterBot(core, guild_id=guild_id, api_url=api_url, journal=journal, synced=synced)
    try:
        if prepare is not None:
            prepare(client)
        await client.login("stand-in-token")
        yield client
    finally:
        await client.close()
        stop_views()
        discord.http.Route.BASE = base


def stop_views() -> None:
    """Cancel the timeout tasks of views discord.py made for sent buttons (15 minutes on an
    interaction follow-up); they would outlive the test and hold up the harness's close."""
    for task in asyncio.all_tasks():
        if task.get_coro().__qualname__.endswith("View.__timeout_task_impl"):  # type: ignore[union-attr]
            task.cancel()
